"""What organizers do (CONTRACT.md "Events and partners"): validate, then call the store
or the partner directory. Nothing here knows about HTTP.

Every function validates its whole input before it calls the store, and the store
either applies a change whole or raises, so a refused request changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from reservations import domain, organizing
from reservations.domain import Reservation, Summary
from reservations.organizing import (
    UNSET,
    EventChanges,
    EventStats,
    NewEvent,
    PageQuery,
    PageRow,
    _Unset,
)
from reservations.partners import ApiKeyRecord, IssuedKey, Partner, PartnerDirectory
from reservations.services import validate_hold_seconds
from reservations.store.protocol import ReservationStore

log = logging.getLogger(__name__)
T = TypeVar("T")

EXPORT_PAGE_ROWS = organizing.PAGE_LIMIT_MAX


@dataclass(frozen=True, slots=True)
class Allocation:
    event_id: str
    partner_id: str
    seats: int | None  # None: no limit

    def as_dict(self) -> dict[str, object]:
        return {"eventId": self.event_id, "partnerId": self.partner_id, "seats": self.seats}


# ---------------------------------------------------------------------- events


def create_event(
    *,
    store: ReservationStore,
    event_id: str,
    name: str,
    total_seats: int,
    hold_seconds: int | None = None,
    sales_open_us: int | None = None,
    sales_close_us: int | None = None,
) -> Summary:
    """A new event (EventExists when the id is taken); hold_seconds None: the default."""
    window = organizing.SalesWindow(sales_open_us, sales_close_us)
    organizing.check_window_order(window)
    event = NewEvent(
        event_id=domain.validate_event_id(event_id),
        name=domain.validate_event_name(name),
        total_seats=domain.validate_total_seats(total_seats),
        hold_seconds=None if hold_seconds is None else validate_hold_seconds(hold_seconds),
        window=window,
    )
    summary = store.create_event(event=event)
    log.info("created event %s with %s seats", event.event_id, event.total_seats)
    return summary


def update_event(*, store: ReservationStore, event_id: str, changes: EventChanges) -> Summary:
    """Apply every field the change sets, at once; an empty change is refused."""
    fields = (
        changes.name,
        changes.total_seats,
        changes.hold_seconds,
        changes.sales_open_us,
        changes.sales_close_us,
    )
    if all(value is UNSET for value in fields):
        raise domain.InvalidRequest(
            "Send at least one of name, totalSeats, holdSeconds, salesOpenAt, salesCloseAt."
        )
    checked = EventChanges(
        name=_unless_unset(changes.name, domain.validate_event_name),
        total_seats=_unless_unset(changes.total_seats, domain.validate_total_seats),
        hold_seconds=_unless_unset(changes.hold_seconds, validate_hold_seconds),
        sales_open_us=changes.sales_open_us,
        sales_close_us=changes.sales_close_us,
    )
    # Both window sides sent: check them here; one side: the store checks it against the
    # other, under its lock.
    if changes.sales_open_us is not UNSET and changes.sales_close_us is not UNSET:
        organizing.check_window_order(
            organizing.SalesWindow(changes.sales_open_us, changes.sales_close_us)  # type: ignore[arg-type]
        )
    summary = store.update_event(event_id=event_id, changes=checked)
    log.info("changed event %s", event_id)
    return summary


def set_allocation(
    *,
    store: ReservationStore,
    event_id: str,
    partner_id: str,
    seats: int | None,
    directory: PartnerDirectory | None = None,
) -> Allocation:
    """Cap (or, with None, uncap) a partner's seats in an event. With a `directory`
    (keys mode) the partner must be registered in it: UnknownPartner otherwise."""
    partner_id = domain.validate_partner_id(partner_id)
    seats = organizing.validate_allocation(seats)
    if directory is not None and all(p.partner_id != partner_id for p in directory.partners()):
        raise organizing.UnknownPartner(partner_id)
    store.set_allocation(event_id=event_id, partner_id=partner_id, seats=seats)
    log.info("allocation of %s in %s set to %s", partner_id, event_id, seats)
    return Allocation(event_id=event_id, partner_id=partner_id, seats=seats)


def _unless_unset(value: T | _Unset, check: Callable[[T], T]) -> T | _Unset:
    return value if isinstance(value, _Unset) else check(value)


# ---------------------------------------------------------------------- reading


def list_reservations(
    *,
    store: ReservationStore,
    event_id: str,
    partner_id: str | None = None,
    status: str | None = None,
    after: int | None = None,
    before: int | None = None,
    limit: int = organizing.PAGE_LIMIT_DEFAULT,
) -> list[PageRow]:
    """One page of the event's reservations, oldest first (organizing.PageQuery)."""
    query = PageQuery(
        event_id=event_id,
        partner_id=None if partner_id is None else domain.validate_partner_id(partner_id),
        status=organizing.validate_status_filter(status),
        after=after,
        before=before,
        limit=limit,
    )
    return store.list_reservations(query=query)


def event_stats(*, store: ReservationStore, event_id: str) -> EventStats:
    return store.stats(event_id=event_id)


def export_reservations(*, store: ReservationStore, event_id: str) -> Iterator[Reservation]:
    """Every reservation of the event, oldest first, page by page (memory stays bounded
    however many there are). The first page is read at once, so an unknown event
    raises EventNotFound here, before a caller starts streaming an answer."""
    first = store.list_reservations(query=PageQuery(event_id=event_id, limit=EXPORT_PAGE_ROWS))
    return _pages_from(store, event_id, first)


def _pages_from(
    store: ReservationStore, event_id: str, rows: list[PageRow]
) -> Iterator[Reservation]:
    while rows:
        for row in rows:
            yield row.reservation
        if len(rows) < EXPORT_PAGE_ROWS:
            return
        query = PageQuery(event_id=event_id, after=rows[-1].position, limit=EXPORT_PAGE_ROWS)
        rows = store.list_reservations(query=query)


# ---------------------------------------------------------------------- partners


def partners(*, directory: PartnerDirectory) -> list[Partner]:
    return directory.partners()


def create_partner(*, directory: PartnerDirectory, partner_id: str, name: str | None) -> Partner:
    """Register a partner (PartnerExists when taken); its name defaults to its id."""
    partner_id = domain.validate_partner_id(partner_id)
    name = partner_id if name is None else domain.validate_event_name(name)  # the same rule
    partner = directory.create_partner(partner_id=partner_id, name=name)
    log.info("registered partner %s", partner.partner_id)
    return partner


def issue_key(*, directory: PartnerDirectory, partner_id: str) -> IssuedKey:
    """A new key for the partner (PartnerNotFound when unknown); the caller shows it once."""
    issued = directory.issue_key(partner_id=partner_id)
    log.info("issued key %s for %s", issued.record.prefix, partner_id)  # the prefix only
    return issued


def revoke_key(*, directory: PartnerDirectory, prefix: str) -> ApiKeyRecord:
    """Revoke at once (KeyNotFound when no key has this prefix)."""
    record = directory.revoke_key(prefix=prefix)
    log.info("revoked key %s of %s", record.prefix, record.partner_id)
    return record
