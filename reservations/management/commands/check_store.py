"""manage.py check_store: verify files parse and invariants hold (exit 0 when sound)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from reservations.domain import StoreCorrupt, StoreUnavailable
from reservations.store import build_directory, build_store


class Command(BaseCommand):
    help = "Verify the store: every file parses, every record checks, every invariant holds."

    def handle(self, *args, **options) -> None:
        try:
            store = build_store()
        except (StoreCorrupt, StoreUnavailable) as exc:
            raise CommandError(exc.message) from exc
        try:
            verify = getattr(store, "verify_with_warnings", None)
            problems, warnings = verify() if verify else (store.verify(), [])
            summaries = store.events()
            directory = build_directory()
            try:
                problems += directory.verify()  # partners and key hashes (keys mode)
                partners = len(directory.partners()) if not problems else 0
            finally:
                directory.close()
        except (StoreCorrupt, StoreUnavailable) as exc:
            raise CommandError(exc.message) from exc
        finally:
            store.close()
        for warning in warnings:
            self.stderr.write(self.style.WARNING(f"warning: {warning}"))
        if problems:
            for problem in problems:
                self.stderr.write(self.style.ERROR(problem))
            raise CommandError(f"store is NOT sound: {len(problems)} problem(s) found.")
        for summary in summaries:
            self.stdout.write(
                f"{summary.event_id}: {summary.available_seats}/{summary.total_seats} available, "
                f"{summary.reservation_count} confirmed reservations, version {summary.version}"
            )
        self.stdout.write(f"partner directory: {partners} partners")
        self.stdout.write(self.style.SUCCESS(f"store is sound ({len(summaries)} events)."))
