"""Rows of the `db` store's tables <-> the domain's values (shared by its modules)."""

from __future__ import annotations

from datetime import datetime

from reservations import models, timestamps
from reservations.domain import EXPIRED, HELD, Reservation, Summary


def to_summary(row: models.Event) -> Summary:
    return Summary(
        event_id=row.event_id,
        name=row.name,
        total_seats=row.total_seats,
        available_seats=row.available_seats,
        reservation_count=row.reservation_count,
        version=row.version,
        held_seats=row.held_seats,
        hold_count=row.hold_count,
        hold_seconds=row.hold_seconds,
        sales_open_us=to_us(row.sales_open_at),
        sales_close_us=to_us(row.sales_close_at),
    )


def to_reservation(row: models.Reservation, *, now_us: int | None = None) -> Reservation:
    """The row as a reservation; with `now_us`, a hold whose expiry has come shows as
    expired (a reader between the expiry and its recording still sees the truth)."""
    status = row.status
    if now_us is not None and status == HELD and to_us(row.expires_at) <= now_us:  # type: ignore[operator]
        status = EXPIRED
    return Reservation(
        reservation_id=str(row.reservation_id),
        event_id=row.event_id,
        partner_id=row.partner_id,
        seats=row.seats,
        status=status,
        created_at=format_time(row.created_at),
        cancelled_at=format_time(row.cancelled_at) if row.cancelled_at else None,
        idempotency_key=row.idempotency_key,
        fingerprint=row.fingerprint,
        created_by=row.created_by,
        cancelled_by=row.cancelled_by,
        expires_at=format_time(row.expires_at) if row.expires_at else None,
    )


def to_row(reservation: Reservation) -> models.Reservation:
    return models.Reservation(
        reservation_id=reservation.reservation_id,
        event_id=reservation.event_id,
        partner_id=reservation.partner_id,
        seats=reservation.seats,
        status=reservation.status,
        created_at=parse_time(reservation.created_at),
        cancelled_at=parse_time(reservation.cancelled_at) if reservation.cancelled_at else None,
        idempotency_key=reservation.idempotency_key,
        fingerprint=reservation.fingerprint,
        created_by=reservation.created_by,
        cancelled_by=reservation.cancelled_by,
        expires_at=parse_time(reservation.expires_at) if reservation.expires_at else None,
    )


def parse_time(text: str) -> datetime:
    return timestamps.to_datetime(timestamps.from_text(text))


def format_time(value: datetime) -> str:
    """The domain's text form (utc_now_iso): milliseconds, or microseconds when present."""
    return timestamps.to_text(timestamps.from_datetime(value))


def to_us(value: datetime | None) -> int | None:
    return None if value is None else timestamps.from_datetime(value)


def to_time(us: int | None) -> datetime | None:
    return None if us is None else timestamps.to_datetime(us)
