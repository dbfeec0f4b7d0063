"""Settings of the bare site: the best Django + DRF can do here, as the baseline.

One DRF view, no middleware, JSON in and out, no authentication, throttling or
database: what is left between this and TicketBoss is everything TicketBoss does
(its middleware, security headers, validation, storage) and nothing else.
"""

SECRET_KEY = "bench-bare-site-local-use-only-0123456789abcdef0123456789abcdef"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["rest_framework"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.bare_site.urls"
WSGI_APPLICATION = "bench.bare_site.wsgi.application"
DATABASES: dict[str, dict[str, object]] = {}
USE_TZ = True
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
