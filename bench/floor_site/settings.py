"""TicketBoss's settings (so the store opens exactly as the service's does), with the bare
site's serving: no middleware, no authentication, permissions or throttles, JSON only."""

from bench.bare_site.settings import REST_FRAMEWORK as BARE_REST_FRAMEWORK
from ticketboss_site.settings import *  # noqa: F403

MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.floor_site.urls"
REST_FRAMEWORK = BARE_REST_FRAMEWORK
