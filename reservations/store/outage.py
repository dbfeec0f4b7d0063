"""A lost database, answered at once and logged once.

Why: while PostgreSQL was down every call waited out the pool's connect timeout (3 s,
twice for a reserve queued behind the committer's announcement) before its 503, and
logged an ERROR of its own, plus psycopg's retries and a traceback from the live
watcher: a 20 s outage wrote about 330 lines and kept each client 3 to 6 s. A call in
flight when the database came back still failed, up to 3 s later.

Here, once a call finds the database lost, the gate closes: calls are refused at once
(StoreUnavailable, a 503 that changed nothing) while one call at a time, at most every
`probe_every_s`, probes with a connection of its own. The first probe that connects
opens the gate for every call. The outage is logged once when it begins (ERROR, with
its cause), summed up every `summary_every_s` while it lasts, and once when it ends.

Plain Python: the probe and the clock come from the caller (reservations.store.orm).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from reservations.domain import StoreUnavailable

PROBE_EVERY_S = 0.1  # at most 10 connection attempts a second per process while lost
# A probe that connected vouches for the database this long (reachable()).
REACHED_FRESH_S = 1.0
SUMMARY_EVERY_S = 10.0


class DatabaseGate:
    """Open while the database answers; closed from a lost connection to a good probe."""

    def __init__(
        self,
        probe: Callable[[], None],
        log: logging.Logger,
        *,
        probe_every_s: float = PROBE_EVERY_S,
        summary_every_s: float = SUMMARY_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probe = probe  # raises when the database cannot be reached
        self._log = log
        self._probe_every_s = probe_every_s
        self._summary_every_s = summary_every_s
        self._clock = clock
        self._lock = threading.Lock()
        self._lost_at: float | None = None  # None: open
        self._probing = False
        self._probed_at = float("-inf")
        self._summed_at = float("-inf")
        self._refused = 0  # calls failed or refused during this outage
        self._reached_at = float("-inf")  # the last probe that connected

    @property
    def is_open(self) -> bool:
        return self._lost_at is None

    def enter(self) -> None:
        """Before a call uses the database: return to go on, or raise StoreUnavailable
        at once while it is lost (after probing, when this call's turn to probe came)."""
        if self._lost_at is None:  # the common case: one attribute read, no lock
            return
        with self._lock:
            if self._lost_at is None:
                return
            now = self._clock()
            if self._probing or now - self._probed_at < self._probe_every_s:
                self._refused_one(now)
                raise StoreUnavailable()
            self._probing = True
        connected = False
        failure: Exception | None = None
        try:
            self._probe()
            connected = True
        except Exception as exc:
            failure = exc
        finally:  # whatever happened, the next call may probe again
            with self._lock:
                self._probing = False
                self._probed_at = self._clock()
                if connected:
                    self._reached_at = self._probed_at
                    self._opened(self._probed_at)
                elif failure is not None:
                    self._refused_one(self._probed_at, failure)
        if not connected:
            raise StoreUnavailable() from failure

    def reachable(self) -> bool:
        """Whether the database takes a connection now. After a pool's wait timed out,
        this tells every pooled connection busy (keep the pool) from a lost database:
        time since the last answer could not, for an outage right after traffic. At most
        one probe per REACHED_FRESH_S while it connects: an overload, when many calls
        time out, must not add a connection for each."""
        if self._clock() - self._reached_at < REACHED_FRESH_S:
            return True
        try:
            self._probe()
        except Exception:
            return False
        self._reached_at = self._clock()
        return True

    def lost(self, what: str, exc: BaseException) -> None:
        """A call found the database lost (it answers StoreUnavailable): close the gate;
        the next call probes at once (a single dropped connection costs one connect)."""
        with self._lock:
            now = self._clock()
            if self._lost_at is not None:
                self._refused_one(now, exc)
                return
            self._lost_at, self._summed_at, self._refused = now, now, 1
            self._probed_at = float("-inf")
        self._log.error(
            "database unavailable in %s: %s; answering 503 at once until it is back", what, exc
        )

    def _refused_one(self, now: float, exc: BaseException | None = None) -> None:
        """Count a refusal; log a summary when one is due. Called with the lock held."""
        assert self._lost_at is not None
        self._refused += 1
        if now - self._summed_at < self._summary_every_s:
            return
        self._summed_at = now
        self._log.error(
            "database still unavailable after %.0f s: %d calls refused%s",
            now - self._lost_at,
            self._refused,
            f" (last: {exc})" if exc is not None else "",
        )

    def _opened(self, now: float) -> None:
        if self._lost_at is None:
            return
        lasted, refused = now - self._lost_at, self._refused
        self._lost_at = None
        self._log.warning(
            "database back: %d calls refused in the %.1f s since this process found it lost",
            refused,
            lasted,
        )
