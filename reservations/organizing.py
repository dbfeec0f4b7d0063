"""What organizers set and read about an event (CONTRACT.md "Events and partners").

Plain Python on purpose (no Django), like reservations.domain: both stores and the
API apply exactly these rules. Times are integer microseconds since the epoch inside
(reservations.timestamps) and RFC 3339 UTC text at the edges.

- A **sales window** (`salesOpenAt`, `salesCloseAt`, either may be absent) bounds when a
  reserve or hold is taken: outside it, SalesNotOpen (409). Confirming or releasing a
  hold taken inside it still works after it closes: the buyer was already paying.
- An **allocation** caps one partner's confirmed plus held seats in one event; a
  reserve or hold past it is AllocationExhausted (409), checked under the same lock or
  in the same transaction as the seat check. Lowering it below what the partner holds
  takes nothing away; it only refuses more.
- **Stats** are kept up to date by every write, never computed by scanning
  reservations: per partner (confirmed and held seats and counts, allocation) and
  seats sold per minute (see MinuteSales).
"""

from __future__ import annotations

import bisect
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from reservations import timestamps
from reservations.domain import (
    CANCELLED,
    CONFIRMED,
    EXPIRED,
    HELD,
    MAX_TOTAL_SEATS,
    DomainError,
    InvalidRequest,
    Reservation,
    Summary,
)

MAX_ALLOCATION = MAX_TOTAL_SEATS
MINUTE_US = 60 * 10**6
PAGE_LIMIT_DEFAULT = 50
PAGE_LIMIT_MAX = 500
STATUS_FILTERS = (HELD, CONFIRMED, CANCELLED, EXPIRED)


class _Unset:
    """Marks a field a PATCH left out (None means "clear it")."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


# --------------------------------------------------------------------------- errors


class SalesNotOpen(DomainError):
    message = "Sales are not open for this event"


class AllocationExhausted(DomainError):
    message = "Partner allocation exhausted"


class EventExists(DomainError):
    message = "An event with this eventId already exists"


class UnknownPartner(InvalidRequest):
    """An allocation names a partner the store does not know (keys mode): 400."""

    def __init__(self, partner_id: str) -> None:
        text = f"Unknown partner {partner_id!r}: add the partner first."
        super().__init__(text, {"partnerId": [text]})


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class SalesWindow:
    """When reserves and holds are taken: from open_us (inclusive) to close_us
    (exclusive); None on either side means unbounded."""

    open_us: int | None = None
    close_us: int | None = None

    def is_open(self, now_us: int) -> bool:
        if self.open_us is not None and now_us < self.open_us:
            return False
        return self.close_us is None or now_us < self.close_us

    def check(self, now_us: int) -> None:
        if not self.is_open(now_us):
            raise SalesNotOpen()

    def as_dict(self) -> dict[str, str | None]:
        return {"salesOpenAt": _text(self.open_us), "salesCloseAt": _text(self.close_us)}


ALWAYS_OPEN = SalesWindow()  # no window set: sales open at any time


@dataclass(frozen=True, slots=True)
class NewEvent:
    """`POST /events`, validated."""

    event_id: str
    name: str
    total_seats: int
    hold_seconds: int | None = None  # None: the store's default (DEFAULT_HOLD_SECONDS)
    window: SalesWindow = ALWAYS_OPEN


@dataclass(frozen=True, slots=True)
class EventChanges:
    """`PATCH /events/{id}`, validated: UNSET fields stay as they are. A window side set
    to None clears it. The store checks the merged window again (close after open)."""

    name: str | _Unset = UNSET
    total_seats: int | _Unset = UNSET
    hold_seconds: int | _Unset = UNSET
    sales_open_us: int | _Unset | None = UNSET
    sales_close_us: int | _Unset | None = UNSET

    def merged_window(self, current: SalesWindow) -> SalesWindow:
        """The window after this change; InvalidRequest when it would close before it
        opens."""
        window = SalesWindow(
            current.open_us if isinstance(self.sales_open_us, _Unset) else self.sales_open_us,
            current.close_us if isinstance(self.sales_close_us, _Unset) else self.sales_close_us,
        )
        check_window_order(window)
        return window


@dataclass(slots=True)
class PartnerFigures:
    """One partner's standing in one event; kept up to date by every write."""

    partner_id: str
    confirmed_seats: int = 0
    confirmed_count: int = 0
    held_seats: int = 0
    hold_count: int = 0
    allocation: int | None = None

    @property
    def taken_seats(self) -> int:
        """What an allocation caps: confirmed plus unexpired held seats."""
        return self.confirmed_seats + self.held_seats

    def check_room(self, seats: int) -> None:
        if self.allocation is not None and self.taken_seats + seats > self.allocation:
            raise AllocationExhausted()

    def copy(self) -> PartnerFigures:
        """A copy a reader can keep while writers go on changing this one."""
        return PartnerFigures(
            self.partner_id,
            self.confirmed_seats,
            self.confirmed_count,
            self.held_seats,
            self.hold_count,
            self.allocation,
        )

    @property
    def is_blank(self) -> bool:
        """Nothing taken and no allocation (a store may forget such a partner)."""
        return self.allocation is None and not (
            self.confirmed_count or self.hold_count or self.confirmed_seats or self.held_seats
        )

    def as_dict(self, *, total_seats: int) -> dict[str, Any]:
        return {
            "partnerId": self.partner_id,
            "confirmedSeats": self.confirmed_seats,
            "confirmedCount": self.confirmed_count,
            "heldSeats": self.held_seats,
            "holdCount": self.hold_count,
            "allocation": self.allocation,
            # share of the event's seats this partner has sold
            "share": (self.confirmed_seats / total_seats) if total_seats else 0.0,
        }


@dataclass(slots=True)
class MinuteSales:
    """Seats sold per minute: each confirmed reservation counts in the minute it became
    confirmed (made confirmed, or its hold confirmed), a cancel of a confirmed one
    subtracts in the minute it was cancelled. Holds not yet confirmed count nowhere.
    So the running total at the end equals the event's reservedSeats.

    `as_list` keeps the rows it built: writes land in the current minute, so a read
    after them rebuilds only the rows from the earliest minute changed (usually the
    last one) instead of a day's 1,440. Not for concurrent use: a store reads and
    writes it under the event's lock."""

    seats_by_minute: dict[int, int] = field(default_factory=dict)  # minute start us -> net
    _rows: list[dict[str, Any]] = field(init=False, default_factory=list, repr=False, compare=False)
    _row_minutes: list[int] = field(init=False, default_factory=list, repr=False, compare=False)
    # Rows from this minute on are stale (None: all fresh); at first everything is.
    _stale_from: int | None = field(init=False, default=-(1 << 62), repr=False, compare=False)

    def add(self, at_us: int, seats: int) -> None:
        minute = at_us - at_us % MINUTE_US
        stale = self._stale_from
        if stale is None or minute < stale:
            self._stale_from = minute
        total = self.seats_by_minute.get(minute, 0) + seats
        if total:
            self.seats_by_minute[minute] = total
        else:
            self.seats_by_minute.pop(minute, None)

    @property
    def total(self) -> int:
        return sum(self.seats_by_minute.values())

    def copy(self) -> MinuteSales:
        return MinuteSales(dict(self.seats_by_minute))

    def to_json(self) -> dict[str, int]:
        """Stored shape (snapshots, dumps): minute start as RFC 3339 text -> net seats,
        oldest first; readable by a person."""
        return {
            timestamps.to_text(minute): self.seats_by_minute[minute]
            for minute in sorted(self.seats_by_minute)
        }

    @classmethod
    def from_json(cls, data: object) -> MinuteSales:
        """The stored shape back; ValueError when it is not one."""
        if not isinstance(data, dict):
            raise ValueError("minuteSales must be an object of minute -> seats")
        sales = cls()
        for text, seats in data.items():
            if type(seats) is not int:
                raise ValueError(f"minuteSales[{text!r}] must be a whole number")
            minute = timestamps.from_text(text)
            if minute % MINUTE_US:
                raise ValueError(f"minuteSales key {text!r} is not the start of a minute")
            sales.add(minute, seats)
        return sales

    def as_list(self) -> list[dict[str, Any]]:
        """Rows oldest first: {"minute": RFC 3339, "seats": net, "cumulative": running
        total}. The row dicts are shared with later calls: read them, never change them."""
        stale, rows, minutes = self._stale_from, self._rows, self._row_minutes
        if stale is not None:
            cut = bisect.bisect_left(minutes, stale)
            del rows[cut:], minutes[cut:]
            cumulative = rows[-1]["cumulative"] if rows else 0
            by_minute = self.seats_by_minute
            for minute in sorted(m for m in by_minute if m >= stale):
                seats = by_minute[minute]
                cumulative += seats
                rows.append(
                    {"minute": _minute_text(minute), "seats": seats, "cumulative": cumulative}
                )
                minutes.append(minute)
            self._stale_from = None
        return list(rows)


@dataclass(frozen=True, slots=True)
class EventStats:
    summary: Summary
    partners: list[PartnerFigures]  # every partner with a reservation or an allocation
    per_minute: list[dict[str, Any]]  # MinuteSales.as_list()

    def as_dict(self) -> dict[str, Any]:
        total = self.summary.total_seats
        return {
            "eventId": self.summary.event_id,
            "summary": self.summary.as_dict(),
            "partners": [
                p.as_dict(total_seats=total)
                for p in sorted(self.partners, key=lambda p: p.partner_id)
            ],
            "perMinute": self.per_minute,
        }


@dataclass(frozen=True, slots=True)
class PageQuery:
    """One page of an event's reservations, oldest first. A reservation's `position`
    grows with the order it was made and never changes, so paging by position never
    shows a row twice or skips one while writes arrive. `after`: rows past that
    position; `before`: the `limit` rows just before it (still returned oldest first)."""

    event_id: str
    partner_id: str | None = None
    status: str | None = None
    after: int | None = None
    before: int | None = None
    limit: int = PAGE_LIMIT_DEFAULT


@dataclass(frozen=True, slots=True)
class PageRow:
    position: int
    reservation: Reservation


# --------------------------------------------------------------------------- validation


def parse_instant(value: object, field_name: str) -> int | None:
    """An RFC 3339 date-time with a time zone (or null) as microseconds since the epoch."""
    if value is None:
        return None
    message = f"{field_name} must be an RFC 3339 date-time with a time zone, or null."
    if not isinstance(value, str) or len(value) > 40:
        raise _field_error(field_name, message)
    text = value.strip()
    if (
        len(text) < 20
        or text[10] not in "Tt"
        or not (text.endswith(("Z", "z")) or text[-6] in "+-")
    ):
        raise _field_error(field_name, message)
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "Zz" else text)
    except ValueError:
        raise _field_error(field_name, message) from None
    if moment.tzinfo is None or not 1970 <= moment.astimezone(UTC).year <= 9999:
        raise _field_error(field_name, message)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 10**6 + delta.microseconds


def check_window_order(window: SalesWindow) -> None:
    if (
        window.open_us is not None
        and window.close_us is not None
        and window.close_us <= window.open_us
    ):
        raise _field_error("salesCloseAt", "salesCloseAt must be after salesOpenAt.")


def validate_allocation(value: object) -> int | None:
    """`{"seats": N}` of an allocation: a whole number from 0 to MAX_ALLOCATION, or null
    (no limit)."""
    if value is None:
        return None
    if type(value) is not int or not 0 <= value <= MAX_ALLOCATION:
        raise _field_error(
            "seats", f"seats must be a whole number from 0 to {MAX_ALLOCATION}, or null."
        )
    return value


def validate_status_filter(value: object) -> str | None:
    if value is None or value == "":
        return None
    if value not in STATUS_FILTERS:
        raise _field_error("status", f"status must be one of {', '.join(STATUS_FILTERS)}.")
    return str(value)


def validate_page_limit(value: object) -> int:
    if value is None or value == "":
        return PAGE_LIMIT_DEFAULT
    try:
        limit = int(str(value))
    except ValueError:
        limit = 0
    if not 1 <= limit <= PAGE_LIMIT_MAX:
        raise _field_error("limit", f"limit must be a whole number from 1 to {PAGE_LIMIT_MAX}.")
    return limit


def is_clean_text(value: str) -> bool:
    return not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value)


_MINUTE_TEXTS: dict[int, str] = {}
_MINUTE_TEXTS_MAX = 100_000  # about 70 days of minutes: a few MB at most


def _minute_text(minute_us: int) -> str:
    """A minute's RFC 3339 text, cached: stats show the same minutes on every read, and
    converting a day's 1,440 of them afresh took most of a stats read."""
    text = _MINUTE_TEXTS.get(minute_us)
    if text is None:
        if len(_MINUTE_TEXTS) >= _MINUTE_TEXTS_MAX:
            _MINUTE_TEXTS.clear()
        text = _MINUTE_TEXTS[minute_us] = timestamps.to_text(minute_us)
    return text


def _text(us: int | None) -> str | None:
    return None if us is None else timestamps.to_text(us)


def _field_error(field_name: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, {field_name: [message]})
