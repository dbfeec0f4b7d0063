"""A stopped clock for tests: the clock file every server process reads "now" from
(reservations.clock). It only moves when a test says, and only forward."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from reservations import clock

START_MS = 1_900_000_000_000  # 2030-03-17: far from any real "now" in the tests


class StoppedClock:
    def __init__(self, path: Path, start_ms: int = START_MS) -> None:
        self.path, self.now_ms = path, start_ms
        clock.set_time(path, at_ms=self.now_ms)

    def advance(self, seconds: float) -> None:
        """Move time forward for every process reading the file (ms precision)."""
        self.now_ms += round(seconds * 1000)
        clock.set_time(self.path, at_ms=self.now_ms)


@contextlib.contextmanager
def stopped_in_this_process(path: Path) -> Iterator[StoppedClock]:
    """A StoppedClock that this process's reservations.clock reads too (stores opened in
    the test itself), back to real time afterwards."""
    stopped = StoppedClock(path)
    clock.use_file(path)
    try:
        yield stopped
    finally:
        clock.use_file(None)
