"""The `db` store's counters beside the seats: per-partner figures, per-minute sales, and
the expiry of due holds. Every function runs inside the caller's transaction, which
holds the event's row lock (lock order everywhere: event row, then its reservations and
counter rows), so counters change in the same transaction as the seats they count.

Increases go through one INSERT ... ON CONFLICT DO UPDATE per table and batch (the same
text on PostgreSQL and SQLite); the figures row's CHECK (taken seats <= cap) refuses a
partner past its allocation, rolling the whole transaction back. Decreases recompute
the cap as GREATEST(allocation, seats still taken): an allocation lowered below what a
partner holds takes nothing away, and the cap falls back to the allocation as seats
are given back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connections
from django.db.models import Case, F, Min, Value, When
from django.db.models.functions import Greatest

from reservations import models, timestamps
from reservations.domain import CONFIRMED, EXPIRED, HELD, Reservation
from reservations.organizing import MINUTE_US
from reservations.store.orm_rows import to_time

# (event, partner) -> [confirmed seats, confirmed count, held seats, hold count]
FigureChanges = dict[tuple[str, str], list[int]]
# (event, minute start in us) -> net seats sold
MinuteChanges = dict[tuple[str, int], int]

FIGURE_COLUMNS = ("confirmed_seats", "confirmed_count", "held_seats", "hold_count")
_FIGURES = models.PartnerFigures._meta.db_table
_MINUTES = models.MinuteSales._meta.db_table
# What an increase does to an existing row (here, and in the prepared batch statements).
FIGURES_ON_CONFLICT = "ON CONFLICT (event_id, partner_id) DO UPDATE SET " + ", ".join(
    f"{c} = {_FIGURES}.{c} + excluded.{c}" for c in FIGURE_COLUMNS
)
MINUTES_ON_CONFLICT = (
    f"ON CONFLICT (event_id, minute_us) DO UPDATE SET seats = {_MINUTES}.seats + excluded.seats"
)


def minute_of(us: int) -> int:
    return us - us % MINUTE_US


def count_new(
    accepted: Iterable[Reservation], figures: FigureChanges, minutes: MinuteChanges
) -> None:
    """Add new reservations (confirmed, or held) to the changes a batch will write."""
    for item in accepted:
        row = figures.setdefault((item.event_id, item.partner_id), [0, 0, 0, 0])
        if item.status == CONFIRMED:
            row[0] += item.seats
            row[1] += 1
            key = (item.event_id, minute_of(timestamps.from_text(item.created_at)))
            minutes[key] = minutes.get(key, 0) + item.seats
        else:
            row[2] += item.seats
            row[3] += 1


def figures_upsert(figures: FigureChanges) -> tuple[str, list[Any]]:
    """One statement adding `figures` (increases only: the cap is left as it is), rows in
    (event, partner) order so two batches lock them in one order."""
    keys = sorted(figures)
    params: list[Any] = []
    for event_id, partner_id in keys:
        params += [event_id, partner_id, *figures[(event_id, partner_id)]]
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(keys))
    text = (
        f"INSERT INTO {_FIGURES} (event_id, partner_id, {', '.join(FIGURE_COLUMNS)}) "
        f"VALUES {values} {FIGURES_ON_CONFLICT}"
    )
    return text, params


def minutes_upsert(minutes: MinuteChanges) -> tuple[str, list[Any]]:
    """One statement adding `minutes` to the per-minute sales."""
    keys = sorted(minutes)
    params: list[Any] = []
    for event_id, minute in keys:
        params += [event_id, minute, minutes[(event_id, minute)]]
    values = ", ".join(["(%s, %s, %s)"] * len(keys))
    text = (
        f"INSERT INTO {_MINUTES} (event_id, minute_us, seats) VALUES {values} {MINUTES_ON_CONFLICT}"
    )
    return text, params


def upserts(figures: FigureChanges, minutes: MinuteChanges) -> list[tuple[str, list[Any]]]:
    """The statements (text, parameters) adding both, for those with something to add."""
    statements = []
    if figures:
        statements.append(figures_upsert(figures))
    if minutes:
        statements.append(minutes_upsert(minutes))
    return statements


def add_counts(using: str, figures: FigureChanges, minutes: MinuteChanges) -> None:
    """Run the upserts in the caller's transaction."""
    with connections[using].cursor() as cursor:
        for text, params in upserts(figures, minutes):
            cursor.execute(text, params)


def give_back(
    using: str,
    event_id: str,
    partner_id: str,
    *,
    confirmed_seats: int = 0,
    confirmed_count: int = 0,
    held_seats: int = 0,
    hold_count: int = 0,
) -> None:
    """Change one partner's figures without raising its taken seats (cancel, release,
    expiry, or a hold confirmed), and let its cap fall back towards the allocation."""
    assert confirmed_seats + held_seats <= 0, "only decreases of taken seats come here"
    taken_after = F("confirmed_seats") + confirmed_seats + F("held_seats") + held_seats
    models.PartnerFigures.objects.using(using).filter(
        event_id=event_id, partner_id=partner_id
    ).update(
        confirmed_seats=F("confirmed_seats") + confirmed_seats,
        confirmed_count=F("confirmed_count") + confirmed_count,
        held_seats=F("held_seats") + held_seats,
        hold_count=F("hold_count") + hold_count,
        cap=Case(
            When(allocation__isnull=True, then=Value(None)),
            default=Greatest(F("allocation"), taken_after),
        ),
    )


def set_allocation(using: str, event_id: str, partner_id: str, seats: int | None) -> None:
    """Set (or with None remove) the partner's allocation; its cap is the allocation, or
    the seats it already takes when those are more. A partner without reservations
    whose allocation is removed has no figures left."""
    rows = models.PartnerFigures.objects.using(using)
    row = rows.filter(event_id=event_id, partner_id=partner_id).first()
    if row is None:
        if seats is None:
            return
        row = models.PartnerFigures(event_id=event_id, partner_id=partner_id)
    elif seats is None and not _has_reservations(using, event_id, partner_id):
        row.delete(using=using)  # stats list partners with a reservation or an allocation
        return
    row.allocation = seats
    row.cap = None if seats is None else max(seats, row.confirmed_seats + row.held_seats)
    row.save(using=using)


def _has_reservations(using: str, event_id: str, partner_id: str) -> bool:
    rows = models.Reservation.objects.using(using)
    return rows.filter(event_id=event_id, partner_id=partner_id).exists()


def add_minute(using: str, event_id: str, at_us: int, seats: int) -> None:
    add_counts(using, {}, {(event_id, minute_of(at_us)): seats})


def expire_due(using: str, event_id: str, now_us: int) -> int:
    """Expire the event's holds due by `now_us` (seats free, version +1 each), and set
    its next_expiry exactly; the number expired. Caller holds the event's row lock."""
    reservations = models.Reservation.objects.using(using)
    due = list(
        reservations.filter(
            event_id=event_id, status=HELD, expires_at__lte=to_time(now_us)
        ).values_list("id", "partner_id", "seats")
    )
    seats = sum(item[2] for item in due)
    if due:
        reservations.filter(id__in=[item[0] for item in due]).update(status=EXPIRED)
        per_partner: dict[str, list[int]] = {}
        for _id, partner_id, held in due:
            figures = per_partner.setdefault(partner_id, [0, 0])
            figures[0] += held
            figures[1] += 1
        for partner_id, (held, count) in sorted(per_partner.items()):
            give_back(using, event_id, partner_id, held_seats=-held, hold_count=-count)
    next_expiry = reservations.filter(event_id=event_id, status=HELD).aggregate(
        at=Min("expires_at")
    )["at"]
    models.Event.objects.using(using).filter(pk=event_id).update(
        available_seats=F("available_seats") + seats,
        held_seats=F("held_seats") - seats,
        hold_count=F("hold_count") - len(due),
        version=F("version") + len(due),
        next_expiry=next_expiry,
    )
    return len(due)
