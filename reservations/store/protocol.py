"""The one storage protocol every TicketBoss backend implements.

Services call only these methods. Each write method either makes its change
durable (fsync'd or committed) before returning, or raises and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from reservations.domain import OPEN_ACTOR, Reservation, ReserveResult, Summary
from reservations.organizing import EventChanges, EventStats, NewEvent, PageQuery, PageRow


@runtime_checkable
class ReservationStore(Protocol):
    def ensure_event(self, *, event_id: str, name: str, total_seats: int) -> Summary:
        """Create the event, or rename/resize it (never below its reserved seats)."""

    def reserve(
        self,
        *,
        event_id: str,
        partner_id: str,
        seats: int,
        idempotency_key: str | None = None,
        actor: str = OPEN_ACTOR,
    ) -> ReserveResult:
        """Hold `seats` for the partner, or raise NotEnoughSeats / EventNotFound /
        IdempotencyConflict / StoreUnavailable. A key seen before with the same
        body returns the first reservation with `replayed=True`. `actor` (who asked,
        see reservations.access) is stored as the reservation's `created_by`."""

    def cancel(self, *, reservation_id: str, actor: str = OPEN_ACTOR) -> Reservation:
        """Cancel a confirmed reservation, or raise ReservationNotFound; `actor` is
        stored as its `cancelled_by`."""

    def get_reservation(self, *, reservation_id: str) -> Reservation:
        """Any reservation, confirmed or cancelled, or raise ReservationNotFound."""

    def summary(self, *, event_id: str) -> Summary:
        """The event's current seat summary, reflecting every acknowledged write."""

    def events(self) -> list[Summary]:
        """Summaries of all events, ordered by event id."""

    def reservations(self, *, event_id: str | None = None) -> Iterator[Reservation]:
        """Every reservation (of one event, or of all), oldest first per event."""

    def event_contents(self, *, event_id: str) -> tuple[Summary, list[Reservation]]:
        """The event's summary and every reservation of it as of one instant, even
        while writes go on (exports and backups); EventNotFound when unknown."""

    def wait_for_change(self, *, since: object, timeout: float) -> object:
        """Block until any event changed after stamp `since` (from any worker or
        node) or `timeout` seconds pass; return the current stamp. `since=None`
        returns the current stamp at once. Used by the live stream's watcher."""

    def verify(self) -> list[str]:
        """Re-read the stored data and list every problem found (empty when sound)."""

    def close(self) -> None:
        """Release files, locks and connections."""

    def before_stop(self) -> None:
        """The process is about to stop (it may still finish requests in flight): from
        now on make every change known to other processes as it commits, and anything
        committed but not yet announced at once, so their live streams do not wait for
        their own timeout to see it."""

    # -- holds (CONTRACT.md "Holds")

    def hold(
        self,
        *,
        event_id: str,
        partner_id: str,
        seats: int,
        hold_seconds: int | None = None,
        idempotency_key: str | None = None,
        actor: str = OPEN_ACTOR,
    ) -> ReserveResult:
        """As reserve, but the reservation is `held` until its expiresAt (`hold_seconds`
        from now; None: the event's holdSeconds), then `expired` with its seats free."""

    def confirm(
        self,
        *,
        reservation_id: str,
        actor: str = OPEN_ACTOR,
        idempotency_key: str | None = None,
    ) -> Reservation:
        """Confirm a hold (a confirmed reservation answers itself again); HoldExpired
        once its expiresAt has come, ReservationNotFound when unknown or cancelled.
        A key that confirmed this id before answers it again whatever happened since;
        a key used for another id, or for a reserve or hold, is IdempotencyConflict."""

    # -- organizers (CONTRACT.md "Events and partners"). Reserve and hold also refuse,
    # atomically with the seat check, outside the event's sales window (SalesNotOpen)
    # and past the partner's allocation (AllocationExhausted).

    def create_event(self, *, event: NewEvent) -> Summary:
        """Create the event, or raise EventExists (nothing changes)."""

    def update_event(self, *, event_id: str, changes: EventChanges) -> Summary:
        """Apply the set fields at once; EventNotFound, ResizeBelowReserved (below
        confirmed plus held seats), InvalidRequest for a window closing before it opens.
        A change of seats grows `version` by 1; other fields change no seats."""

    def set_allocation(self, *, event_id: str, partner_id: str, seats: int | None) -> None:
        """Cap the partner's confirmed plus held seats in the event (None: no cap);
        EventNotFound. Whether the partner must be registered is the caller's rule."""

    def list_reservations(self, *, query: PageQuery) -> list[PageRow]:
        """One page (PageQuery), oldest first; EventNotFound. Statuses as a reader sees
        them now (a hold past its expiresAt is `expired`)."""

    def stats(self, *, event_id: str) -> EventStats:
        """Per-partner figures and seats sold per minute, from counters every write
        keeps (O(minutes + partners), never a scan of reservations); EventNotFound."""
