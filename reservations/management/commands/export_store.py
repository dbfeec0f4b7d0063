"""manage.py export_store FILE: every event, reservation and Idempotency-Key as one JSON dump."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser

from reservations.domain import DomainError
from reservations.store import build_directory, build_store
from reservations.store.transfer import dump_store, iter_lines


class Command(BaseCommand):
    help = (
        "Write the whole store (the one TICKETBOSS_STORE selects) to FILE, for import_store "
        "into another backend. Stop writes first, or events are re-read until consistent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="dump to write (replaced atomically)")

    def handle(self, *args, file: str, **options) -> None:
        store = build_store()  # not get_store(): exporting must not create the default event
        directory = build_directory()
        try:
            document = dump_store(store, directory)  # partners' keys as hashes only
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        finally:
            store.close()
            directory.close()
        target = Path(file)
        temp = target.with_name(target.name + ".tmp")
        temp.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
        os.replace(temp, target)
        for line in iter_lines(document):
            self.stdout.write(line)
        self.stdout.write(
            self.style.SUCCESS(
                f"exported {len(document['events'])} events and "
                f"{len(document['partners'])} partners to {target}"
            )
        )
