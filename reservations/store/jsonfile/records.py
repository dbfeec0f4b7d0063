"""Self-checking JSON Lines records for the journal.

Each record is one line of compact JSON whose last member is `"crc"`: the
CRC-32 of the line's bytes without that member. A line that does not parse or
fails its check is a torn write when it is the last one, and corruption
anywhere else (etcd's WAL and Redis's AOF make the same distinction).
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson

from reservations.domain import CANCELLED, OPEN_ACTOR, Reservation

_CRC_MARK = b',"crc":'


def encode_record(record: dict[str, Any]) -> bytes:
    """One journal line, newline included."""
    body = orjson.dumps(record)
    crc = zlib.crc32(body)
    return b"%s%s%d}\n" % (body[:-1], _CRC_MARK, crc)


def decode_record(line: bytes) -> dict[str, Any] | None:
    """The record on `line` (without its newline), or None when it fails its check."""
    mark = line.rfind(_CRC_MARK)
    if mark < 0 or not line.endswith(b"}"):
        return None
    body = line[:mark] + b"}"
    try:
        crc = int(line[mark + len(_CRC_MARK) : -1])
    except ValueError:
        return None
    if zlib.crc32(body) != crc:
        return None
    try:
        record = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return record if isinstance(record, dict) else None


def reservation_to_json(reservation: Reservation) -> dict[str, Any]:
    """The stored shape of a reservation (camelCase, like the API)."""
    data: dict[str, Any] = {
        "reservationId": reservation.reservation_id,
        "partnerId": reservation.partner_id,
        "seats": reservation.seats,
        "status": reservation.status,
        "createdAt": reservation.created_at,
        "cancelledAt": reservation.cancelled_at,
    }
    if reservation.idempotency_key is not None:
        data["idempotencyKey"] = reservation.idempotency_key
        data["fingerprint"] = reservation.fingerprint
    # Actors other than "open" only: records from open mode keep their old shape.
    if reservation.created_by != OPEN_ACTOR:
        data["createdBy"] = reservation.created_by
    if reservation.cancelled_by not in (None, OPEN_ACTOR):
        data["cancelledBy"] = reservation.cancelled_by
    if reservation.expires_at is not None:  # holds only
        data["expiresAt"] = reservation.expires_at
    return data


# Positional arguments build a Reservation about a quarter faster than keywords,
# which a restart does a million times at 1M stored; this check ties the order below
# to the tuple's fields, so a change to its fields fails at import instead of silently.
_FIELD_ORDER = (
    "reservation_id",
    "event_id",
    "partner_id",
    "seats",
    "status",
    "created_at",
    "cancelled_at",
    "idempotency_key",
    "fingerprint",
    "created_by",
    "cancelled_by",
    "expires_at",
)
if Reservation._fields != _FIELD_ORDER:
    raise ImportError("Reservation's fields changed: update records.reservation_from_json.")


def reservation_from_json(event_id: str, data: dict[str, Any]) -> Reservation:
    get = data.get
    status = data["status"]
    return Reservation(
        data["reservationId"],
        event_id,
        data["partnerId"],
        data["seats"],
        status,
        data["createdAt"],
        get("cancelledAt"),
        get("idempotencyKey"),
        get("fingerprint"),
        get("createdBy", OPEN_ACTOR),
        get("cancelledBy") or (OPEN_ACTOR if status == CANCELLED else None),
        get("expiresAt"),
    )
