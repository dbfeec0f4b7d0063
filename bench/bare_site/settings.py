"""Settings of the bare site: TicketBoss's framework stack with none of its code.

Taken from `ticketboss_site.settings` so the two never drift: the same apps,
third-party middleware (in the same order, ending like ours in a sync-only
one), security headers, CSP, CORS and DRF authentication/permission setup,
minus every `reservations.*` class; DRF uses its stock JSON parser and
renderers (with the browsable API). What is left between the two is what
TicketBoss itself does.
"""

from ticketboss_site import settings as _ours

_OURS = "reservations."

for _name in dir(_ours):
    if _name.isupper():
        globals()[_name] = getattr(_ours, _name)

INSTALLED_APPS = [app for app in _ours.INSTALLED_APPS if app != "reservations"]
MIDDLEWARE = [item for item in _ours.MIDDLEWARE if not item.startswith(_OURS)] + [
    "bench.bare_site.middleware.SyncChainMiddleware"  # the same sync chain as ours
]
ROOT_URLCONF = "bench.bare_site.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "bench.bare_site.asgi.application"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
DATABASES: dict[str, dict[str, object]] = {}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
