"""Logging filters for the site's LOGGING setting."""

from __future__ import annotations

import logging

# Refusals of who the caller is or what it may do stay warnings: someone may be probing.
_ACCESS_REFUSALS = frozenset({401, 403})


class ClientErrorsAtInfo(logging.Filter):
    """Django's `django.request` logs every 4xx answer as a WARNING. Most are the
    client's mistakes or plain refusals (409 when seats run out), answered in full; at
    WARNING a sell-out would write one line per refused request (about 200 KB/s at 2,500
    refusals a second). They are INFO here, so they show only when asked for
    (TICKETBOSS_LOG_LEVEL=INFO). 401 and 403 stay WARNING, 5xx answers ERROR."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if (
            isinstance(status, int)
            and 400 <= status < 500
            and status not in _ACCESS_REFUSALS
            and record.levelno == logging.WARNING
        ):
            record.levelno = logging.INFO
            record.levelname = logging.getLevelName(logging.INFO)
        return True
