"""Whole events into the `db` store (import_store): rows exactly as the dump had them.

The caller runs this in one transaction for all events (all or nothing). Figures are
counted from the reservations themselves (so they agree with them by construction),
allocations and sales per minute come from the state.
"""

from __future__ import annotations

from reservations import models, timestamps
from reservations.domain import CONFIRMED, HELD
from reservations.event_state import EventState
from reservations.organizing import SalesWindow
from reservations.store import orm_counters
from reservations.store.orm_rows import to_row, to_time

BATCH = 2000


def load_event(using: str, state: EventState) -> None:
    """Insert one event, its reservations, confirm keys and counters; ValueError when
    the event exists already. Holds already due expire at the next look."""
    events = models.Event.objects.using(using)
    if events.filter(pk=state.event_id).exists():
        raise ValueError(f"event {state.event_id} already exists in the database")
    window = getattr(state, "window", None) or SalesWindow()
    first_expiry = min(
        (
            timestamps.from_text(item.expires_at)
            for item in state.reservations.values()
            if item.status == HELD and item.expires_at
        ),
        default=None,
    )
    models.Event(
        event_id=state.event_id,
        name=state.name,
        total_seats=state.total_seats,
        available_seats=state.available_seats,
        reservation_count=state.reservation_count,
        held_seats=state.held_seats,
        hold_count=state.hold_count,
        hold_seconds=state.hold_seconds,
        next_expiry=to_time(first_expiry),
        sales_open_at=to_time(window.open_us),
        sales_close_at=to_time(window.close_us),
        version=state.version,
    ).save(using=using, force_insert=True)
    models.Reservation.objects.using(using).bulk_create(
        (to_row(item) for item in state.reservations.values()), batch_size=BATCH
    )
    models.ConfirmKey.objects.using(using).bulk_create(
        models.ConfirmKey(event_id=state.event_id, key=key, reservation_id=rid)
        for key, rid in state.confirm_keys.items()
    )
    _load_counters(using, state)


def _load_counters(using: str, state: EventState) -> None:
    """Figures from the reservations (a row for every partner with a reservation or an
    allocation), and the state's sales per minute (or, from a state without them, each
    confirmed one in the minute it was made)."""
    figures: orm_counters.FigureChanges = {}
    minutes: orm_counters.MinuteChanges = {}
    every = list(state.reservations.values())
    orm_counters.count_new(
        (item for item in every if item.status in (CONFIRMED, HELD)), figures, minutes
    )
    for item in every:  # a partner whose reservations all ended still has its row
        figures.setdefault((state.event_id, item.partner_id), [0, 0, 0, 0])
    sales = getattr(state, "minute_sales", None)
    if sales is not None:
        minutes = {
            (state.event_id, minute): seats for minute, seats in sales.seats_by_minute.items()
        }
    allocations = {
        partner_id: item.allocation
        for partner_id, item in (getattr(state, "partners", None) or {}).items()
    }
    for partner_id in allocations:
        figures.setdefault((state.event_id, partner_id), [0, 0, 0, 0])
    models.PartnerFigures.objects.using(using).bulk_create(
        models.PartnerFigures(
            event_id=event_id,
            partner_id=partner_id,
            confirmed_seats=counts[0],
            confirmed_count=counts[1],
            held_seats=counts[2],
            hold_count=counts[3],
            allocation=allocations.get(partner_id),
            cap=(
                None
                if allocations.get(partner_id) is None
                else max(allocations[partner_id], counts[0] + counts[2])  # type: ignore[type-var]
            ),
        )
        for (event_id, partner_id), counts in sorted(figures.items())
    )
    models.MinuteSales.objects.using(using).bulk_create(
        models.MinuteSales(event_id=event_id, minute_us=minute, seats=seats)
        for (event_id, minute), seats in sorted(minutes.items())
        if seats
    )
