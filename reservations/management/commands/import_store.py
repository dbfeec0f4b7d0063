"""manage.py import_store FILE: load an export_store dump into the configured store."""

from __future__ import annotations

from pathlib import Path

import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser

from reservations.domain import DomainError
from reservations.store import build_store
from reservations.store.transfer import (
    DumpError,
    existing_event_ids,
    load_events,
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
            states = states_from_dump(orjson.loads(Path(file).read_bytes()))
        except (OSError, orjson.JSONDecodeError, DumpError) as exc:
            raise CommandError(f"{file}: {exc}") from exc
        store = build_store()  # not get_store(): the default event must come from the dump
        try:
            clashes = existing_event_ids(store, states)
            if clashes:
                raise CommandError(
                    f"nothing imported: these events already exist: {', '.join(clashes)}"
                )
            try:
                load_events(store, states)
            except (DomainError, OSError, ValueError) as exc:
                reason = getattr(exc, "message", None) or str(exc)
                raise CommandError(f"nothing imported: {reason}") from exc
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
        if problems:
            raise CommandError("imported, but the store fails its checks: " + "; ".join(problems))
        self.stdout.write(self.style.SUCCESS(f"imported {len(states)} events from {file}"))
