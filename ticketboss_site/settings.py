"""TicketBoss settings: everything comes from the environment, read once here.

See CONTRACT.md ("Running it") for the meaning and defaults of each variable.
"""

from __future__ import annotations

import math
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from ticketboss_site.numbers import checked_number

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _env_number(
    name: str, default: float, *, minimum: float, maximum: float = math.inf, whole: bool = True
) -> Any:
    """A numeric setting; a bad one stops the start with a line naming it (not a bare
    "invalid literal for int()" that leaves the reader to guess which variable)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return checked_number(raw, minimum=minimum, maximum=maximum, whole=whole)
    except ValueError as exc:
        raise RuntimeError(f"{name} {exc}.") from None


def _env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = _env_bool("DJANGO_DEBUG", False)

_DEV_SECRET_KEY = "ticketboss-development-key-not-for-production-use-0123456789abcdef"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
ALLOWED_HOSTS = _env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "testserver"}
if not SECRET_KEY:
    if not DEBUG and any(host not in _LOCAL_HOSTS for host in ALLOWED_HOSTS):
        raise RuntimeError(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0 and DJANGO_ALLOWED_HOSTS "
            "names a real host; the development key is for local use only."
        )
    SECRET_KEY = _DEV_SECRET_KEY
# Said once by the server that starts (ticketboss_site/notices.py), not by every process.
USING_DEVELOPMENT_KEY = SECRET_KEY == _DEV_SECRET_KEY

INSTALLED_APPS = [
    # Organizers are Django users (manage.py createsuperuser), signed in with a session.
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "axes",  # failed sign-ins: throttled per account and address, 10 in a row lock 15 min
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "reservations",
]

MIDDLEWARE = [
    # Outermost, so JSON errors made by the middleware below carry the headers too.
    "reservations.security.SecurityHeadersMiddleware",
    "reservations.security.CachedPolicyCSPMiddleware",  # django-csp, header built once
    # Per-caller answers (reservations, organizer pages, keys) stay out of shared caches.
    "reservations.middleware.CallerCachingMiddleware",
    "reservations.middleware.ApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # Lazy: a request without a session cookie (every partner's) never reads the session.
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Sign-in/sign-out forms; DRF checks CSRF itself for session-authenticated API writes.
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "axes.middleware.AxesMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Innermost, because it is sync-only: under ASGI every middleware above then runs in
    # sync mode in one thread, instead of hopping threads per hook (bench/, README).
    "reservations.middleware.BodySizeLimitMiddleware",
]

ROOT_URLCONF = "ticketboss_site.urls"
WSGI_APPLICATION = "ticketboss_site.wsgi.application"
ASGI_APPLICATION = "ticketboss_site.asgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csrf",
                "django.contrib.auth.context_processors.auth",
            ],
        },
    },
]

# --------------------------------------------------------------------------- storage

TICKETBOSS_STORE = os.environ.get("TICKETBOSS_STORE", "json").strip().lower() or "json"
if TICKETBOSS_STORE not in ("json", "db"):
    raise RuntimeError(f"TICKETBOSS_STORE must be 'json' or 'db', not {TICKETBOSS_STORE!r}.")
TICKETBOSS_DATA_DIR = Path(os.environ.get("TICKETBOSS_DATA_DIR") or BASE_DIR / "data")
# The event `GET/POST /reservations` act on; created on first start when the store is empty.
TICKETBOSS_DEFAULT_EVENT = (
    os.environ.get("TICKETBOSS_DEFAULT_EVENT", "").strip() or "node-meetup-2025"
)
TICKETBOSS_LOCK_TIMEOUT = _env_number("TICKETBOSS_LOCK_TIMEOUT", 5.0, minimum=0.01, whole=False)
TICKETBOSS_COMPACT_MIN_RECORDS = _env_number("TICKETBOSS_COMPACT_MIN_RECORDS", 20_000, minimum=0)
# Events with this many reservations write their snapshots in the background (tests set 0).
TICKETBOSS_BACKGROUND_COMPACT_FROM = _env_number(
    "TICKETBOSS_BACKGROUND_COMPACT_FROM", 20_000, minimum=0
)
# The shortest hold a request may ask for (holdSeconds); the longest is 3600.
TICKETBOSS_HOLD_MIN_SECONDS = _env_number(
    "TICKETBOSS_HOLD_MIN_SECONDS", 30, minimum=1, maximum=3600
)

DATABASE_URL = os.environ.get("DATABASE_URL", "")
DATABASES: dict[str, dict[str, object]] = {}
if TICKETBOSS_STORE == "db":
    from ticketboss_site.database import database_from_url

    DATABASES["default"] = database_from_url(
        DATABASE_URL or f"sqlite:///{BASE_DIR / 'data' / 'ticketboss.sqlite3'}",
        lock_timeout_s=TICKETBOSS_LOCK_TIMEOUT,
        pool_size=_env_number("TICKETBOSS_DB_POOL", 8, minimum=0),
    )
else:
    # The JSON store keeps reservations in files; Django's users, sessions and sign-in
    # failures live in SQLite beside them (`manage.py migrate` creates it).
    DATABASES["default"] = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": TICKETBOSS_DATA_DIR / "accounts.sqlite3",
        "OPTIONS": {"timeout": TICKETBOSS_LOCK_TIMEOUT, "transaction_mode": "IMMEDIATE"},
    }

# --------------------------------------------------------------------------- HTTP

MAX_BODY_BYTES = 64 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_BODY_BYTES

REST_FRAMEWORK = {
    # Both step aside in open mode (reservations/access.py): the classic contract, unchanged.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "reservations.access.ApiKeyAuthentication",
        "reservations.access.OrganizerSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["reservations.access.ReservationAccess"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PARSER_CLASSES": ["reservations.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "EXCEPTION_HANDLER": "reservations.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Throttling (reservations/throttling.py): per partnerId on reservations and per client
    # address on everything; counters in a file cache shared by all worker processes.
    "DEFAULT_THROTTLE_CLASSES": (
        [
            "reservations.throttling.AddressRateThrottle",
            "reservations.throttling.PartnerRateThrottle",
        ]
        if _env_bool("TICKETBOSS_THROTTLE", True)
        else []
    ),
    "DEFAULT_THROTTLE_RATES": {
        "partner": os.environ.get("TICKETBOSS_THROTTLE_PARTNER_RATE", "300/min"),
        "address": os.environ.get("TICKETBOSS_THROTTLE_ADDRESS_RATE", "1200/min"),
    },
    # The client address is the TCP peer unless TICKETBOSS_NUM_PROXIES trusted proxies
    # append to X-Forwarded-For; a client cannot dodge the limit with a forged header.
    "NUM_PROXIES": _env_number("TICKETBOSS_NUM_PROXIES", 0, minimum=0),
}

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": os.environ.get("TICKETBOSS_THROTTLE_CACHE_DIR")
        or str(TICKETBOSS_DATA_DIR / "throttle-cache"),
        "OPTIONS": {"MAX_ENTRIES": 20_000},
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "TicketBoss API",
    "DESCRIPTION": (
        "Seat reservations that never oversell and never lose a confirmed booking. "
        'Every 4xx/5xx answer is JSON {"error": "<one sentence>"}.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Docs assets come from drf-spectacular-sidecar: nothing loaded from other origins.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"validatorUrl": None, "deepLinking": True},
    # The schema and docs answer anyone, whatever key or cookie a browser sends along.
    "SERVE_AUTHENTICATION": [],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "reservations.schema.finish_schema",
    ],
}

# --------------------------------------------------------------------------- hardening
# "Production" is the same rule as for SECRET_KEY: DEBUG off and a real host name. Then
# HTTPS-only defaults apply (each can be overridden); local use stays plain HTTP.
_PRODUCTION = not DEBUG and any(host not in _LOCAL_HOSTS for host in ALLOWED_HOSTS)
SECURE_SSL_REDIRECT = _env_bool("DJANGO_SECURE_SSL_REDIRECT", _PRODUCTION)
SECURE_HSTS_SECONDS = _env_number(
    "DJANGO_SECURE_HSTS_SECONDS", 31_536_000 if _PRODUCTION else 0, minimum=0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", _PRODUCTION)
SECURE_HSTS_PRELOAD = _env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
if _env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _PRODUCTION

# --------------------------------------------------------------------------- access
# CONTRACT.md "Access": `open` on a loopback-only site, `keys` on a real host; `manage.py
# check --deploy` fails on open unless it was chosen on purpose (reservations/checks.py).
_LOOPBACK_ONLY = all(host in _LOCAL_HOSTS for host in ALLOWED_HOSTS)
TICKETBOSS_AUTH_EXPLICIT = bool(os.environ.get("TICKETBOSS_AUTH", "").strip())
TICKETBOSS_AUTH = os.environ.get("TICKETBOSS_AUTH", "").strip().lower() or (
    "open" if _LOOPBACK_ONLY else "keys"
)
if TICKETBOSS_AUTH not in ("open", "keys"):
    raise RuntimeError(f"TICKETBOSS_AUTH must be 'open' or 'keys', not {TICKETBOSS_AUTH!r}.")
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = None
SESSION_COOKIE_AGE = 12 * 3600  # an organizer's working day
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True  # the dashboard reads its token from the page, not the cookie
if _PRODUCTION:  # "__Host-": browsers keep these for this exact host, over HTTPS only
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
CSRF_TRUSTED_ORIGINS = _env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked account or address first
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 10
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each counted on its own
AXES_RESET_ON_SUCCESS = True  # "in a row"
AXES_CLIENT_IP_CALLABLE = "reservations.accounts.client_address"  # X-Forwarded-For not trusted
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): same origin only, no inline scripts or styles.
# The docs page's one inline <style> is allowed by its hash (reservations/schema.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

CORS_ALLOWED_ORIGINS = _env_list("TICKETBOSS_CORS_ORIGINS", [])
CORS_ALLOW_HEADERS = ["content-type", "idempotency-key", "accept", "authorization", "x-api-key"]
CORS_EXPOSE_HEADERS = ["Retry-After", "Idempotent-Replayed"]
# The dashboard saved to disk and opened from there sends `Origin: null`; it is allowed
# only when the allow-list names it: TICKETBOSS_CORS_ORIGINS=null (README, "Dashboard").

# --------------------------------------------------------------------------- live updates
TICKETBOSS_STREAMS = _env_bool("TICKETBOSS_STREAMS", True)  # off: 503, pages poll
TICKETBOSS_STREAM_KEEPALIVE = _env_number(
    "TICKETBOSS_STREAM_KEEPALIVE", 15.0, minimum=0.1, whole=False
)
TICKETBOSS_STREAM_RETRY_MS = _env_number("TICKETBOSS_STREAM_RETRY_MS", 2000, minimum=0)
# Changes within this many seconds of the last push are merged into the next message; with
# many streams the interval grows so a worker sends at most MESSAGES_PER_S stream messages.
TICKETBOSS_STREAM_MIN_INTERVAL = _env_number(
    "TICKETBOSS_STREAM_MIN_INTERVAL", 0.1, minimum=0, whole=False
)
TICKETBOSS_STREAM_MESSAGES_PER_S = _env_number(
    "TICKETBOSS_STREAM_MESSAGES_PER_S", 500.0, minimum=1, whole=False
)
TICKETBOSS_POLL_INTERVAL = _env_number("TICKETBOSS_POLL_INTERVAL", 10.0, minimum=0.5, whole=False)
# Under WSGI each open stream holds one server thread: at most this many per worker process
# (more get 503 and the page polls). The production server sizes its thread pool from it.
TICKETBOSS_STREAMS_PER_WORKER = _env_number("TICKETBOSS_STREAMS_PER_WORKER", 1000, minimum=0)

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = os.environ.get("DJANGO_STATIC_ROOT") or None
# WhiteNoise serves static files straight from the finders: no collectstatic step,
# and the page and the browsable API work offline with nothing from other origins.
WHITENOISE_USE_FINDERS = True

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
TICKETBOSS_LOG_LEVEL = os.environ.get("TICKETBOSS_LOG_LEVEL", "WARNING").strip().upper()
if TICKETBOSS_LOG_LEVEL not in LOG_LEVELS:
    raise RuntimeError(f"TICKETBOSS_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)} (any case).")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"client_errors_at_info": {"()": "ticketboss_site.log_filters.ClientErrorsAtInfo"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "stream": sys.stderr,
            "formatter": "plain",
            # On the handler too: Django's own loggers set their level to INFO and pass
            # their records up to this handler whatever the root logger's level says.
            "level": TICKETBOSS_LOG_LEVEL,
        }
    },
    "root": {"handlers": ["stderr"], "level": TICKETBOSS_LOG_LEVEL},
    "loggers": {
        "django.request": {"filters": ["client_errors_at_info"]},
        # Its warnings are each retry of a pooled connection while the database is down:
        # the `db` store logs the outage itself, once (reservations.store.outage).
        "psycopg.pool": {"level": "ERROR"},
    },
}
