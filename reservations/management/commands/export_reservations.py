"""manage.py export_reservations [EVENT_ID] [--output FILE]: reservations as CSV."""

from __future__ import annotations

import csv
from typing import TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reservations.domain import DomainError
from reservations.store import build_store

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


class Command(BaseCommand):
    help = "Write reservations (of one event, or all) as CSV to stdout or a file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("event_id", nargs="?", help="only this event (default: all)")
        parser.add_argument("--output", "-o", help="file to write (default: stdout)")

    def handle(self, *args, event_id: str | None, output: str | None, **options) -> None:
        store = build_store()
        try:
            if output:
                with open(output, "w", newline="", encoding="utf-8") as stream:
                    count = self._write(stream, store, event_id)
                self.stderr.write(f"wrote {count} reservations to {output}")
            else:
                self.stdout.ending = ""  # csv writes its own line endings
                self._write(self.stdout, store, event_id)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        finally:
            store.close()

    @staticmethod
    def _write(stream: TextIO, store, event_id: str | None) -> int:
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        count = 0
        for r in store.reservations(event_id=event_id):
            writer.writerow(
                [
                    r.reservation_id,
                    r.event_id,
                    r.partner_id,
                    r.seats,
                    r.status,
                    r.created_at,
                    r.cancelled_at or "",
                    r.created_by,
                    r.cancelled_by or "",
                ]
            )
            count += 1
        return count
