"""Reservation timestamps: text outside, whole microseconds since the epoch inside.

The API and the files show UTC ISO 8601 text (`2026-11-25T14:36:24.123Z`). Held
in memory for every reservation of a worker's life, that text costs 73 bytes
where an int costs 32 to 40, so stores keep the int and convert at the edges.
Both directions are exact, and cached per minute or second because a restart
or a snapshot converts millions of stamps, in time order, that share their
first 16 or 19 characters; small caches (a few hundred kB) are enough for that.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from reservations import clock

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_US_PER_S = 1_000_000
# Text of the canonical shape: 24 characters, milliseconds, "Z".
_CANONICAL_LENGTH = len("2026-11-25T14:36:24.123Z")
_MILLIS_TEXT = tuple(f".{millis:03d}Z" for millis in range(1_000))


def now_us() -> int:
    """The current time (reservations.clock), truncated to whole milliseconds."""
    return clock.now_us()


def to_text(us: int) -> str:
    """`YYYY-MM-DDTHH:MM:SS.mmmZ`, with six fraction digits only when they are needed."""
    seconds, micros = divmod(us, _US_PER_S)
    millis, rest = divmod(micros, 1_000)
    if rest == 0:
        return _second_text(seconds) + _MILLIS_TEXT[millis]
    return f"{_second_text(seconds)}.{micros:06d}Z"


def from_text(text: str) -> int:
    """Microseconds since the epoch; ValueError unless `text` is an ISO 8601 time
    with a UTC offset (any offset is converted; a time without one is refused)."""
    if (
        len(text) == _CANONICAL_LENGTH
        and text[16] == ":"
        and text[19] == "."
        and text[23] == "Z"
        and text[17:19].isdigit()
        and text[20:23].isdigit()
    ):
        seconds = int(text[17:19])
        if seconds < 60:
            return _minute_us(text[:16]) + seconds * _US_PER_S + int(text[20:23]) * 1_000
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no UTC offset")
    return (moment - _EPOCH) // _MICROSECOND


def now_text() -> str:
    return to_text(now_us())


def to_datetime(us: int) -> datetime:
    """For the database store, whose columns hold datetimes."""
    return _EPOCH + timedelta(microseconds=us)


def from_datetime(moment: datetime) -> int:
    """Microseconds of a datetime with a time zone (the database store's columns)."""
    return (moment - _EPOCH) // _MICROSECOND


@lru_cache(maxsize=1024)
def _second_text(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


@lru_cache(maxsize=1024)
def _minute_us(minute_text: str) -> int:
    """`YYYY-MM-DDTHH:MM` (UTC) as microseconds; ValueError when it is no real minute."""
    moment = datetime.strptime(minute_text, "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND
