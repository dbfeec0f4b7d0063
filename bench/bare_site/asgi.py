"""ASGI entry point of the bare site (run under the same gunicorn settings as TicketBoss)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.bare_site.settings")

application = get_asgi_application()
