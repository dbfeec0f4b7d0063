"""One event's seats and reservations, and the rules that change them.

Plain Python (no Django). Stores keep one EventState per event; both live
writes and journal replay go through the same `check_*` / `apply_*` methods,
so a replayed store is exactly the store that answered.
"""

from __future__ import annotations

from reservations.domain import (
    OPEN_ACTOR,
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
        "available_seats",
        "event_id",
        "idempotency",
        "name",
        "reservation_count",
        "reservations",
        "summary",
        "total_seats",
        "version",
    )

    def __init__(self, *, event_id: str, name: str, total_seats: int, version: int = 0) -> None:
        self.event_id = event_id
        self.name = name
        self.total_seats = total_seats
        self.available_seats = total_seats
        self.reservation_count = 0
        self.version = version
        self.reservations = ReservationTable(event_id)
        self.idempotency: dict[str, str] = {}  # Idempotency-Key -> reservation id
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
            return None
        if self.reservations.fingerprint(reservation_id) != fingerprint:
            raise IdempotencyConflict()
        return self.reservations[reservation_id]

    def check_cancel(self, reservation_id: str) -> int:
        """The seats a cancel would free; ReservationNotFound unless it is confirmed."""
        seats = self.reservations.confirmed_seats(reservation_id)
        if seats is None:
            raise ReservationNotFound()
        return seats

    def check_resize(self, total_seats: int) -> None:
        if total_seats < self.reserved_seats:
            raise ResizeBelowReserved(
                f"Cannot resize to {total_seats} seats: {self.reserved_seats} are reserved."
            )

    @property
    def reserved_seats(self) -> int:
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
        self.reservations.cancel(reservation_id, cancelled_at, cancelled_by)
        self.available_seats += seats
        self.reservation_count -= 1
        self.version += 1
        self._check_invariant()
        self.summary = self._make_summary()

    def apply_resize(self, *, total_seats: int, name: str) -> None:
        if total_seats != self.total_seats:
            self.check_resize(total_seats)
            self.available_seats += total_seats - self.total_seats
            self.total_seats = total_seats
            self.version += 1
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

    def finish_load(self) -> None:
        self._check_invariant()
        self.summary = self._make_summary()

    def invariant_problems(self) -> list[str]:
        """Every way this state breaks the seat invariants (empty when sound)."""
        confirmed_count, confirmed_seats = self.reservations.confirmed_totals()
        return seat_invariant_problems(
            event_id=self.event_id,
            total_seats=self.total_seats,
            available_seats=self.available_seats,
            reservation_count=self.reservation_count,
            confirmed_seats=confirmed_seats,
            confirmed_count=confirmed_count,
        )

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
        )
