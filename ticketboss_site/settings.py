"""TicketBoss settings: everything comes from the environment, read once here.

See CONTRACT.md ("Running it") for the meaning and defaults of each variable.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


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
    warnings.warn(
        "DJANGO_SECRET_KEY is not set: using the development key (local use only).",
        stacklevel=1,
    )
    SECRET_KEY = _DEV_SECRET_KEY

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "reservations",
]

MIDDLEWARE = [
    "reservations.middleware.ApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "reservations.middleware.BodySizeLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
            ],
        },
    },
]

# --------------------------------------------------------------------------- storage

TICKETBOSS_STORE = os.environ.get("TICKETBOSS_STORE", "json").strip().lower() or "json"
if TICKETBOSS_STORE not in ("json", "db"):
    raise RuntimeError(f"TICKETBOSS_STORE must be 'json' or 'db', not {TICKETBOSS_STORE!r}.")
TICKETBOSS_DATA_DIR = Path(os.environ.get("TICKETBOSS_DATA_DIR") or BASE_DIR / "data")
TICKETBOSS_LOCK_TIMEOUT = float(os.environ.get("TICKETBOSS_LOCK_TIMEOUT", "5"))
TICKETBOSS_COMPACT_MIN_RECORDS = int(os.environ.get("TICKETBOSS_COMPACT_MIN_RECORDS", "20000"))

DATABASE_URL = os.environ.get("DATABASE_URL", "")
DATABASES: dict[str, dict[str, object]] = {}

# --------------------------------------------------------------------------- HTTP

MAX_BODY_BYTES = 64 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_BODY_BYTES

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PARSER_CLASSES": ["reservations.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "EXCEPTION_HANDLER": "reservations.errors.api_exception_handler",
}

CORS_ALLOWED_ORIGINS = _env_list("TICKETBOSS_CORS_ORIGINS", [])
CORS_ALLOW_HEADERS = ["content-type", "idempotency-key", "accept"]
CORS_EXPOSE_HEADERS = ["Retry-After", "Idempotent-Replayed"]

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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "stream": sys.stderr, "formatter": "plain"}
    },
    "root": {"handlers": ["stderr"], "level": os.environ.get("TICKETBOSS_LOG_LEVEL", "WARNING")},
}
