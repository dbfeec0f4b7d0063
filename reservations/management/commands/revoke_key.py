"""manage.py revoke_key KEY_PREFIX: refuse a key from now on, on every worker and node."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reservations.domain import DomainError
from reservations.store import build_directory


class Command(BaseCommand):
    help = (
        "Revoke a key by its prefix (list_partners shows them). Every worker refuses it at "
        "once (JSON store) or within a second (db store)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix", help="the 8 letters or digits after tb_")

    def handle(self, *args, prefix: str, **options) -> None:
        directory = build_directory()
        try:
            record = directory.revoke_key(prefix=prefix)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        finally:
            directory.close()
        self.stdout.write(
            self.style.SUCCESS(
                f"key {record.prefix} of {record.partner_id} revoked at {record.revoked_at}"
            )
        )
