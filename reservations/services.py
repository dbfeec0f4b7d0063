"""The one place reservations change: validate, then call the store.

Views and commands call these functions with keyword arguments; nothing here
knows about HTTP.
"""

from __future__ import annotations

import logging

from reservations import domain
from reservations.domain import Reservation, ReserveResult, Summary
from reservations.store.protocol import ReservationStore

log = logging.getLogger(__name__)


def reserve(
    *,
    store: ReservationStore,
    event_id: str,
    partner_id: str,
    seats: int,
    idempotency_key: str | None = None,
) -> ReserveResult:
    result = store.reserve(
        event_id=event_id,
        partner_id=domain.validate_partner_id(partner_id),
        seats=domain.validate_seats(seats),
        idempotency_key=domain.validate_idempotency_key(idempotency_key),
    )
    if not result.replayed:
        log.info(
            "reserved %s seats in %s as %s",
            result.reservation.seats,
            event_id,
            result.reservation.reservation_id,
        )
    return result


def cancel(*, store: ReservationStore, reservation_id: str) -> Reservation:
    reservation = store.cancel(reservation_id=reservation_id)
    log.info("cancelled %s in %s", reservation.reservation_id, reservation.event_id)
    return reservation


def ensure_event(*, store: ReservationStore, event_id: str, name: str, total_seats: int) -> Summary:
    return store.ensure_event(
        event_id=domain.validate_event_id(event_id),
        name=domain.validate_event_name(name),
        total_seats=domain.validate_total_seats(total_seats),
    )


def bootstrap_default_event(store: ReservationStore) -> None:
    """First start on an empty store: create the classic default event."""
    if not store.events():
        store.ensure_event(
            event_id=domain.DEFAULT_EVENT_ID,
            name=domain.DEFAULT_EVENT_NAME,
            total_seats=domain.DEFAULT_EVENT_SEATS,
        )
        log.info("created the default event %s", domain.DEFAULT_EVENT_ID)
