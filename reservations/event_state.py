"""One event's seats and reservations, and the rules that change them.

Plain Python (no Django). Stores keep one EventState per event; both live
writes and journal replay go through the same `check_*` / `apply_*` methods,
so a replayed store is exactly the store that answered.

Holds: a hold takes seats like a reservation until its expiry. The state counts
a hold as held until an `expire` change is applied; stores apply (and record)
every due expiry before they answer a read or check a write, using
`next_expiry_us` (a heap of expiries, so the check costs one peek) and
`due_holds`. Readers in other threads only peek; every change runs under the
event's lock.

Organizer figures (reservations.organizing) are kept by the same applies, so they
cost a dict lookup and a few counter updates per write: the sales window, each
partner's confirmed and held seats and allocation (`partners`), and seats sold per
minute (`minute_sales`: a reserve counts at its creation, a hold at its confirm, a
cancel of a confirmed one subtracts at its cancel). EventState is also what dumps
load into and what the db store imports.
"""

from __future__ import annotations

import heapq

from reservations import timestamps
from reservations.domain import (
    DEFAULT_HOLD_SECONDS,
    OPEN_ACTOR,
    HoldExpired,
    IdempotencyConflict,
    NotEnoughSeats,
    Reservation,
    ReservationNotFound,
    ResizeBelowReserved,
    StoreCorrupt,
    Summary,
    seat_invariant_problems,
)
from reservations.organizing import (
    ALWAYS_OPEN,
    EventStats,
    MinuteSales,
    PageQuery,
    PageRow,
    PartnerFigures,
    SalesWindow,
)
from reservations.reservation_table import ReservationTable


class EventState:
    __slots__ = (
        "_expiry_heap",
        "available_seats",
        "confirm_keys",
        "event_id",
        "held_seats",
        "hold_count",
        "hold_seconds",
        "idempotency",
        "minute_sales",
        "name",
        "next_expiry_us",
        "partners",
        "reservation_count",
        "reservations",
        "summary",
        "total_seats",
        "version",
        "window",
    )

    def __init__(
        self,
        *,
        event_id: str,
        name: str,
        total_seats: int,
        version: int = 0,
        hold_seconds: int = DEFAULT_HOLD_SECONDS,
        window: SalesWindow = ALWAYS_OPEN,
    ) -> None:
        self.event_id = event_id
        self.name = name
        self.total_seats = total_seats
        self.available_seats = total_seats
        self.reservation_count = 0
        self.held_seats = 0
        self.hold_count = 0
        self.hold_seconds = hold_seconds
        self._expiry_heap: list[tuple[int, str]] = []  # (expiry us, id); settled ones too
        # The heap's first expiry, or None: one attribute, so a reader in another thread
        # reads it whole while a writer reorders the heap (it only grows between writes).
        self.next_expiry_us: int | None = None
        self.version = version
        self.reservations = ReservationTable(event_id)
        self.idempotency: dict[str, str] = {}  # Idempotency-Key -> reservation id
        self.confirm_keys: dict[str, str] = {}  # a confirm's Idempotency-Key -> its id
        self.window = window
        # Every partner with a reservation (any status) or an allocation in this event.
        self.partners: dict[str, PartnerFigures] = {}
        self.minute_sales = MinuteSales()
        self.summary = self._make_summary()

    # -- checks: raise on a refusal, change nothing

    def check_reserve(self, seats: int) -> None:
        if seats > self.available_seats:
            raise NotEnoughSeats()

    def check_take(
        self,
        *,
        partner_id: str,
        seats: int,
        now_us: int,
        staged_seats: int = 0,
        staged_partner_seats: int = 0,
    ) -> None:
        """A new reserve or hold, in the contract's order: the sales window (SalesNotOpen),
        the partner's allocation (AllocationExhausted), then seats (NotEnoughSeats).
        `staged_*`: what the same batch already took, overall and by this partner."""
        self.window.check(now_us)
        figures = self.partners.get(partner_id)
        if figures is not None:
            figures.check_room(staged_partner_seats + seats)
        if staged_seats + seats > self.available_seats:
            raise NotEnoughSeats()

    def find_replay(self, *, idempotency_key: str | None, fingerprint: str) -> Reservation | None:
        """The earlier reservation made with this key, or None; 422 on a different body."""
        if idempotency_key is None:
            return None
        reservation_id = self.idempotency.get(idempotency_key)
        if reservation_id is None:
            if idempotency_key in self.confirm_keys:
                raise IdempotencyConflict()
            return None
        if self.reservations.fingerprint(reservation_id) != fingerprint:
            raise IdempotencyConflict()
        return self.reservations[reservation_id]

    def confirm_replay(self, idempotency_key: str | None, reservation_id: str) -> bool:
        """True when this key already confirmed this reservation (answer as the first
        time, whatever happened since); 422 when the key was used for anything else."""
        if idempotency_key is None:
            return False
        earlier = self.confirm_keys.get(idempotency_key)
        if earlier is not None and earlier != reservation_id:
            raise IdempotencyConflict()
        if earlier is None and idempotency_key in self.idempotency:
            raise IdempotencyConflict()
        return earlier is not None

    def check_cancel(self, reservation_id: str) -> int:
        """The seats a cancel (or a hold's release) would free; ReservationNotFound unless
        it is confirmed or held."""
        seats = self.reservations.active_seats(reservation_id)
        if seats is None:
            raise ReservationNotFound()
        return seats

    def check_confirm(self, reservation_id: str) -> bool:
        """True when confirming changes something (a hold); False when it is confirmed
        already. HoldExpired for an expired hold, ReservationNotFound for an unknown or
        cancelled one. Due expiries must be applied first (the store does)."""
        table = self.reservations
        if table.is_held(reservation_id):
            return True
        if table.is_expired(reservation_id):
            raise HoldExpired()
        if table.confirmed_seats(reservation_id) is None:
            raise ReservationNotFound()
        return False

    def due_holds(self, now_us: int) -> list[str]:
        """Holds expired by `now_us`, oldest first (nothing changes: the caller records
        an expiry for each, then applies it). Called under the event's lock.

        Visits only the heap's entries due by `now_us` (a child is never due before its
        parent), not the whole heap: on a busy on-sale the heap holds every hold of the
        last holdSeconds, and this runs before nearly every batch once they expire
        (sorting all 600,000 took 45 ms each time).
        """
        if self.next_expiry_us is None or self.next_expiry_us > now_us:
            return []
        heap, held = self._expiry_heap, self.reservations.is_held
        due: list[tuple[int, str]] = []
        stack = [0]
        while stack:
            index = stack.pop()
            if index < len(heap) and heap[index][0] <= now_us:
                due.append(heap[index])
                stack += (2 * index + 1, 2 * index + 2)
        return [rid for _expiry, rid in sorted(due) if held(rid)]

    def check_resize(self, total_seats: int, *, explain: bool = False) -> None:
        """ResizeBelowReserved below confirmed plus held seats; the contract's sentence,
        or with `explain` one naming the figures (for an operator's command)."""
        if total_seats < self.reserved_seats:
            raise ResizeBelowReserved(
                f"Cannot resize to {total_seats} seats: {self.reserved_seats} are reserved."
                if explain
                else None
            )

    @property
    def reserved_seats(self) -> int:
        """Seats taken: confirmed and held (a resize may not go below them)."""
        return self.total_seats - self.available_seats

    # -- applies: called only after a check passed (or on replay of a stored change)

    def apply_reserve(self, reservation: Reservation) -> None:
        if reservation.reservation_id in self.reservations:
            raise StoreCorrupt(f"Reservation {reservation.reservation_id} is stored twice.")
        created_us = self.load_reservation(reservation)
        if reservation.is_confirmed:
            self.minute_sales.add(created_us, reservation.seats)
        self.version += 1
        self._check_invariant()
        self.summary = self._make_summary()

    def apply_cancel(
        self, reservation_id: str, cancelled_at: str, cancelled_by: str = OPEN_ACTOR
    ) -> None:
        seats = self.check_cancel(reservation_id)
        table = self.reservations
        was_held = table.is_held(reservation_id)
        figures = self.partners[table.partner_of(reservation_id)]
        table.cancel(reservation_id, cancelled_at, cancelled_by)
        self.available_seats += seats
        if was_held:
            self.held_seats -= seats
            self.hold_count -= 1
            figures.held_seats -= seats
            figures.hold_count -= 1
        else:
            self.reservation_count -= 1
            figures.confirmed_seats -= seats
            figures.confirmed_count -= 1
            self.minute_sales.add(timestamps.from_text(cancelled_at), -seats)
        self._changed()

    def apply_confirm(
        self, reservation_id: str, idempotency_key: str | None = None, at_us: int | None = None
    ) -> None:
        """Confirm a hold (`idempotency_key`: remember the key), or with a key only,
        on a reservation confirmed already, just remember the key (version unchanged).
        `at_us`: when it was confirmed (its minute of sales); None for records from
        before confirms carried their time: the hold's creation then."""
        if idempotency_key is not None:
            self.confirm_keys[idempotency_key] = reservation_id
        if not self.check_confirm(reservation_id):
            if idempotency_key is not None:
                return
            raise StoreCorrupt(f"Reservation {reservation_id} is confirmed twice.")
        table = self.reservations
        seats = table.active_seats(reservation_id) or 0
        table.confirm(reservation_id)
        self.held_seats -= seats
        self.hold_count -= 1
        self.reservation_count += 1
        figures = self.partners[table.partner_of(reservation_id)]
        figures.held_seats -= seats
        figures.hold_count -= 1
        figures.confirmed_seats += seats
        figures.confirmed_count += 1
        self.minute_sales.add(table.created_us(reservation_id) if at_us is None else at_us, seats)
        self._changed()

    def apply_expire(self, reservation_id: str) -> None:
        if not self.reservations.is_held(reservation_id):
            raise StoreCorrupt(f"Reservation {reservation_id} expires but is not held.")
        seats = self.reservations.active_seats(reservation_id) or 0
        figures = self.partners[self.reservations.partner_of(reservation_id)]
        self.reservations.expire(reservation_id)
        self.available_seats += seats
        self.held_seats -= seats
        self.hold_count -= 1
        figures.held_seats -= seats
        figures.hold_count -= 1
        self._changed()

    def apply_resize(self, *, total_seats: int, name: str, hold_seconds: int | None = None) -> None:
        if total_seats != self.total_seats:
            self.check_resize(total_seats)
            self.available_seats += total_seats - self.total_seats
            self.total_seats = total_seats
            self.version += 1
        if hold_seconds is not None:
            self.hold_seconds = hold_seconds
        self.name = name
        self._check_invariant()
        self.summary = self._make_summary()

    def apply_settings(
        self,
        *,
        name: str | None = None,
        total_seats: int | None = None,
        hold_seconds: int | None = None,
        window: SalesWindow | None = None,
    ) -> None:
        """An organizer's change (None: unchanged). Only a change of seats is a new
        version (CONTRACT.md: version counts changes to seats)."""
        if total_seats is not None and total_seats != self.total_seats:
            self.check_resize(total_seats)
            self.available_seats += total_seats - self.total_seats
            self.total_seats = total_seats
            self.version += 1
        if name is not None:
            self.name = name
        if hold_seconds is not None:
            self.hold_seconds = hold_seconds
        if window is not None:
            self.window = window
        self._check_invariant()
        self.summary = self._make_summary()

    def apply_allocation(self, partner_id: str, seats: int | None) -> None:
        """Cap (or with None uncap) a partner's confirmed plus held seats. Takes nothing
        away: a cap below what the partner holds only refuses more."""
        figures = self.partners.get(partner_id)
        if figures is None:
            if seats is None:
                return
            figures = self.partners[partner_id] = PartnerFigures(partner_id)
        figures.allocation = seats
        if figures.is_blank and not self.reservations.knows_partner(partner_id):
            del self.partners[partner_id]

    def stats(self) -> EventStats:
        """Copies of the kept figures: O(partners + minutes), no scan of reservations.
        Call it where no writer runs (under the event's lock)."""
        return EventStats(
            summary=self.summary,
            partners=[figures.copy() for figures in self.partners.values()],
            per_minute=self.minute_sales.as_list(),
        )

    def page(self, query: PageQuery) -> list[PageRow]:
        rows = self.reservations.page(
            partner_id=query.partner_id,
            status=query.status,
            after=query.after,
            before=query.before,
            limit=query.limit,
        )
        return [PageRow(position, reservation) for position, reservation in rows]

    def rebuild_minute_sales(self) -> None:
        """Seats sold per minute for data stored before they were kept: each confirmed
        reservation at its creation, and a cancelled one that never was a hold counted
        at its creation and taken off at its cancel. A confirm's own time is not in the
        reservations, so a confirmed hold counts at its creation. The running total
        still ends at reservedSeats."""
        sales = MinuteSales()
        for reservation in self.reservations.values():
            if reservation.is_confirmed:
                sales.add(timestamps.from_text(reservation.created_at), reservation.seats)
            elif reservation.cancelled_at is not None and reservation.expires_at is None:
                sales.add(timestamps.from_text(reservation.created_at), reservation.seats)
                sales.add(timestamps.from_text(reservation.cancelled_at), -reservation.seats)
        self.minute_sales = sales

    def load_reservation(self, reservation: Reservation) -> int:
        """Add a reservation from a snapshot or a dump (its seats counted here; its
        minute of sales comes with the snapshot). Returns its creation time (us)."""
        created_us = self.reservations.add(reservation)
        if reservation.idempotency_key is not None:
            self.idempotency[reservation.idempotency_key] = reservation.reservation_id
        figures = self.partners.get(reservation.partner_id)
        if figures is None:
            figures = self.partners[reservation.partner_id] = PartnerFigures(reservation.partner_id)
        if reservation.is_confirmed:
            self.available_seats -= reservation.seats
            self.reservation_count += 1
            figures.confirmed_seats += reservation.seats
            figures.confirmed_count += 1
        elif reservation.is_held:
            self.available_seats -= reservation.seats
            self.held_seats += reservation.seats
            self.hold_count += 1
            figures.held_seats += reservation.seats
            figures.hold_count += 1
            expires_us = self.reservations.expires_us(reservation.reservation_id)
            assert expires_us is not None  # the table refuses a hold without one
            heapq.heappush(self._expiry_heap, (expires_us, reservation.reservation_id))
            self._settle_heap()
        return created_us

    def finish_load(self) -> None:
        self._check_invariant()
        self.summary = self._make_summary()

    def invariant_problems(self) -> list[str]:
        """Every way this state breaks the seat invariants (empty when sound)."""
        confirmed_count, confirmed_seats = self.reservations.confirmed_totals()
        held_count, held_seats = self.reservations.held_totals()
        problems = seat_invariant_problems(
            event_id=self.event_id,
            total_seats=self.total_seats,
            available_seats=self.available_seats,
            reservation_count=self.reservation_count,
            confirmed_seats=confirmed_seats,
            confirmed_count=confirmed_count,
            held_seats=held_seats,
            held_count=held_count,
            hold_count=self.hold_count,
        )
        if self.held_seats != held_seats:
            problems.append(
                f"event {self.event_id}: heldSeats {self.held_seats} != {held_seats} held seats"
            )
        return problems + self.figure_problems(confirmed_seats)

    def figure_problems(self, confirmed_seats: int) -> list[str]:
        """Organizer figures that disagree with the reservations. An allocation below
        what a partner holds is no problem: it may be lowered after the seats were
        taken, and it is enforced when seats are taken."""
        problems = []
        counted = self.reservations.partner_totals()
        for partner_id in sorted(set(counted) | set(self.partners)):
            figures = self.partners.get(partner_id, PartnerFigures(partner_id))
            kept = [
                figures.confirmed_seats,
                figures.confirmed_count,
                figures.held_seats,
                figures.hold_count,
            ]
            if partner_id in counted and kept != counted[partner_id]:
                problems.append(
                    f"event {self.event_id}: partner {partner_id!r} figures "
                    f"(confirmed seats, count, held seats, count) {kept} != "
                    f"{counted[partner_id]} from its reservations"
                )
            elif partner_id not in counted and any(kept):
                problems.append(
                    f"event {self.event_id}: partner {partner_id!r} has figures {kept} "
                    "but no reservations"
                )
        sold = self.minute_sales.total
        if sold != confirmed_seats:
            problems.append(
                f"event {self.event_id}: seats sold per minute add up to {sold}, "
                f"but {confirmed_seats} seats are confirmed"
            )
        if any(seats == 0 for seats in self.minute_sales.seats_by_minute.values()):
            problems.append(f"event {self.event_id}: a minute of sales holds 0 seats")
        return problems

    def _settle_heap(self) -> None:
        """Drop confirmed, released and expired holds off the top of the expiry heap."""
        heap, held = self._expiry_heap, self.reservations.is_held
        while heap and not held(heap[0][1]):
            heapq.heappop(heap)
        self.next_expiry_us = heap[0][0] if heap else None

    def _changed(self) -> None:
        if self._expiry_heap:
            self._settle_heap()
        self.version += 1
        self._check_invariant()
        self.summary = self._make_summary()

    def _check_invariant(self) -> None:
        if not 0 <= self.available_seats <= self.total_seats:
            raise StoreCorrupt(
                f"Event {self.event_id} would have {self.available_seats} of "
                f"{self.total_seats} seats available."
            )

    def _make_summary(self) -> Summary:
        return Summary(
            event_id=self.event_id,
            name=self.name,
            total_seats=self.total_seats,
            available_seats=self.available_seats,
            reservation_count=self.reservation_count,
            version=self.version,
            held_seats=self.held_seats,
            hold_count=self.hold_count,
            hold_seconds=self.hold_seconds,
            sales_open_us=self.window.open_us,
            sales_close_us=self.window.close_us,
        )
