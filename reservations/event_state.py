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
"""

from __future__ import annotations

import heapq

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
        "name",
        "next_expiry_us",
        "reservation_count",
        "reservations",
        "summary",
        "total_seats",
        "version",
    )

    def __init__(
        self,
        *,
        event_id: str,
        name: str,
        total_seats: int,
        version: int = 0,
        hold_seconds: int = DEFAULT_HOLD_SECONDS,
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
        self.summary = self._make_summary()

    # -- checks: raise on a refusal, change nothing

    def check_reserve(self, seats: int) -> None:
        if seats > self.available_seats:
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
        an expiry for each, then applies it). Called under the event's lock."""
        if self.next_expiry_us is None or self.next_expiry_us > now_us:
            return []
        held = self.reservations.is_held
        return [rid for expiry, rid in sorted(self._expiry_heap) if expiry <= now_us and held(rid)]

    def check_resize(self, total_seats: int) -> None:
        if total_seats < self.reserved_seats:
            raise ResizeBelowReserved(
                f"Cannot resize to {total_seats} seats: {self.reserved_seats} are reserved."
            )

    @property
    def reserved_seats(self) -> int:
        """Seats taken: confirmed and held (a resize may not go below them)."""
        return self.total_seats - self.available_seats

    # -- applies: called only after a check passed (or on replay of a stored change)

    def apply_reserve(self, reservation: Reservation) -> None:
        if reservation.reservation_id in self.reservations:
            raise StoreCorrupt(f"Reservation {reservation.reservation_id} is stored twice.")
        self.load_reservation(reservation)
        self.version += 1
        self._check_invariant()
        self.summary = self._make_summary()

    def apply_cancel(
        self, reservation_id: str, cancelled_at: str, cancelled_by: str = OPEN_ACTOR
    ) -> None:
        seats = self.check_cancel(reservation_id)
        was_held = self.reservations.is_held(reservation_id)
        self.reservations.cancel(reservation_id, cancelled_at, cancelled_by)
        self.available_seats += seats
        if was_held:
            self.held_seats -= seats
            self.hold_count -= 1
        else:
            self.reservation_count -= 1
        self._changed()

    def apply_confirm(self, reservation_id: str, idempotency_key: str | None = None) -> None:
        """Confirm a hold (`idempotency_key`: remember the key), or with a key only,
        on a reservation confirmed already, just remember the key (version unchanged)."""
        if idempotency_key is not None:
            self.confirm_keys[idempotency_key] = reservation_id
        if not self.check_confirm(reservation_id):
            if idempotency_key is not None:
                return
            raise StoreCorrupt(f"Reservation {reservation_id} is confirmed twice.")
        seats = self.reservations.active_seats(reservation_id) or 0
        self.reservations.confirm(reservation_id)
        self.held_seats -= seats
        self.hold_count -= 1
        self.reservation_count += 1
        self._changed()

    def apply_expire(self, reservation_id: str) -> None:
        if not self.reservations.is_held(reservation_id):
            raise StoreCorrupt(f"Reservation {reservation_id} expires but is not held.")
        seats = self.reservations.active_seats(reservation_id) or 0
        self.reservations.expire(reservation_id)
        self.available_seats += seats
        self.held_seats -= seats
        self.hold_count -= 1
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

    def load_reservation(self, reservation: Reservation) -> None:
        """Add a reservation from a snapshot (its seats already counted in the snapshot)."""
        self.reservations.add(reservation)
        if reservation.idempotency_key is not None:
            self.idempotency[reservation.idempotency_key] = reservation.reservation_id
        if reservation.is_confirmed:
            self.available_seats -= reservation.seats
            self.reservation_count += 1
        elif reservation.is_held:
            self.available_seats -= reservation.seats
            self.held_seats += reservation.seats
            self.hold_count += 1
            expires_us = self.reservations.expires_us(reservation.reservation_id)
            assert expires_us is not None  # the table refuses a hold without one
            heapq.heappush(self._expiry_heap, (expires_us, reservation.reservation_id))
            self._settle_heap()

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
        )
