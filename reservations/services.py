"""The one place reservations change: validate, then call the store.

Views and commands call these functions with keyword arguments; nothing here
knows about HTTP.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

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
    actor: str = domain.OPEN_ACTOR,
) -> ReserveResult:
    result = store.reserve(
        event_id=event_id,
        partner_id=domain.validate_partner_id(partner_id),
        seats=domain.validate_seats(seats),
        idempotency_key=domain.validate_idempotency_key(idempotency_key),
        actor=actor,
    )
    if not result.replayed:
        log.info(
            "reserved %s seats in %s as %s",
            result.reservation.seats,
            event_id,
            result.reservation.reservation_id,
        )
    return result


def hold(
    *,
    store: ReservationStore,
    event_id: str,
    partner_id: str,
    seats: int,
    hold_seconds: int | None = None,
    idempotency_key: str | None = None,
    actor: str = domain.OPEN_ACTOR,
) -> ReserveResult:
    """Hold seats until expiresAt (`hold_seconds` from now, default the event's)."""
    result = store.hold(
        event_id=event_id,
        partner_id=domain.validate_partner_id(partner_id),
        seats=domain.validate_seats(seats),
        hold_seconds=(None if hold_seconds is None else validate_hold_seconds(hold_seconds)),
        idempotency_key=domain.validate_idempotency_key(idempotency_key),
        actor=actor,
    )
    if not result.replayed:
        log.info(
            "held %s seats in %s as %s until %s",
            result.reservation.seats,
            event_id,
            result.reservation.reservation_id,
            result.reservation.expires_at,
        )
    return result


def confirm(
    *,
    store: ReservationStore,
    reservation_id: str,
    actor: str = domain.OPEN_ACTOR,
    owner: str | None = None,
    idempotency_key: str | None = None,
) -> Reservation:
    """Confirm a hold; with `owner` only that partner's (another's fails as unknown).
    A confirmed reservation answers itself again; an expired hold is HoldExpired."""
    idempotency_key = domain.validate_idempotency_key(idempotency_key)
    if owner is not None:
        get_reservation(store=store, reservation_id=reservation_id, owner=owner)
    reservation = store.confirm(
        reservation_id=reservation_id, actor=actor, idempotency_key=idempotency_key
    )
    log.info("confirmed %s in %s", reservation.reservation_id, reservation.event_id)
    return reservation


def validate_hold_seconds(value: object) -> int:
    """holdSeconds from TICKETBOSS_HOLD_MIN_SECONDS to 3600."""
    return domain.validate_hold_seconds(value, minimum=settings.TICKETBOSS_HOLD_MIN_SECONDS)


def cancel(
    *,
    store: ReservationStore,
    reservation_id: str,
    actor: str = domain.OPEN_ACTOR,
    owner: str | None = None,
) -> Reservation:
    """Cancel; with `owner` (a partner's own scope) only that partner's reservation.

    Another partner's id fails exactly as an unknown one. Checking the owner before
    cancelling is race-free: a reservation's partner never changes.
    """
    if owner is not None:
        get_reservation(store=store, reservation_id=reservation_id, owner=owner)
    reservation = store.cancel(reservation_id=reservation_id, actor=actor)
    log.info("cancelled %s in %s", reservation.reservation_id, reservation.event_id)
    return reservation


def get_reservation(
    *, store: ReservationStore, reservation_id: str, owner: str | None = None
) -> Reservation:
    """One reservation; with `owner`, ReservationNotFound unless it is that partner's."""
    reservation = store.get_reservation(reservation_id=reservation_id)
    if owner is not None and reservation.partner_id != owner:
        raise domain.ReservationNotFound()
    return reservation


def ensure_event(
    *,
    store: ReservationStore,
    event_id: str,
    name: str,
    total_seats: int,
    hold_seconds: int | None = None,
) -> Summary:
    """Create or resize an event; `hold_seconds` sets its default hold (None: keep it)."""
    fields = {
        "event_id": domain.validate_event_id(event_id),
        "name": domain.validate_event_name(name),
        "total_seats": domain.validate_total_seats(total_seats),
    }
    if hold_seconds is not None:
        fields["hold_seconds"] = validate_hold_seconds(hold_seconds)
    return store.ensure_event(**fields)


def default_event_id() -> str:
    """The event the classic endpoints (`/reservations`) act on: TICKETBOSS_DEFAULT_EVENT."""
    event_id = settings.TICKETBOSS_DEFAULT_EVENT
    if not domain.is_valid_event_id(event_id):
        raise ImproperlyConfigured(
            f"TICKETBOSS_DEFAULT_EVENT={event_id!r} is not an event id (1 to 64 lowercase "
            "letters, digits, '-' or '_', starting with a letter or digit)."
        )
    return event_id


def missing_default_event(event_id: str) -> domain.EventNotFound:
    """The 404 for a default event the store lacks: which one, and how to make it."""
    return domain.EventNotFound(
        f"The default event {event_id} does not exist: create it with "
        f"`python manage.py seed_event {event_id} --name NAME --seats N`, "
        "or set TICKETBOSS_DEFAULT_EVENT to an event that exists."
    )


def default_event_summary(*, store: ReservationStore) -> Summary:
    """`GET /reservations`: the default event's summary, or the 404 that explains it."""
    event_id = default_event_id()
    try:
        return store.summary(event_id=event_id)
    except domain.EventNotFound:
        raise missing_default_event(event_id) from None


def bootstrap_default_event(store: ReservationStore, *, event_id: str | None = None) -> None:
    """First start on an empty store: create the default event (TICKETBOSS_DEFAULT_EVENT,
    unless `event_id` is given) with the classic name and seats. A store that holds any
    event is left alone: an operator seeds the events they want (`manage.py seed_event`)."""
    event_id = event_id or default_event_id()
    if not store.events():
        store.ensure_event(
            event_id=event_id,
            name=domain.DEFAULT_EVENT_NAME,
            total_seats=domain.DEFAULT_EVENT_SEATS,
        )
        log.info("created the default event %s", event_id)
