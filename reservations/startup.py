"""Open the store when a server process starts, or refuse to start."""

from __future__ import annotations

import logging
import sys

from reservations.domain import StoreCorrupt, StoreUnavailable
from reservations.store import get_store

log = logging.getLogger(__name__)

EXIT_CORRUPT_STORE = 4


def open_store_or_exit() -> None:
    """A corrupt store must never be served (and is never rewritten): exit instead."""
    try:
        get_store()
    except StoreCorrupt as exc:
        message = f"TicketBoss refuses to start: {exc.message}"
        log.critical(message)
        sys.exit(EXIT_CORRUPT_STORE)
    except StoreUnavailable as exc:
        # e.g. database down at boot: serve 503s and recover when it returns.
        log.error("store not available at start: %s", exc.message)
