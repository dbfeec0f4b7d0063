"""Bell: wakes one parked thread, and costs as little as a thread wake can here."""

from __future__ import annotations

import contextlib
import threading


class Bell:
    """Wakes one parked thread; a ring before the wait is kept for it.

    A bare lock used as a binary semaphore: `threading.Event` and `Condition` wait
    through a Python `Condition` and a fresh lock per wait, which measured 60-76 µs of
    CPU per wake against about 40 µs for this. Live streams park on one each (a worker
    wakes one thread per open stream on every push), and so do writers waiting for
    their group commit.
    """

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()  # held = nothing to report

    def ring(self) -> None:
        with contextlib.suppress(RuntimeError):  # already rung: one pending wake is enough
            self._lock.release()

    def wait(self, timeout: float | None = None) -> bool:
        """True when rung (the ring is used up), False after `timeout` seconds."""
        return self._lock.acquire(timeout=-1 if timeout is None else timeout)
