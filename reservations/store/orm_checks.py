"""check_store for the `db` store: every stored counter against the rows it counts."""

from __future__ import annotations

from django.db.models import Count, Min, Sum, Value

from reservations import models
from reservations.domain import CANCELLED, CONFIRMED, EXPIRED, HELD, seat_invariant_problems
from reservations.store import orm_counters


def store_problems(using: str) -> list[str]:
    """Seats, holds, next expiry, window, figures and minute sales of every event
    against its reservations (empty when sound). Due holds are expired first."""
    reservations = models.Reservation.objects.using(using)
    booked = {
        (item["event_id"], item["status"]): item
        for item in reservations.filter(status__in=(CONFIRMED, HELD))
        .values("event_id", "status")
        .annotate(seats=Sum("seats"), count=Count("id"), first=Min("expires_at"))
    }
    problems = []
    for row in models.Event.objects.using(using).order_by("event_id"):
        confirmed = booked.get((row.event_id, CONFIRMED), {})
        held = booked.get((row.event_id, HELD), {})
        problems += seat_invariant_problems(
            event_id=row.event_id,
            total_seats=row.total_seats,
            available_seats=row.available_seats,
            reservation_count=row.reservation_count,
            confirmed_seats=confirmed.get("seats") or 0,
            confirmed_count=confirmed.get("count") or 0,
            held_seats=held.get("seats") or 0,
            held_count=held.get("count") or 0,
            hold_count=row.hold_count,
        )
        if row.held_seats != (held.get("seats") or 0):
            problems.append(
                f"event {row.event_id}: heldSeats {row.held_seats} != "
                f"{held.get('seats') or 0} held seats"
            )
        first = held.get("first")
        if first is not None and (row.next_expiry is None or row.next_expiry > first):
            problems.append(
                f"event {row.event_id}: next expiry {row.next_expiry} is after a held "
                f"reservation's expiry {first}"
            )
        opens, closes = row.sales_open_at, row.sales_close_at
        if opens is not None and closes is not None and closes <= opens:
            problems.append(f"event {row.event_id}: sales close before they open")
        problems += _counter_problems(using, row.event_id)
    bad_status = reservations.exclude(status__in=(CONFIRMED, CANCELLED, HELD, EXPIRED)).count()
    if bad_status:
        problems.append(f"{bad_status} reservations have an unknown status")
    no_expiry = reservations.filter(status__in=(HELD, EXPIRED), expires_at=None).count()
    if no_expiry:
        problems.append(f"{no_expiry} holds have no expiresAt")
    return problems


def _counter_problems(using: str, event_id: str) -> list[str]:
    """Figures and minute sales of one event against its reservations (check_store)."""
    problems = []
    expected: dict[str, list[int]] = {}
    rows = (
        models.Reservation.objects.using(using)
        .filter(event_id=event_id, status__in=(CONFIRMED, HELD))
        .values("partner_id", "status")
        .annotate(seats=Sum("seats"), count=Sum(Value(1)))
    )
    for item in rows:
        figures = expected.setdefault(item["partner_id"], [0, 0, 0, 0])
        at = 0 if item["status"] == CONFIRMED else 2
        figures[at], figures[at + 1] = item["seats"], item["count"]
    stored = models.PartnerFigures.objects.using(using).filter(event_id=event_id)
    seen = set()
    for row in stored:
        seen.add(row.partner_id)
        have = [getattr(row, name) for name in orm_counters.FIGURE_COLUMNS]
        want = expected.get(row.partner_id, [0, 0, 0, 0])
        if have != want:
            problems.append(
                f"event {event_id}: partner {row.partner_id!r} figures {have} != {want} "
                "from its reservations"
            )
        taken = row.confirmed_seats + row.held_seats
        cap = None if row.allocation is None else max(row.allocation, taken)
        if row.cap != cap:
            problems.append(f"event {event_id}: partner {row.partner_id!r} cap {row.cap} != {cap}")
    for partner_id in sorted(set(expected) - seen):
        problems.append(f"event {event_id}: partner {partner_id!r} has no figures row")
    sold = (
        models.MinuteSales.objects.using(using)
        .filter(event_id=event_id)
        .aggregate(total=Sum("seats"))["total"]
        or 0
    )
    confirmed = sum(item[0] for item in expected.values())
    if sold != confirmed:
        problems.append(
            f"event {event_id}: seats sold per minute add up to {sold}, not {confirmed}"
        )
    return problems
