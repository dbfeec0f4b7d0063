"""One event's reservations, packed so that a worker's memory grows slowly with them.

Ids are never reused, so every reservation, cancelled ones included, stays in
each worker's memory for good, and its size is what memory grows with. As a
frozen dataclass with its own strings a reservation took about 400 bytes.
Here it is one dict entry from its id to one int that packs its seats, status,
creation time and partner (an index into the event's list of partner names):
about 160 bytes. The few reservations that have more (a cancellation time, an
Idempotency-Key) keep it in small side tables. `Reservation` values are built
on demand for the rare reads that need one (a lookup by id, an export, a
snapshot).

Holds are few and short-lived beside confirmed reservations, so their extra state
lives in side tables too: a held row is a live row whose id is in `_held`, an
expired one a cancelled row whose id is in `_expired`, and both keep their expiry
time in `_expires` (kept after a confirm or a release: a replayed hold answers it).

Each reservation also has a **position**: its index in the order the event took it,
which never changes (ids are never removed). Organizers page through an event by
position (`page`), so a page never repeats or skips a row while writes arrive. The
order list costs one pointer (8 bytes) per reservation, and each partner's positions
(an array of 4-byte ints, so a partner's page, the one a partner key always sees,
costs a binary search and its own rows, not a scan of the event) 4 bytes more.

Plain Python: the domain's EventState holds one of these per event.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from itertools import compress

from reservations import timestamps
from reservations.domain import CANCELLED, CONFIRMED, EXPIRED, HELD, OPEN_ACTOR, Reservation

# Bit layout of a packed reservation, lowest bits first.
_SEATS_BITS = 4
_SEATS_MASK = (1 << _SEATS_BITS) - 1
_CANCELLED_BIT = 1 << _SEATS_BITS
_TIME_SHIFT = _SEATS_BITS + 1
_TIME_BITS = 54  # microseconds since 1970: good until the year 2540
_TIME_MASK = (1 << _TIME_BITS) - 1
_PARTNER_SHIFT = _TIME_SHIFT + _TIME_BITS
# A cancellation's side-table value: its time, and above it the number of who cancelled.
_ACTOR_SHIFT = _TIME_BITS
# Rows a filtered page scans per step before other threads may run (about 1 ms of CPU).
_SCAN_CHUNK = 32_768


class ReservationTable:
    """A read-mostly mapping from reservation id to Reservation, with the two writes
    the domain needs: add a reservation, cancel one.

    Writers are serialised by the caller (the event lock); readers in other
    threads may look at any time, which the GIL makes safe for single dict
    operations, and `values()` iterates over a copy.
    """

    __slots__ = (
        "_actor_numbers",
        "_actors",
        "_cancelled_at",
        "_expired",
        "_expires",
        "_held",
        "_hold_positions",
        "_keys",
        "_order",
        "_partner_numbers",
        "_partner_positions",
        "_partners",
        "_rows",
        "event_id",
    )

    def __init__(self, event_id: str) -> None:
        self.event_id = event_id
        self._rows: dict[str, int] = {}
        self._order: list[str] = []  # ids by position (insertion order, never reordered)
        # "Who" of a reservation: its partner id, or (partner id, creator) when the creator
        # is not "open". Few distinct values, so a number in the row instead of a string each.
        self._partners: list[str | tuple[str, str]] = []
        self._partner_numbers: dict[str | tuple[str, str], int] = {}
        # partner id -> its rows' positions, ascending (appended as rows are added)
        self._partner_positions: dict[str, array[int]] = {}
        self._actors: list[str] = [OPEN_ACTOR]  # who cancelled, by number (0: open)
        self._actor_numbers: dict[str, int] = {OPEN_ACTOR: 0}
        self._cancelled_at: dict[str, int] = {}
        self._keys: dict[str, tuple[str, str | None]] = {}
        self._held: set[str] = set()
        self._expired: set[str] = set()
        self._expires: dict[str, int] = {}  # hold id -> expiry, microseconds
        # hold id -> position: pages of `held` or `expired` rows visit only these
        self._hold_positions: dict[str, int] = {}

    # ------------------------------------------------------------------ reads

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, reservation_id: object) -> bool:
        return reservation_id in self._rows

    def __getitem__(self, reservation_id: str) -> Reservation:
        return self._unpack(
            reservation_id,
            self._rows[reservation_id],
            self._cancelled_at.get(reservation_id),
            self._keys.get(reservation_id),
            self._status_mark(reservation_id),
        )

    def get(self, reservation_id: str) -> Reservation | None:
        return self[reservation_id] if reservation_id in self._rows else None

    def ids(self) -> Iterator[str]:
        return iter(list(self._rows))

    def confirmed_seats(self, reservation_id: str) -> int | None:
        """The seats a confirmed reservation holds; None when unknown, cancelled or held."""
        if reservation_id in self._held:
            return None
        return self.active_seats(reservation_id)

    def active_seats(self, reservation_id: str) -> int | None:
        """The seats a confirmed reservation or a hold takes (what a cancel frees);
        None when unknown, cancelled or expired."""
        row = self._rows.get(reservation_id)
        if row is None or row & _CANCELLED_BIT:
            return None
        return row & _SEATS_MASK

    def is_held(self, reservation_id: str) -> bool:
        return reservation_id in self._held

    def is_expired(self, reservation_id: str) -> bool:
        return reservation_id in self._expired

    def expires_us(self, reservation_id: str) -> int | None:
        return self._expires.get(reservation_id)

    def held_ids(self) -> list[str]:
        return list(self._held)

    def fingerprint(self, reservation_id: str) -> str | None:
        key = self._keys.get(reservation_id)
        return key[1] if key else None

    def values(self) -> Iterator[Reservation]:
        """Every reservation in the order added, as it was when the call was made."""
        rows, cancelled, keys = self._rows.copy(), self._cancelled_at.copy(), self._keys.copy()
        held, expired, expires = self._held.copy(), self._expired.copy(), self._expires.copy()
        unpack = self._unpack
        return (
            unpack(
                reservation_id,
                row,
                cancelled.get(reservation_id),
                keys.get(reservation_id),
                _mark(reservation_id, held, expired, expires) if expires else None,
            )
            for reservation_id, row in rows.items()
        )

    def confirmed_totals(self) -> tuple[int, int]:
        """(number of confirmed reservations, their seats), read straight off the rows."""
        count = seats = 0
        for row in self._rows.values():
            if not row & _CANCELLED_BIT:
                count += 1
                seats += row & _SEATS_MASK
        held_count, held_seats = self.held_totals()
        return count - held_count, seats - held_seats

    def held_totals(self) -> tuple[int, int]:
        """(number of holds not yet expired or settled, their seats)."""
        rows = self._rows
        return len(self._held), sum(rows[item] & _SEATS_MASK for item in self._held)

    def partner_of(self, reservation_id: str) -> str:
        who = self._partners[self._rows[reservation_id] >> _PARTNER_SHIFT]
        return who if type(who) is str else who[0]

    def created_us(self, reservation_id: str) -> int:
        return (self._rows[reservation_id] >> _TIME_SHIFT) & _TIME_MASK

    def knows_partner(self, partner_id: str) -> bool:
        """Whether the partner ever made a reservation here (a scan of distinct partners)."""
        return any(_partner_id(who) == partner_id for who in self._partners)

    def partner_totals(self) -> dict[str, list[int]]:
        """partner -> [confirmed seats, confirmed count, held seats, hold count], counted
        off the rows (check_store compares them with the kept figures)."""
        totals: dict[str, list[int]] = {_partner_id(who): [0, 0, 0, 0] for who in self._partners}
        partners, held = self._partners, self._held
        for reservation_id, row in self._rows.items():
            if row & _CANCELLED_BIT:
                continue
            figures = totals[_partner_id(partners[row >> _PARTNER_SHIFT])]
            index = 2 if reservation_id in held else 0
            figures[index] += row & _SEATS_MASK
            figures[index + 1] += 1
        return totals

    def page(
        self,
        *,
        partner_id: str | None,
        status: str | None,
        after: int | None,
        before: int | None,
        limit: int,
    ) -> list[tuple[int, Reservation]]:
        """Up to `limit` (position, reservation) pairs past `after` and before `before`,
        oldest first; with `before` (and no `after`) the ones just before it.

        An unfiltered page costs O(limit); `held` and `expired` visit holds only; a
        partner's page visits that partner's rows only, from the cursor; a
        `confirmed`/`cancelled` filter that matches few rows costs up to the rows between
        the cursor and the page's end.
        """
        order, rows = self._order, self._rows
        count = len(order)  # rows appended meanwhile by a writer are past the page
        low = -1 if after is None else after
        high = count if before is None else min(before, count)
        backwards = before is not None and after is None
        candidates: Sequence[int]
        if status in (HELD, EXPIRED):
            where, marked = self._hold_positions, self._held if status == HELD else self._expired
            candidates = sorted(p for p in (where.get(i) for i in list(marked)) if p is not None)
        elif partner_id is not None:
            candidates = self._partner_positions.get(partner_id, array("I"))
        else:
            candidates = range(count)
        # The candidates are ascending: the cursor's window is a binary search away.
        inside = candidates[bisect_right(candidates, low) : bisect_left(candidates, high)]
        positions: Iterable[int] = reversed(inside) if backwards else inside
        if status == CANCELLED:
            # Cancellations are few and their ids keep no position: pick the window's
            # cancelled ids in C, not one Python step per row. A page of a 1,000,000-row
            # event took 350 ms of CPU that way, now ~35 ms.
            positions = _positions_of_ids(order, inside, backwards, self._cancelled_at)
        whos: set[int] | None = None
        if partner_id is not None and status in (HELD, EXPIRED):
            whos = {n for who, n in self._partner_numbers.items() if _partner_id(who) == partner_id}
        wanted = self._status_test(status)
        found: list[int] = []
        for position in positions:
            reservation_id = order[position]
            row = rows[reservation_id]
            if whos is not None and row >> _PARTNER_SHIFT not in whos:
                continue
            if wanted is not None and not wanted(reservation_id, row):
                continue
            found.append(position)
            if len(found) >= limit:
                break
        if backwards:
            found.reverse()
        return [(position, self[order[position]]) for position in found]

    def _status_test(self, status: str | None) -> Callable[[str, int], bool] | None:
        held, expired = self._held, self._expired
        if status is None:
            return None
        if status == HELD:
            return lambda rid, row: rid in held
        if status == EXPIRED:
            return lambda rid, row: rid in expired
        if status == CANCELLED:
            return lambda rid, row: bool(row & _CANCELLED_BIT) and rid not in expired
        if status == CONFIRMED:
            return lambda rid, row: not row & _CANCELLED_BIT and rid not in held
        raise ValueError(f"status {status!r} is not a reservation status")

    # ------------------------------------------------------------------ writes

    def add(self, reservation: Reservation) -> int:
        """Store a reservation at the next position and return its creation time
        (microseconds); ValueError when a field cannot be stored (bad stored data)."""
        if reservation.reservation_id in self._rows:
            raise ValueError(f"reservation {reservation.reservation_id} is stored twice")
        seats = reservation.seats
        if type(seats) is not int or not 0 < seats <= _SEATS_MASK:
            raise ValueError(f"seats {seats!r} out of range")
        created = timestamps.from_text(reservation.created_at)
        if not 0 <= created <= _TIME_MASK:
            raise ValueError(f"createdAt {reservation.created_at!r} out of range")
        who = reservation.partner_id
        if reservation.created_by != OPEN_ACTOR:
            who = (who, reservation.created_by)
        row = (self._partner_number(who) << _PARTNER_SHIFT) | (created << _TIME_SHIFT)
        reservation_id = reservation.reservation_id
        if reservation.status == CANCELLED:
            if reservation.cancelled_at is None:
                raise ValueError("a cancelled reservation needs cancelledAt")
            self._cancelled_at[reservation_id] = self._cancellation(
                reservation.cancelled_at, reservation.cancelled_by or OPEN_ACTOR
            )
            row |= _CANCELLED_BIT
        elif reservation.status in (HELD, EXPIRED):
            if reservation.expires_at is None:
                raise ValueError(f"a {reservation.status} reservation needs expiresAt")
            if reservation.status == HELD:
                self._held.add(reservation_id)
            else:
                self._expired.add(reservation_id)
                row |= _CANCELLED_BIT
        elif reservation.status != CONFIRMED:
            raise ValueError(f"status {reservation.status!r} is not a reservation status")
        if reservation.expires_at is not None:  # a hold, or a confirmed or released one
            self._expires[reservation_id] = timestamps.from_text(reservation.expires_at)
            self._hold_positions[reservation_id] = len(self._order)
        if reservation.idempotency_key is not None:
            self._keys[reservation_id] = (reservation.idempotency_key, reservation.fingerprint)
        self._rows[reservation_id] = row | seats
        position = len(self._order)
        self._order.append(reservation_id)  # after the row: a reader's page finds it whole
        positions = self._partner_positions.get(reservation.partner_id)
        if positions is None:
            positions = self._partner_positions[reservation.partner_id] = array("I")
        positions.append(position)
        return created

    def cancel(
        self, reservation_id: str, cancelled_at: str, cancelled_by: str = OPEN_ACTOR
    ) -> None:
        """Mark a confirmed reservation cancelled (the caller checked it is). Returns
        nothing: journal replay cancels often and needs no Reservation value built."""
        self._cancelled_at[reservation_id] = self._cancellation(cancelled_at, cancelled_by)
        self._rows[reservation_id] |= _CANCELLED_BIT
        if self._held:
            self._held.discard(reservation_id)

    def confirm(self, reservation_id: str) -> None:
        """A hold becomes a confirmed reservation (the caller checked it is held)."""
        self._held.remove(reservation_id)

    def expire(self, reservation_id: str) -> None:
        """A hold's time ran out: its seats are free, its status `expired`."""
        self._held.remove(reservation_id)
        self._expired.add(reservation_id)
        self._rows[reservation_id] |= _CANCELLED_BIT

    # ------------------------------------------------------------------ packing

    def _partner_number(self, who: str | tuple[str, str]) -> int:
        number = self._partner_numbers.get(who)
        if number is None:
            number = self._partner_numbers[who] = len(self._partners)
            self._partners.append(who)
        return number

    def _cancellation(self, cancelled_at: str, cancelled_by: str) -> int:
        number = self._actor_numbers.get(cancelled_by)
        if number is None:
            number = self._actor_numbers[cancelled_by] = len(self._actors)
            self._actors.append(cancelled_by)
        return timestamps.from_text(cancelled_at) | (number << _ACTOR_SHIFT)

    def _unpack(
        self,
        reservation_id: str,
        row: int,
        cancelled_us: int | None,
        key: tuple[str, str | None] | None,
        mark: tuple[str | None, int | None] | None,
    ) -> Reservation:
        cancelled = bool(row & _CANCELLED_BIT) and cancelled_us is not None
        who = self._partners[row >> _PARTNER_SHIFT]
        partner_id, created_by = (who, OPEN_ACTOR) if type(who) is str else who
        status, expires = mark if mark else (None, None)
        return Reservation(
            reservation_id,
            self.event_id,
            partner_id,
            row & _SEATS_MASK,
            status or (CANCELLED if row & _CANCELLED_BIT else CONFIRMED),
            timestamps.to_text((row >> _TIME_SHIFT) & _TIME_MASK),
            timestamps.to_text(cancelled_us & _TIME_MASK) if cancelled else None,
            key[0] if key else None,
            key[1] if key else None,
            created_by,
            self._actors[cancelled_us >> _ACTOR_SHIFT] if cancelled else None,
            timestamps.to_text(expires) if expires is not None else None,
        )

    def _status_mark(self, reservation_id: str) -> tuple[str | None, int | None] | None:
        return _mark(reservation_id, self._held, self._expired, self._expires)


def _partner_id(who: str | tuple[str, str]) -> str:
    return who if type(who) is str else who[0]


def _mark(
    reservation_id: str, held: set[str], expired: set[str], expires: dict[str, int]
) -> tuple[str | None, int | None] | None:
    """(held, expired or None: read the row, expiry) of a hold; None for a reservation
    that never was one."""
    expiry = expires.get(reservation_id)
    if expiry is None:
        return None
    if reservation_id in held:
        return HELD, expiry
    return (EXPIRED if reservation_id in expired else None), expiry


def _positions_of_ids(
    order: list[str], window: Sequence[int], backwards: bool, ids: Container[str]
) -> Iterator[int]:
    """The positions in `window` (ascending) whose id is in `ids`, in page order.

    Each chunk is scanned in C (`map`, `compress`); between chunks the interpreter may
    hand the GIL to other threads. Unchunked, a 1M-row scan kept another thread waiting
    29 ms; in chunks, 6 to 7 ms (the 5 ms switch interval and one chunk).
    """
    bounds = range(0, len(window), _SCAN_CHUNK)
    for start in reversed(bounds) if backwards else bounds:
        chunk = window[start : start + _SCAN_CHUNK]
        if isinstance(chunk, range):  # an unfiltered window: the order list's own slice
            at = order[chunk.start : chunk.stop]
        else:
            at = list(map(order.__getitem__, chunk))
        if backwards:
            yield from compress(reversed(chunk), map(ids.__contains__, reversed(at)))
        else:
            yield from compress(chunk, map(ids.__contains__, at))
