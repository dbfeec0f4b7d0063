"""JSON-file store recovery rules on real files: what is dropped, what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from reservations.domain import StoreCorrupt
from reservations.store.jsonfile import JsonFileStore

EVENT = "recovery"


def _store(folder: Path) -> JsonFileStore:
    return JsonFileStore(folder, compact_min_records=10_000)


def _filled(folder: Path, count: int = 4) -> tuple[JsonFileStore, list[str]]:
    store = _store(folder)
    store.ensure_event(event_id=EVENT, name="Recovery", total_seats=50)
    ids = [
        store.reserve(event_id=EVENT, partner_id=f"p{i}", seats=1).reservation.reservation_id
        for i in range(count)
    ]
    return store, ids


def _compacted(folder: Path) -> None:
    """An event with a snapshot beside its journal (compaction every 3 records)."""
    store = JsonFileStore(folder, compact_min_records=3)
    store.ensure_event(event_id=EVENT, name="Recovery", total_seats=50)
    for i in range(5):
        store.reserve(event_id=EVENT, partner_id=f"p{i}", seats=1)
    store.close()
    assert (folder / "events" / EVENT / "snapshot.json").exists()


def test_crash_between_snapshot_and_new_journal_loses_nothing(tmp_path) -> None:
    store, ids = _filled(tmp_path)
    event_log = store._logs[EVENT]
    old_journal = event_log.journal_path.read_bytes()
    before = store.summary(event_id=EVENT)
    with event_log._lock.exclusive():
        event_log.compact()
    assert event_log.snapshot_path.exists()
    store.close()
    # the crash: the snapshot was renamed into place, the new journal was not
    event_log.journal_path.write_bytes(old_journal)

    reopened = _store(tmp_path)
    assert reopened.summary(event_id=EVENT) == before
    assert reopened.verify() == []
    made = reopened.reserve(event_id=EVENT, partner_id="after", seats=2)
    assert made.reservation.reservation_id not in ids
    reopened.close()
    assert _store(tmp_path).summary(event_id=EVENT).available_seats == 50 - 4 - 2


def test_snapshot_then_journal_replay_after_compaction(tmp_path) -> None:
    store = JsonFileStore(tmp_path, compact_min_records=5)
    store.ensure_event(event_id=EVENT, name="Recovery", total_seats=50)
    for i in range(12):
        store.reserve(event_id=EVENT, partner_id=f"p{i}", seats=1)
    before = store.summary(event_id=EVENT)
    store.close()
    folder = tmp_path / "events" / EVENT
    snapshot = (folder / "snapshot.json").read_text()
    assert snapshot.count('"reservationId"') >= 5  # one reservation per line, readable
    assert (folder / "journal.jsonl").read_text().startswith('{"seq":')
    assert _store(tmp_path).summary(event_id=EVENT) == before


def test_duplicated_journal_line_is_corruption(tmp_path) -> None:
    store, _ = _filled(tmp_path)
    store.close()
    journal = tmp_path / "events" / EVENT / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join([*lines[:3], lines[2], *lines[3:]]))
    with pytest.raises(StoreCorrupt, match=r"journal.jsonl:4: record number 2 where 3"):
        _store(tmp_path)


def test_damaged_snapshot_is_refused_and_left_alone(tmp_path) -> None:
    _compacted(tmp_path)
    snapshot = tmp_path / "events" / EVENT / "snapshot.json"
    damaged = snapshot.read_bytes().replace(b'"seats":1', b'"seats":2', 1)
    snapshot.write_bytes(damaged)
    with pytest.raises(StoreCorrupt, match=r"snapshot.json: snapshot fails its CRC check"):
        _store(tmp_path)
    assert snapshot.read_bytes() == damaged


def _cut_mid_line(data: bytes) -> bytes:
    return data[: data.index(b"\n", len(data) // 2) - 5]


def _cut_after_a_line(data: bytes) -> bytes:
    return data[: data.index(b"\n", len(data) // 2) + 1]


def _without_crc_line(data: bytes) -> bytes:
    return data[: data.rindex(b'\n"crc32"')] + b"\n"


def _foreign_header(data: bytes) -> bytes:
    return b'{"format":1,"note":"not ours"}\n' + data


def _broken_reservation_line(data: bytes) -> bytes:
    return data.replace(b'{"reservationId"', b'{"reservationId" oops', 1)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_cut_mid_line, "snapshot does not parse"),
        (_cut_after_a_line, "snapshot ends before its list of reservations does"),
        (_without_crc_line, "snapshot has no crc32 line"),
        (_foreign_header, "snapshot does not parse"),
        (_broken_reservation_line, "snapshot does not parse"),
    ],
    ids=["cut-mid-line", "cut-after-a-line", "no-crc-line", "foreign-header", "bad-json-line"],
)
def test_snapshot_damaged_in_other_ways_is_refused_naming_it(tmp_path, damage, message) -> None:
    _compacted(tmp_path)
    snapshot = tmp_path / "events" / EVENT / "snapshot.json"
    damaged = damage(snapshot.read_bytes())
    snapshot.write_bytes(damaged)
    with pytest.raises(StoreCorrupt, match=rf"snapshot.json: {message}"):
        _store(tmp_path)
    assert snapshot.read_bytes() == damaged


def test_snapshot_round_trips_cancellations_and_idempotency_keys(tmp_path) -> None:
    store = JsonFileStore(tmp_path, compact_min_records=10_000)
    store.ensure_event(event_id=EVENT, name="Recovery", total_seats=50)
    keyed = store.reserve(event_id=EVENT, partner_id="Zoë 🎟️", seats=3, idempotency_key="k-1")
    plain = store.reserve(event_id=EVENT, partner_id="p", seats=2).reservation
    store.cancel(reservation_id=plain.reservation_id)
    event_log = store._logs[EVENT]
    with event_log._lock.exclusive():
        event_log.compact()
    before = list(store.reservations(event_id=EVENT))
    store.close()

    reopened = _store(tmp_path)
    assert list(reopened.reservations(event_id=EVENT)) == before
    assert before[1].cancelled_at is not None
    replay = reopened.reserve(event_id=EVENT, partner_id="Zoë 🎟️", seats=3, idempotency_key="k-1")
    assert replay.replayed
    assert replay.reservation == keyed.reservation


def test_snapshot_of_an_event_without_reservations_reopens(tmp_path) -> None:
    store = _store(tmp_path)
    before = store.ensure_event(event_id=EVENT, name="Recovery", total_seats=50)
    event_log = store._logs[EVENT]
    with event_log._lock.exclusive():
        event_log.compact()
    store.close()
    assert _store(tmp_path).summary(event_id=EVENT) == before


def test_missing_journal_beside_a_snapshot_is_refused(tmp_path) -> None:
    _compacted(tmp_path)
    (tmp_path / "events" / EVENT / "journal.jsonl").unlink()
    with pytest.raises(StoreCorrupt, match="journal is missing"):
        _store(tmp_path)


def test_failed_append_leaves_no_trace(tmp_path, monkeypatch) -> None:
    """A write refused by the disk (here: fdatasync failing) is cut off again."""
    import os

    from reservations.domain import StoreUnavailable
    from reservations.store.jsonfile import event_log as event_log_module

    store, _ = _filled(tmp_path)
    journal = tmp_path / "events" / EVENT / "journal.jsonl"
    before_bytes = journal.read_bytes()
    before = store.summary(event_id=EVENT)

    real_fdatasync = os.fdatasync
    calls = []

    def failing_first_fdatasync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        real_fdatasync(fd)

    monkeypatch.setattr(event_log_module.os, "fdatasync", failing_first_fdatasync)
    with pytest.raises(StoreUnavailable):
        store.reserve(event_id=EVENT, partner_id="x", seats=1)
    assert journal.read_bytes() == before_bytes
    assert store.summary(event_id=EVENT) == before
    store.reserve(event_id=EVENT, partner_id="x", seats=1)
    assert store.summary(event_id=EVENT).version == before.version + 1
