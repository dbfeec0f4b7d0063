"""Logging filters for the site's LOGGING setting."""

from __future__ import annotations

import logging
import sys

# Refusals of who the caller is or what it may do stay warnings: someone may be probing.
_ACCESS_REFUSALS = frozenset({401, 403})


class ClientErrorsAtInfo(logging.Filter):
    """Django's `django.request` logs every 4xx answer as a WARNING. Most are the
    client's mistakes or plain refusals (409 when seats run out), answered in full; at
    WARNING a sell-out would write one line per refused request (about 200 KB/s at 2,500
    refusals a second). They are INFO here, so they show only when asked for
    (TICKETBOSS_LOG_LEVEL=INFO). 401 and 403 stay WARNING, 5xx answers ERROR, except
    the 503s of a database outage: the `db` store logs the outage once, sums up the
    calls it refused every 10 s and logs its end (reservations.store.outage), so one
    ERROR line per refused request during it is INFO too."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if not isinstance(status, int):
            return True
        client_error = 400 <= status < 500 and status not in _ACCESS_REFUSALS
        if (client_error and record.levelno == logging.WARNING) or (
            status == 503 and _database_outage()
        ):
            record.levelno = logging.INFO
            record.levelname = logging.getLevelName(logging.INFO)
        return True


def _database_outage() -> bool:
    """A `db` store's gate of this process is closed (never true for the JSON store, which
    does not import the module: no database driver is loaded for it)."""
    module = sys.modules.get("reservations.store.orm_outage")
    return module is not None and module.outage_in_this_process()
