"""manage.py import_store FILE: load an export_store dump into the configured store."""

from __future__ import annotations

from pathlib import Path

import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser

from reservations.domain import DomainError
from reservations.store import build_directory, build_store
from reservations.store.transfer import (
    DumpError,
    existing_event_ids,
    load_events,
    partners_from_dump,
    states_from_dump,
)


class Command(BaseCommand):
    help = (
        "Load a dump written by export_store into the store TICKETBOSS_STORE selects. "
        "Every event is checked first; none may exist in the target yet. "
        "All events are loaded, or none."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="dump written by export_store")

    def handle(self, *args, file: str, **options) -> None:
        try:
            document = orjson.loads(Path(file).read_bytes())
            states = states_from_dump(document)
            partners = partners_from_dump(document)
        except (OSError, orjson.JSONDecodeError, DumpError) as exc:
            raise CommandError(f"{file}: {exc}") from exc
        store = build_store()  # not get_store(): the default event must come from the dump
        directory = build_directory()
        try:
            clashes = existing_event_ids(store, states)
            if clashes:
                raise CommandError(
                    f"nothing imported: these events already exist: {', '.join(clashes)}"
                )
            known = {item.partner_id for item in directory.partners()}
            taken = sorted(item.partner_id for item in partners if item.partner_id in known)
            if taken:
                raise CommandError(
                    f"nothing imported: these partners already exist: {', '.join(taken)}"
                )
            try:
                load_events(store, states)
            except (DomainError, OSError, ValueError) as exc:
                raise CommandError(f"nothing imported: {_reason(exc)}") from exc
            try:
                directory.load(partners)  # one atomic write (json) or transaction (db)
            except (DomainError, OSError, ValueError) as exc:
                raise CommandError(
                    f"events imported, partners not: {_reason(exc)}; add them with "
                    "create_partner and issue_key"
                ) from exc
            for state in states:
                self.stdout.write(
                    f"{state.event_id}: {len(state.reservations)} reservations, "
                    f"{state.available_seats}/{state.total_seats} available, "
                    f"version {state.version}"
                )
            problems = store.verify()
        except (DomainError, DumpError) as exc:
            raise CommandError(getattr(exc, "message", str(exc))) from exc
        finally:
            store.close()
            directory.close()
        if problems:
            raise CommandError("imported, but the store fails its checks: " + "; ".join(problems))
        self.stdout.write(
            self.style.SUCCESS(
                f"imported {len(states)} events and {len(partners)} partners from {file}"
            )
        )


def _reason(exc: Exception) -> str:
    return getattr(exc, "message", None) or str(exc)
