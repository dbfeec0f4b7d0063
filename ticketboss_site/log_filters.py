"""Logging filters for the site's LOGGING setting."""

from __future__ import annotations

import logging


class ClientErrorsAtInfo(logging.Filter):
    """Django's `django.request` logs every 4xx answer as a WARNING. Those are the
    client's mistakes or plain refusals (409 when seats run out), answered in full; at
    WARNING a sell-out would write one line per refused request (about 200 KB/s at 2,500
    refusals a second). They are INFO here, so they show only when asked for
    (TICKETBOSS_LOG_LEVEL=INFO); 5xx answers stay ERROR."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500 and record.levelno == logging.WARNING:
            record.levelno = logging.INFO
            record.levelname = logging.getLevelName(logging.INFO)
        return True
