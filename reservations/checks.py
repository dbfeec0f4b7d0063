"""`manage.py check --deploy`: the access mode production would run in, and no test clock.

Open mode lets anyone book in any partner's name and cancel any reservation whose
id they have seen. A real host gets keys mode by default; open there must be a
choice made on purpose (TICKETBOSS_AUTH=open), never the fallout of a local default.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def access_mode(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if settings.TICKETBOSS_AUTH != "open":
        return []
    if not settings.TICKETBOSS_AUTH_EXPLICIT:
        return [
            checks.Error(
                "TICKETBOSS_AUTH is 'open' by default (DJANGO_ALLOWED_HOSTS names only "
                "loopback hosts): anyone may reserve as any partner and cancel any reservation.",
                hint="Set TICKETBOSS_AUTH=keys for production, or TICKETBOSS_AUTH=open on purpose.",
                id="ticketboss.E001",
            )
        ]
    return [
        checks.Warning(
            "TICKETBOSS_AUTH=open was chosen on purpose: anyone who reaches the server may "
            "reserve as any partner and cancel any reservation.",
            hint="Use TICKETBOSS_AUTH=keys unless the server is reachable only by trusted callers.",
            id="ticketboss.W001",
        )
    ]


@checks.register(checks.Tags.security, deploy=True)
def test_clock(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The clock file moves time for holds: a test hook, never for a live service."""
    from reservations.clock import CLOCK_FILE_ENV

    if not os.environ.get(CLOCK_FILE_ENV):
        return []
    return [
        checks.Error(
            f"{CLOCK_FILE_ENV} is set: holds would expire by a test clock, not real time.",
            hint=f"Unset {CLOCK_FILE_ENV}; it exists for the test suite only.",
            id="ticketboss.E002",
        )
    ]
