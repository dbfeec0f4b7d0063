"""manage.py list_partners: partners and their key prefixes (never the keys)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from reservations.domain import DomainError
from reservations.store import build_directory


class Command(BaseCommand):
    help = "List partners and their keys by prefix, with when each was issued or revoked."

    def handle(self, *args, **options) -> None:
        directory = build_directory()
        try:
            partners = directory.partners()
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        finally:
            directory.close()
        for partner in partners:
            self.stdout.write(f"{partner.partner_id} ({partner.name}), since {partner.created_at}")
            for key in partner.keys:
                state = f"revoked {key.revoked_at}" if key.revoked_at else "active"
                self.stdout.write(f"  key {key.prefix}  issued {key.created_at}  {state}")
            if not partner.keys:
                self.stdout.write("  no keys")
        self.stdout.write(f"{len(partners)} partners")
