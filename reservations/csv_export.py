"""Reservations as CSV: one format for `manage.py export_reservations` and
`GET /events/{eventId}/export.csv`.

Cells that a spreadsheet would run as a formula (a partnerId may be any text,
such as `=HYPERLINK(...)`) get a leading apostrophe, as OWASP advises for CSV
meant to be opened in Excel or LibreOffice; no other value is changed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import TextIO

from reservations.domain import Reservation

COLUMNS = [
    "reservationId",
    "eventId",
    "partnerId",
    "seats",
    "status",
    "createdAt",
    "cancelledAt",
    "createdBy",  # who made and cancelled it (CONTRACT.md "Access"): for organizers
    "cancelledBy",
]
CONTENT_TYPE = "text/csv; charset=utf-8"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def row_of(reservation: Reservation) -> list[str | int]:
    r = reservation
    return [
        _cell(r.reservation_id),
        _cell(r.event_id),
        _cell(r.partner_id),
        r.seats,
        r.status,
        r.created_at,
        r.cancelled_at or "",
        _cell(r.created_by),
        _cell(r.cancelled_by or ""),
    ]


def write_csv(stream: TextIO, reservations: Iterable[Reservation]) -> int:
    """The header and one row per reservation; how many rows were written."""
    count = 0

    def counted() -> Iterator[Reservation]:
        nonlocal count
        for reservation in reservations:
            count += 1
            yield reservation

    for chunk in csv_chunks(counted()):
        stream.write(chunk)
    return count


def csv_chunks(reservations: Iterable[Reservation], *, rows_per_chunk: int = 500) -> Iterator[str]:
    """The same CSV as `write_csv`, as text chunks for a streamed answer."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    pending = 1
    for reservation in reservations:
        writer.writerow(row_of(reservation))
        pending += 1
        if pending >= rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue()


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value
