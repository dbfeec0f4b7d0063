"""manage.py seed_event EVENT_ID --name NAME --seats N [--hold-seconds S]: create or
resize an event, and set how long its holds last by default."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reservations import services
from reservations.domain import DomainError
from reservations.store import get_store


class Command(BaseCommand):
    help = "Create an event, or rename/resize it (never below its reserved seats)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("event_id", help="slug such as summer-fest-2026")
        parser.add_argument("--name", required=True, help="name shown to people")
        parser.add_argument("--seats", type=int, required=True, help="total seats")
        parser.add_argument(
            "--hold-seconds",
            type=int,
            default=None,
            help="default holdSeconds of a hold in this event (600 unless set)",
        )

    def handle(
        self,
        *args,
        event_id: str,
        name: str,
        seats: int,
        hold_seconds: int | None = None,
        **options,
    ) -> None:
        try:
            summary = services.ensure_event(
                store=get_store(),
                event_id=event_id,
                name=name,
                total_seats=seats,
                hold_seconds=hold_seconds,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"{summary.event_id} ({summary.name}): {summary.available_seats} of "
                f"{summary.total_seats} seats available, version {summary.version}"
            )
        )
