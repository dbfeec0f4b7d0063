"""One lock per event, across threads and worker processes, with a bounded wait.

A thread lock serialises the threads of one process (flock locks belong to an
open file, so threads sharing it would not exclude each other); an flock on
the event's lock file then serialises processes. Waiting is bounded: past the
deadline the caller gets StoreUnavailable ("try again") instead of a hung worker.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reservations.domain import StoreUnavailable

# A waiting process polls (flock has no timed wait). The cap is short because the holder
# usually keeps the lock for one fdatasync (0.15 to 2 ms here): a 2 ms cap overslept by
# about 1 ms on average, idling both workers; polling every 0.25 ms costs about 1% of a core.
_FIRST_BACKOFF_S = 0.00002
_MAX_BACKOFF_S = 0.00025


class EventLock:
    def __init__(self, path: Path, timeout_s: float) -> None:
        self._path = path
        self._timeout_s = timeout_s
        self._thread_lock = threading.Lock()
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._held(fcntl.LOCK_EX):
            yield

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._held(fcntl.LOCK_SH):
            yield

    @contextmanager
    def _held(self, mode: int) -> Iterator[None]:
        deadline = time.monotonic() + self._timeout_s
        if not self._thread_lock.acquire(timeout=self._timeout_s):
            raise busy_error()
        try:
            self._flock(mode, deadline)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def _flock(self, mode: int, deadline: float) -> None:
        backoff = _FIRST_BACKOFF_S
        while True:
            try:
                fcntl.flock(self._fd, mode | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise busy_error() from None
                time.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_S)

    def close(self) -> None:
        os.close(self._fd)


def busy_error() -> StoreUnavailable:
    return StoreUnavailable("The event is busy; nothing was changed. Try again.")


class CompactionGuard:
    """At most one compaction of an event at a time, across worker processes.

    An flock on its own file, taken without waiting: busy means another worker is
    compacting this event, and the caller simply does not (the journal stays complete,
    and the next write tries again). Held from taking the snapshot image until the new
    journal is in place, possibly across threads, so it is acquired and released
    explicitly rather than as a context.
    """

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    def try_acquire(self) -> bool:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def fileno(self) -> int:
        """The descriptor holding the lock (a child writing a snapshot keeps it open)."""
        return self._fd

    def close(self) -> None:
        os.close(self._fd)
