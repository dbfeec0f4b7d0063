"""manage.py create_partner PARTNER_ID [--name NAME]: register a partner (keys mode)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reservations.domain import DomainError
from reservations.store import build_directory


class Command(BaseCommand):
    help = "Register a partner that books with API keys; then `issue_key` gives it a key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("partner_id", help="the partnerId its reservations carry")
        parser.add_argument("--name", help="name shown to organizers (default: the id)")

    def handle(self, *args, partner_id: str, name: str | None, **options) -> None:
        directory = build_directory()
        try:
            partner = directory.create_partner(partner_id=partner_id, name=name or partner_id)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        finally:
            directory.close()
        self.stdout.write(
            self.style.SUCCESS(f"registered partner {partner.partner_id} ({partner.name})")
        )
