"""ASGI entry point (serves live streams cheaply). Opens the store at start, like wsgi.py."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketboss_site.settings")

application = get_asgi_application()

from reservations.startup import open_store_or_exit  # noqa: E402

open_store_or_exit()
