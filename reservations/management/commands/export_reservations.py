"""manage.py export_reservations [EVENT_ID] [--output FILE]: reservations as CSV."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reservations.csv_export import write_csv
from reservations.domain import DomainError
from reservations.store import build_store


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
                    count = write_csv(stream, store.reservations(event_id=event_id))
                self.stderr.write(f"wrote {count} reservations to {output}")
            else:
                self.stdout.ending = ""  # csv writes its own line endings
                write_csv(self.stdout, store.reservations(event_id=event_id))
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        finally:
            store.close()
