"""The one source of "now": holds expire by it, and tests move it.

Real time by default. A test sets `TICKETBOSS_CLOCK_FILE` (environment, read at
import) or calls `use_file()`: every worker and process then reads "now" from
that file, so tests move time for a whole server by writing it, never by
sleeping. The file holds either `+N` (real time shifted by N milliseconds) or
`=N` (time stopped at N milliseconds since the epoch). It is read on every call:
a test hook, never set in production.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

CLOCK_FILE_ENV = "TICKETBOSS_CLOCK_FILE"

_file: Path | None = None
_last_us = 0  # the last good reading, kept while the file is being replaced


def use_file(path: Path | str | None) -> None:
    """Read "now" from `path` in this process (None: real time again)."""
    global _file
    _file = Path(path) if path else None


def now_us() -> int:
    """Microseconds since the epoch, truncated to whole milliseconds like the text form."""
    real = time.time_ns() // 1_000_000 * 1_000
    return real if _file is None else _from_file(real)


def set_time(path: Path | str, *, at_ms: int | None = None, offset_ms: int = 0) -> None:
    """Stop time at `at_ms`, or shift real time by `offset_ms`, for every process reading
    `path` (atomic replace). Tests call this."""
    path = Path(path)
    temp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temp.write_text(f"={int(at_ms)}\n" if at_ms is not None else f"+{int(offset_ms)}\n")
    os.replace(temp, path)


def _from_file(real_us: int) -> int:
    global _last_us
    assert _file is not None
    try:
        text = _file.read_text().strip()
    except FileNotFoundError:
        return real_us
    try:
        value = int(text[1:]) * 1_000
    except (ValueError, IndexError):
        return _last_us or real_us
    _last_us = value if text[0] == "=" else real_us + value
    return _last_us


use_file(os.environ.get(CLOCK_FILE_ENV) or None)
