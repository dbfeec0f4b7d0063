"""Organizer data in the JSON-file store's own files: records a person can read,
snapshots that keep what reservations cannot rebuild, older files that still load,
and check_store's verify finding figures that disagree."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from reservations.organizing import EventChanges, NewEvent, SalesWindow
from reservations.store.jsonfile import JsonFileStore
from reservations.store.jsonfile.records import decode_record, encode_record
from tests.support.clock import START_MS, StoppedClock, stopped_in_this_process

EVENT = "organized"
CRC_LINE = b'\n"crc32": '


@pytest.fixture
def time(tmp_path: Path) -> Iterator[StoppedClock]:
    """A stopped clock every store in this process reads."""
    with stopped_in_this_process(tmp_path / "clock") as stopped:
        yield stopped


def folder(data: Path) -> Path:
    return data / "events" / EVENT


def journal_records(data: Path) -> list[dict]:
    lines = (folder(data) / "journal.jsonl").read_bytes().splitlines()
    return [decode_record(line) for line in lines]


def filled(data: Path, time: StoppedClock, *, compact: bool = False) -> JsonFileStore:
    """An event with a window, an allocation, a confirm a minute after its hold; with
    `compact`, all of it in a snapshot beside an empty journal."""
    store = JsonFileStore(data, compact_min_records=10_000)
    store.create_event(
        event=NewEvent(
            event_id=EVENT,
            name="Organized",
            total_seats=30,
            window=SalesWindow((START_MS - 1000) * 1000, None),
        )
    )
    store.set_allocation(event_id=EVENT, partner_id="a", seats=10)
    store.reserve(event_id=EVENT, partner_id="a", seats=2)
    held = store.hold(event_id=EVENT, partner_id="b", seats=3).reservation
    time.advance(90)
    store.confirm(reservation_id=held.reservation_id)
    if compact:
        event_log = store._logs[EVENT]
        with event_log._lock.exclusive():
            event_log.compact()
    return store


def test_organizer_changes_are_journal_records_a_person_can_read(tmp_path, time) -> None:
    store = filled(tmp_path, time)
    store.update_event(
        event_id=EVENT, changes=EventChanges(name="Renamed", sales_close_us=None, hold_seconds=60)
    )
    store.update_event(event_id=EVENT, changes=EventChanges(name="Renamed"))  # no change
    store.set_allocation(event_id=EVENT, partner_id="a", seats=None)
    store.close()
    records = journal_records(tmp_path)
    assert [r["op"] for r in records] == [
        "begin",
        "event",
        "allocation",
        "reserve",
        "hold",
        "confirm",
        "settings",
        "allocation",
    ]
    assert records[1]["salesOpenAt"] == "2030-03-17T17:46:39.000Z"
    assert records[2] == {"seq": 2, "op": "allocation", "partnerId": "a", "seats": 10}
    assert "at" in records[5]  # the minute a confirm counts in
    assert records[6] == {"seq": 6, "op": "settings", "name": "Renamed", "holdSeconds": 60}
    assert records[7]["seats"] is None


def test_snapshots_keep_window_allocations_and_minute_sales(tmp_path, time) -> None:
    store = filled(tmp_path, time, compact=True)
    expected = store.stats(event_id=EVENT).as_dict()
    store.close()
    header = orjson.loads(
        (folder(tmp_path) / "snapshot.json").read_bytes().split(b"\n", 1)[0][:-1] + b"}"
    )
    assert header["event"]["allocations"] == {"a": 10}
    assert header["event"]["salesOpenAt"] == "2030-03-17T17:46:39.000Z"
    assert sum(header["event"]["minuteSales"].values()) == 5
    reopened = JsonFileStore(tmp_path)
    assert reopened.stats(event_id=EVENT).as_dict() == expected
    assert reopened.verify() == []


def rewrite_snapshot_header(data: Path, change) -> None:
    """Edit the snapshot's header as an older version or a careless hand would, with a
    correct CRC (so only the rules can tell)."""
    path = folder(data) / "snapshot.json"
    body = path.read_bytes().split(CRC_LINE)[0]
    header_line, rest = body.split(b"\n", 1)
    header = orjson.loads(header_line[:-1] + b"}")
    change(header["event"])
    body = orjson.dumps(header)[:-1] + b",\n" + rest
    path.write_bytes(body + b"%s%d}\n" % (CRC_LINE, zlib.crc32(body)))


def test_a_snapshot_from_before_organizer_fields_loads_with_defaults(tmp_path, time) -> None:
    filled(tmp_path, time, compact=True).close()

    def strip(event: dict) -> None:
        for name in ("allocations", "minuteSales", "salesOpenAt", "salesCloseAt"):
            event.pop(name, None)

    rewrite_snapshot_header(tmp_path, strip)
    store = JsonFileStore(tmp_path)
    summary = store.summary(event_id=EVENT)
    assert (summary.sales_open_us, summary.sales_close_us) == (None, None)
    stats = store.stats(event_id=EVENT)
    assert [p.allocation for p in stats.partners] == [None, None]
    # Rebuilt from reservations: the confirmed hold counts at its creation.
    assert [row["seats"] for row in stats.per_minute] == [5]
    assert store.verify() == []


def test_verify_finds_minute_sales_that_disagree(tmp_path, time) -> None:
    filled(tmp_path, time, compact=True).close()

    def inflate(event: dict) -> None:
        minute = next(iter(event["minuteSales"]))
        event["minuteSales"][minute] += 7

    rewrite_snapshot_header(tmp_path, inflate)
    problems = JsonFileStore(tmp_path).verify()
    assert problems == [
        f"event {EVENT}: seats sold per minute add up to 12, but 5 seats are confirmed"
    ]


def test_a_journal_from_before_confirm_times_replays(tmp_path, time) -> None:
    """A confirm record without `at` counts in the minute its hold was made."""
    filled(tmp_path, time).close()
    path = folder(tmp_path) / "journal.jsonl"
    records = journal_records(tmp_path)
    for record in records:
        record.pop("crc", None)
        if record["op"] == "confirm":
            del record["at"]
    path.write_bytes(b"".join(encode_record(record) for record in records))
    store = JsonFileStore(tmp_path)
    assert [row["seats"] for row in store.stats(event_id=EVENT).per_minute] == [5]
    assert store.verify() == []
