"""manage.py issue_key PARTNER_ID: print a new API key for the partner, once."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reservations.domain import DomainError
from reservations.store import build_directory


class Command(BaseCommand):
    help = (
        "Issue a new API key for a partner. The key alone goes to stdout (KEY=$(...) works); "
        "only its hash is kept, so it cannot be shown again: after this it is known by its "
        "prefix."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("partner_id", help="a partner registered with create_partner")

    def handle(self, *args, partner_id: str, **options) -> None:
        directory = build_directory()
        try:
            issued = directory.issue_key(partner_id=partner_id)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        finally:
            directory.close()
        self.stdout.write(issued.key)
        self.stderr.write(
            f"issued key {issued.record.prefix} for {partner_id}: give it to the partner now; "
            "it is not stored and cannot be shown again."
        )
