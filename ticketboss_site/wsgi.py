"""WSGI entry point. Opens the store at start, so a corrupt store stops the worker
from booting with a message naming the file and line."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketboss_site.settings")

application = get_wsgi_application()

from reservations.startup import open_store_or_exit  # noqa: E402

open_store_or_exit()
