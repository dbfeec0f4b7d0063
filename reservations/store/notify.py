"""Cross-node change signal for the `db` store: PostgreSQL LISTEN/NOTIFY.

Every write transaction of the ORM store runs `pg_notify(CHANNEL, payload)` (the
event id; for a batch of reservations one payload for all, which PostgreSQL folds
into one delivery); PostgreSQL delivers it, only once the transaction commits, to
every session that LISTENs on the channel, on every node. Reservation batches, the
one write that comes by the thousand, announce at most once per
TICKETBOSS_STREAM_MIN_INTERVAL per process (reservations.store.orm_batch): a
notifying commit holds a cluster-wide lock until its flush is done. Payloads are not
read. Each process keeps one dedicated psycopg connection (not one of Django's) in a
daemon thread that counts the notifications it receives; `wait()` blocks on that
counter. So live streams learn of a change made anywhere within milliseconds (within
that interval during a burst of reservations), and an idle service sends no queries
at all (no polling of the tables).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import psycopg

log = logging.getLogger(__name__)

CHANNEL = "ticketboss_changes"
RECEIVE_SLICE_S = 1.0  # how often the listener thread looks at its stop flag
RECONNECT_MAX_S = 2.0

# Django-only connection parameters that psycopg.connect does not take as such.
_DJANGO_ONLY_PARAMS = ("cursor_factory", "context", "prepare_threshold")


def listen_params(django_params: dict[str, Any]) -> dict[str, Any]:
    """psycopg.connect() keywords from a Django connection's get_connection_params()."""
    params = {k: v for k, v in django_params.items() if k not in _DJANGO_ONLY_PARAMS}
    # Notice a silently dropped connection (no FIN from a dead host) within seconds.
    params.update(keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=2)
    return params


class ChangeListener:
    """A change counter fed by LISTEN on one dedicated connection, reconnecting by itself.

    After every (re)connection the counter is bumped as well: notifications sent
    while the listener was away are lost, so waiters must re-read everything.
    """

    def __init__(self, connect_params: dict[str, Any], channel: str = CHANNEL) -> None:
        self._params = connect_params
        self._channel = channel
        self._changed = threading.Condition()
        self._count = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = threading.Lock()
        self.connected = threading.Event()

    def wait(self, *, since: object, timeout: float) -> int:
        """The counter once it differs from `since` or `timeout` passed.

        For `since=None`, the counter as soon as the listener is connected (at most
        `timeout`), so that every change committed after the call moves it.
        """
        self._ensure_started()
        if since is None:
            self.connected.wait(timeout)
        with self._changed:
            if since is not None:
                self._changed.wait_for(lambda: self._count != since or self._stop.is_set(), timeout)
            return self._count

    def close(self) -> None:
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=RECEIVE_SLICE_S + 1)

    def _ensure_started(self) -> None:
        with self._started:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._run, name="ticketboss-listen", daemon=True
                )
                self._thread.start()

    def _bump(self) -> None:
        with self._changed:
            self._count += 1
            self._changed.notify_all()

    def _run(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            try:
                with psycopg.connect(**self._params, autocommit=True) as conn:
                    conn.execute(f"LISTEN {self._channel}")
                    self._bump()  # before `connected`: a since=None stamp is taken after it
                    self.connected.set()
                    backoff = 0.1
                    while not self._stop.is_set():
                        for _notify in conn.notifies(timeout=RECEIVE_SLICE_S):
                            self._bump()
            except psycopg.Error as exc:
                if self.connected.is_set():
                    log.warning("change listener lost the database: %s; reconnecting", exc)
                    self.connected.clear()
                    # Wake waiters so they re-read (and see StoreUnavailable) now.
                    self._bump()
                self._stop.wait(backoff)
                backoff = min(backoff * 2, RECONNECT_MAX_S)
        self.connected.clear()
