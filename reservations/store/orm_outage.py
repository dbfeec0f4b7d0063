"""The DatabaseGate of each database alias, one per process, shared by the `db` store
and its partner directory, with the probe it uses: a connection of its own, opened and
closed (never one of the pool's, whose retries back off to seconds)."""

from __future__ import annotations

import logging
import os
import threading
from functools import partial

import psycopg
from django.db import connections

from reservations.store.notify import listen_params
from reservations.store.outage import DatabaseGate

log = logging.getLogger("reservations.store.orm")

_gates: dict[tuple[int, str], DatabaseGate] = {}
_gates_lock = threading.Lock()


class _NoGate(DatabaseGate):
    """SQLite (development): no server to lose; a failed call is logged and that is all
    (its "database is locked" is a busy file, not an outage)."""

    def enter(self) -> None:
        return

    def reachable(self) -> bool:
        return True

    def lost(self, what: str, exc: BaseException) -> None:
        log.error("database unavailable in %s: %s", what, exc)


def gate_for(using: str) -> DatabaseGate:
    """This process's gate for `using` (a forked worker gets its own)."""
    key = (os.getpid(), using)
    gate = _gates.get(key)
    if gate is None:
        with _gates_lock:
            gate = _gates.get(key)
            if gate is None:
                kind = DatabaseGate if connections[using].vendor == "postgresql" else _NoGate
                gate = _gates[key] = kind(partial(_probe, using), log)
    return gate


def outage_in_this_process() -> bool:
    """Whether a gate of this process is closed (its outage's log lines count the 503s)."""
    return any(not gate.is_open for (pid, _), gate in list(_gates.items()) if pid == os.getpid())


def _probe(using: str) -> None:
    """Connect and disconnect: raises while the server cannot be reached (bounded by the
    connect_timeout of ticketboss_site.database)."""
    with psycopg.connect(**listen_params(connections[using].get_connection_params())):
        pass
