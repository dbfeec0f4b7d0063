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

from reservations.domain import (
    CONFIRMED,
    DEFAULT_EVENT_ID,
    DEFAULT_EVENT_NAME,
    Reservation,
    utc_now_iso,
)
from reservations.event_state import EventState
from reservations.store.jsonfile.durable import atomic_write
from reservations.store.jsonfile.event_log import JOURNAL_NAME, SNAPSHOT_NAME
from reservations.store.jsonfile.records import encode_record
from reservations.store.jsonfile.snapshot import write_snapshot

# Enough seats that a benchmark never runs out (a 409 would measure the wrong path).
BENCH_TOTAL_SEATS = 10_000_000
PARTNERS = 50


def prefill(data_dir: Path, count: int, *, event_id: str = DEFAULT_EVENT_ID) -> None:
    """Write the default event holding `count` one-seat reservations into `data_dir`."""
    folder = data_dir / "events" / event_id
    folder.mkdir(parents=True, exist_ok=True)
    state = EventState(event_id=event_id, name=DEFAULT_EVENT_NAME, total_seats=BENCH_TOTAL_SEATS)
    created_at = utc_now_iso()
    random_bytes = os.urandom(16 * count)
    for index in range(count):
        reservation_id = str(uuid.UUID(bytes=random_bytes[16 * index : 16 * index + 16], version=4))
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
    state.version = count
    state.finish_load()
    seq = count + 1  # the `event` record, then one record per reservation
    write_snapshot(folder / SNAPSHOT_NAME, state, seq)
    header = encode_record({"seq": seq, "op": "begin", "format": 1})
    atomic_write(folder / JOURNAL_NAME, [header])
