"""What organizers read from the `db` store: pages of reservations and stats.

Pages are keyset pages by the row's auto id (it only grows), so they never show a row
twice or skip one while writes arrive. Stats read only the counter rows (one per
partner, one per minute with sales): O(partners + minutes), never the reservations.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from reservations import models
from reservations.domain import EXPIRED, HELD
from reservations.organizing import EventStats, MinuteSales, PageQuery, PageRow, PartnerFigures
from reservations.store.orm_rows import to_reservation, to_summary, to_time


def page(using: str, query: PageQuery, now_us: int) -> list[PageRow]:
    """One page, oldest first; statuses as a reader sees them at `now_us`."""
    rows = models.Reservation.objects.using(using).filter(event_id=query.event_id)
    if query.partner_id is not None:
        rows = rows.filter(partner_id=query.partner_id)
    if query.status is not None:
        rows = rows.filter(_status_as_of(query.status, to_time(now_us)))
    if query.after is not None:
        rows = rows.filter(id__gt=query.after)
    if query.before is not None:
        found = list(rows.filter(id__lt=query.before).order_by("-id")[: query.limit])
        found.reverse()
    else:
        found = list(rows.order_by("id")[: query.limit])
    return [PageRow(row.id, to_reservation(row, now_us=now_us)) for row in found]


def stats_of(using: str, row: models.Event) -> EventStats:
    figures = models.PartnerFigures.objects.using(using).filter(event_id=row.event_id)
    partners = [
        PartnerFigures(
            partner_id=item.partner_id,
            confirmed_seats=item.confirmed_seats,
            confirmed_count=item.confirmed_count,
            held_seats=item.held_seats,
            hold_count=item.hold_count,
            allocation=item.allocation,
        )
        for item in figures.order_by("partner_id")
    ]
    sales = MinuteSales()
    minutes = models.MinuteSales.objects.using(using).filter(event_id=row.event_id)
    for minute_us, seats in minutes.exclude(seats=0).values_list("minute_us", "seats"):
        sales.add(minute_us, seats)
    return EventStats(summary=to_summary(row), partners=partners, per_minute=sales.as_list())


def _status_as_of(status: str, now: Any) -> Q:
    """Rows a reader sees in `status` now: a hold past its expiresAt is expired."""
    if status == HELD:
        return Q(status=HELD, expires_at__gt=now)
    if status == EXPIRED:
        return Q(status=EXPIRED) | Q(status=HELD, expires_at__lte=now)
    return Q(status=status)
