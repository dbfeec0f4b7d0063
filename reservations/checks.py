"""`manage.py check --deploy`: say which access mode production would run in.

Open mode lets anyone book in any partner's name and cancel any reservation whose
id they have seen. A real host gets keys mode by default; open there must be a
choice made on purpose (TICKETBOSS_AUTH=open), never the fallout of a local default.
"""

from __future__ import annotations

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
