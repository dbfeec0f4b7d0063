"""Rows of the `db` store's tables <-> the domain's values (shared by its modules)."""

from __future__ import annotations

from datetime import datetime

from reservations import models, timestamps
from reservations.domain import Reservation, Summary


def to_summary(row: models.Event) -> Summary:
    return Summary(
        event_id=row.event_id,
        name=row.name,
        total_seats=row.total_seats,
        available_seats=row.available_seats,
        reservation_count=row.reservation_count,
        version=row.version,
    )


def to_reservation(row: models.Reservation) -> Reservation:
    return Reservation(
        reservation_id=str(row.reservation_id),
        event_id=row.event_id,
        partner_id=row.partner_id,
        seats=row.seats,
        status=row.status,
        created_at=format_time(row.created_at),
        cancelled_at=format_time(row.cancelled_at) if row.cancelled_at else None,
        idempotency_key=row.idempotency_key,
        fingerprint=row.fingerprint,
        created_by=row.created_by,
        cancelled_by=row.cancelled_by,
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
    )


def parse_time(text: str) -> datetime:
    return timestamps.to_datetime(timestamps.from_text(text))


def format_time(value: datetime) -> str:
    """The domain's text form (utc_now_iso): milliseconds, or microseconds when present."""
    return timestamps.to_text(timestamps.from_datetime(value))
