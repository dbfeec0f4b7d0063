"""Group commit for the `db` store: one committing thread per process and store.

Why: a write to one event holds the event's row lock until its COMMIT is in the
WAL, so one hot event took about one commit at a time, each paying a connection,
five round trips and the scheduling of its own request thread while holding the
lock. Here request threads only queue their write and wait; one thread per
process takes everything queued, runs it as one transaction on its own long-lived
connection (reservations.store.orm_batch), and only after that COMMIT answers each
writer. Requests arriving during a commit form the next batch, so batches grow
exactly as fast as the database is slow.

Guarantees: nothing is answered before its transaction committed; a write the
batch refuses changes nothing; an error fails the whole batch (its transaction
rolled back) and nothing else. A write still queued when the thread is stuck for
`queue_timeout_s` is withdrawn (it was never in a transaction) and fails with
StoreUnavailable. A lost database closes the thread's connection: the next batch
opens a new one, so service resumes with the first batch after the database is back.
Between batches the thread runs the store's idle work (the announcement of changes
its batches committed without one), on the same connection.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from reservations.bell import Bell
from reservations.domain import StoreUnavailable

log = logging.getLogger(__name__)

R = TypeVar("R")
MAX_BATCH = 256  # keeps one INSERT statement and one transaction small


@dataclass(slots=True, eq=False)
class Pending(Generic[R]):
    """One queued write: the request, and its answer once the batch is settled."""

    request: R
    done: Bell = field(default_factory=Bell)  # rung once, when the batch is settled
    taken: bool = False
    result: Any = None
    error: BaseException | None = None

    def settle(self, outcome: Any) -> None:
        """A batch's answer for this write: a result, or the exception to raise."""
        if isinstance(outcome, BaseException):
            self.error = outcome
        else:
            self.result = outcome


# Runs one batch as one transaction and settles every Pending after its COMMIT, or
# raises (nothing committed): then every write of the batch fails with that error.
RunBatch = Callable[[list[Pending[Any]]], None]
# Runs in the thread after each batch and whenever the queue stayed empty as long as it
# last asked: does whatever work is due, and says in how many seconds it wants to run
# again (None: not until after the next batch).
IdleWork = Callable[[], float | None]


class Committer:
    """A queue of writes and the one thread that commits them in batches."""

    def __init__(
        self,
        run_batch: RunBatch,
        *,
        queue_timeout_s: float,
        on_exit: Callable[[], None],
        on_idle: IdleWork | None = None,
        name: str = "ticketboss-commit",
    ) -> None:
        self._run_batch = run_batch
        self._on_idle = on_idle
        self._queue_timeout_s = queue_timeout_s
        self._on_exit = on_exit  # runs in the thread as it ends: close its connection
        self._name = name
        self._cond = threading.Condition()
        self._queue: list[Pending[Any]] = []
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._closed = False
        self.batches = 0  # committed or failed, since start: for tests and benchmarks
        self.writes = 0

    def submit(self, request: Any) -> Any:
        """Queue `request`; its answer once its batch committed (or raise its error)."""
        pending: Pending[Any] = Pending(request)
        with self._cond:
            if self._closed:
                raise StoreUnavailable()
            self._ensure_thread()
            self._queue.append(pending)
            self._cond.notify()  # only the committer waits on this condition
        # Each writer sleeps on its own bell, woken once: no herd on every submit.
        if not pending.done.wait(self._queue_timeout_s):
            with self._cond:
                if not pending.taken:
                    self._queue.remove(pending)  # never in a transaction: nothing to undo
                    log.error(
                        "database writes stuck for %.0fs: answering 503", self._queue_timeout_s
                    )
                    raise StoreUnavailable()
            pending.done.wait()  # taken: bounded by the batch's own timeouts
        if pending.error is not None:
            raise pending.error
        return pending.result

    def queued(self) -> int:
        """Writes waiting for the next batch."""
        with self._cond:
            return len(self._queue)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)

    def _ensure_thread(self) -> None:
        """Start the thread on first use, and again in a forked child (threads do not fork)."""
        if self._pid != os.getpid():
            self._pid, self._thread, self._queue = os.getpid(), None, []
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def _take(self, idle_s: float | None) -> list[Pending[Any]] | None:
        """The next batch (oldest first); [] when none came within `idle_s` (None: wait
        for one); None once closed and drained."""
        with self._cond:
            self._cond.wait_for(lambda: self._queue or self._closed, timeout=idle_s)
            if not self._queue:
                return None if self._closed else []
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            for pending in batch:
                pending.taken = True
            return batch

    def _run(self) -> None:
        idle_s: float | None = None
        try:
            while (batch := self._take(idle_s)) is not None:
                if batch:
                    self._commit(batch)
                idle_s = self._idle()
        finally:
            self._on_exit()

    def _commit(self, batch: list[Pending[Any]]) -> None:
        try:
            self._run_batch(batch)
        except BaseException as exc:  # handed to each writer to raise
            for pending in batch:
                pending.result, pending.error = None, _copy_error(exc)
        self.batches += 1
        self.writes += len(batch)
        for pending in batch:
            pending.done.ring()

    def _idle(self) -> float | None:
        if self._on_idle is None:
            return None
        try:
            return self._on_idle()
        except Exception:  # the thread must outlive it; try again in a second
            log.exception("committer's idle work failed")
            return 1.0


def _copy_error(exc: BaseException) -> BaseException:
    """One exception object per writer thread: raising a shared one garbles tracebacks."""
    if isinstance(exc, StoreUnavailable):
        return StoreUnavailable()
    return exc
