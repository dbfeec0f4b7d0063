"""Fill a data folder with N reservations fast, by writing the store's own files.

Going through HTTP would take minutes for a million reservations; writing a
snapshot with the store's own `write_snapshot` and a journal `begin` line with
its own `encode_record` gives exactly the folder the service would have
written after compacting, in seconds.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from reservations import timestamps
from reservations.domain import (
    CONFIRMED,
    DEFAULT_EVENT_ID,
    DEFAULT_EVENT_NAME,
    Reservation,
)
from reservations.event_state import EventState
from reservations.organizing import MINUTE_US, NewEvent
from reservations.store.jsonfile.changes import event_record
from reservations.store.jsonfile.durable import atomic_write
from reservations.store.jsonfile.event_log import JOURNAL_NAME, SNAPSHOT_NAME
from reservations.store.jsonfile.records import encode_record, reservation_to_json
from reservations.store.jsonfile.snapshot import write_snapshot

# Enough seats that a benchmark never runs out (a 409 would measure the wrong path).
BENCH_TOTAL_SEATS = 10_000_000
PARTNERS = 50


def prefilled_state(
    count: int, *, event_id: str = DEFAULT_EVENT_ID, minutes: int = 1, start_us: int | None = None
) -> EventState:
    """The default event holding `count` one-seat reservations of PARTNERS partners, made
    over `minutes` minutes from `start_us` (default: all now), with the organizer figures
    the store keeps (partners' figures, seats sold per minute)."""
    state = EventState(event_id=event_id, name=DEFAULT_EVENT_NAME, total_seats=BENCH_TOTAL_SEATS)
    start_us = timestamps.now_us() if start_us is None else start_us
    step_us = minutes * MINUTE_US // max(count, 1)
    texts: dict[int, str] = {}
    random_bytes = os.urandom(16 * count)
    sales = state.minute_sales
    for index in range(count):
        reservation_id = str(uuid.UUID(bytes=random_bytes[16 * index : 16 * index + 16], version=4))
        created_us = start_us + (index * step_us) // 1000 * 1000  # whole milliseconds
        created_at = texts.get(created_us)
        if created_at is None:
            texts.clear()
            created_at = texts[created_us] = timestamps.to_text(created_us)
        state.load_reservation(
            Reservation(
                reservation_id=reservation_id,
                event_id=event_id,
                partner_id=f"partner-{index % PARTNERS}",
                seats=1,
                status=CONFIRMED,
                created_at=created_at,
            )
        )
        sales.add(created_us, 1)
    state.version = count
    state.finish_load()
    return state


def prefill(
    data_dir: Path, count: int, *, event_id: str = DEFAULT_EVENT_ID, minutes: int = 1
) -> None:
    """Write the default event holding `count` one-seat reservations into `data_dir`."""
    folder = data_dir / "events" / event_id
    folder.mkdir(parents=True, exist_ok=True)
    state = prefilled_state(count, event_id=event_id, minutes=minutes)
    seq = count + 1  # the `event` record, then one record per reservation
    write_snapshot(folder / SNAPSHOT_NAME, state, seq)
    header = encode_record({"seq": seq, "op": "begin", "format": 1})
    atomic_write(folder / JOURNAL_NAME, [header])


def prefill_journal(data_dir: Path, count: int, *, event_id: str = DEFAULT_EVENT_ID) -> None:
    """The same event with every record in its journal and no snapshot: the folder a
    service leaves just before it compacts, so the first write after a start compacts
    all `count` reservations."""
    folder = data_dir / "events" / event_id
    folder.mkdir(parents=True, exist_ok=True)
    state = prefilled_state(count, event_id=event_id)
    lines = [
        encode_record({"seq": 0, "op": "begin", "format": 1}),
        encode_record(
            {"seq": 1, **event_record(NewEvent(event_id, state.name, state.total_seats))}
        ),
    ]
    for seq, reservation in enumerate(state.reservations.values(), start=2):
        record = {"seq": seq, "op": "reserve", "reservation": reservation_to_json(reservation)}
        lines.append(encode_record(record))
    atomic_write(folder / JOURNAL_NAME, lines)
