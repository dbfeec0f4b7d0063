"""A big event's snapshot is written in the background (by a forked child): writes go on
meanwhile, and nothing is lost whichever way it ends. Real stores on real files; a gate
holds the compaction's thread just before it starts the child, so the tests decide what
happens while it is out."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reservations.store.jsonfile import JsonFileStore, snapshot_child
from reservations.store.jsonfile import event_log as event_log_module
from reservations.store.jsonfile.event_log import EventLog
from reservations.store.jsonfile.records import decode_record
from reservations.store.jsonfile.snapshot import read_snapshot

EVENT = "big-event"
EVERY = 10  # compaction once the journal holds this many records


class Gate:
    """Stops the compaction thread before it writes its snapshot until opened."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.opened = threading.Event()

    def hold(self, write: Callable[..., None]) -> Callable[..., None]:
        def held(*args: Any, **kwargs: Any) -> None:
            self.reached.set()
            assert self.opened.wait(30), "the test never opened the gate"
            write(*args, **kwargs)

        return held


@pytest.fixture
def gate(monkeypatch) -> Iterator[Gate]:
    gate = Gate()
    write = event_log_module.write_snapshot_in_child
    monkeypatch.setattr(event_log_module, "write_snapshot_in_child", gate.hold(write))
    yield gate
    gate.opened.set()  # never leave a thread waiting


def _store(folder: Path) -> JsonFileStore:
    # A short lock wait: a write that waited for the snapshot would fail, not hang.
    return JsonFileStore(
        folder, compact_min_records=EVERY, background_compact_from=0, lock_timeout_s=2.0
    )


def _reserve(store: JsonFileStore, partner: str) -> str:
    return store.reserve(event_id=EVENT, partner_id=partner, seats=1).reservation.reservation_id


def _event_log(store: JsonFileStore) -> EventLog:
    return store._logs[EVENT]


def _finished(store: JsonFileStore) -> None:
    thread = _event_log(store)._compaction
    if thread is not None:
        thread.join(30)
        assert not thread.is_alive()


def _journal_records(folder: Path) -> list[dict[str, Any]]:
    lines = (folder / "events" / EVENT / "journal.jsonl").read_bytes().splitlines()
    return [record for line in lines if (record := decode_record(line)) is not None]


def test_writes_go_on_while_the_snapshot_is_written_and_it_holds_its_instant(
    tmp_path, gate
) -> None:
    store = _store(tmp_path)
    store.ensure_event(event_id=EVENT, name="Big", total_seats=1000)
    before = [_reserve(store, "early") for _ in range(EVERY - 1)]  # record EVERY: compaction
    assert gate.reached.wait(10)

    during = [_reserve(store, "during") for _ in range(25)]  # the lock is free meanwhile
    store.cancel(reservation_id=before[0])
    gate.opened.set()
    _finished(store)

    assert _event_log(store).compactions == 1
    snapshot, seq = read_snapshot(tmp_path / "events" / EVENT / "snapshot.json")
    assert seq == EVERY
    assert set(snapshot.reservations.ids()) == set(before)  # as of its instant, no later
    assert snapshot.reservations[before[0]].status == "confirmed"
    journal = _journal_records(tmp_path)
    assert journal[0] == {"seq": EVERY, "op": "begin", "format": 1}
    assert [record["seq"] for record in journal[1:]] == list(range(EVERY + 1, EVERY + 27))

    summary = store.summary(event_id=EVENT)
    store.close()
    reopened = _store(tmp_path)
    assert reopened.summary(event_id=EVENT) == summary
    assert summary.reservation_count == len(before) + len(during) - 1
    assert reopened.get_reservation(reservation_id=before[0]).status == "cancelled"
    assert all(reopened.get_reservation(reservation_id=rid).status == "confirmed" for rid in during)
    assert reopened.verify() == []
    reopened.close()


def test_another_worker_follows_the_new_journal_without_reloading(tmp_path, gate) -> None:
    worker_a, worker_b = _store(tmp_path), _store(tmp_path)
    worker_a.ensure_event(event_id=EVENT, name="Big", total_seats=1000)
    worker_b.summary(event_id=EVENT)
    state_of_b = _event_log(worker_b).state
    for _ in range(EVERY - 1):
        _reserve(worker_a, "a")
    assert gate.reached.wait(10)

    made_by_b = [_reserve(worker_b, "b") for _ in range(5)]  # b is past the threshold too
    assert _event_log(worker_b)._compaction is None  # a compacts: b leaves it alone
    gate.opened.set()
    _finished(worker_a)

    assert worker_b.summary(event_id=EVENT) == worker_a.summary(event_id=EVENT)
    assert _event_log(worker_b).state is state_of_b  # followed, not read afresh
    made_by_b.append(_reserve(worker_b, "b"))
    _finished(worker_b)
    assert _event_log(worker_b).compactions == 0  # not again, right behind a
    assert worker_a.summary(event_id=EVENT).reservation_count == EVERY - 1 + 6
    assert all(worker_a.get_reservation(reservation_id=rid).partner_id == "b" for rid in made_by_b)
    worker_a.close()
    worker_b.close()


def test_a_compaction_failing_after_its_snapshot_loses_nothing(tmp_path, monkeypatch) -> None:
    """The new journal cannot be written (a full disk, say): the snapshot is in place
    beside the old journal, writes go on without trying again at every write, and a
    restart finds every one of them."""
    write = event_log_module.atomic_write
    tries: list[Path] = []

    def journal_fails(path: Path, chunks: Any) -> None:
        if path.name == "journal.jsonl":
            tries.append(path)
            raise OSError(28, "No space left on device")
        write(path, chunks)

    store = _store(tmp_path)
    store.ensure_event(event_id=EVENT, name="Big", total_seats=1000)
    monkeypatch.setattr(event_log_module, "atomic_write", journal_fails)
    made = [_reserve(store, "p") for _ in range(EVERY - 1)]
    _finished(store)
    assert _event_log(store).compactions == 0 and len(tries) == 1
    assert (tmp_path / "events" / EVENT / "snapshot.json").exists()
    assert _journal_records(tmp_path)[0]["seq"] == 0  # the old journal, still whole

    made += [_reserve(store, "p") for _ in range(5)]
    _finished(store)
    assert len(tries) == 1  # not again at every write: after COMPACT_RETRY_S
    summary = store.summary(event_id=EVENT)
    store.close()
    monkeypatch.undo()

    reopened = _store(tmp_path)
    assert reopened.summary(event_id=EVENT) == summary
    assert summary.reservation_count == len(made)
    assert reopened.verify() == []
    made.append(_reserve(reopened, "after"))  # and compacts again, for real this time
    _finished(reopened)
    assert _event_log(reopened).compactions == 1
    reopened.close()
    assert _store(tmp_path).summary(event_id=EVENT).reservation_count == len(made)


def test_a_child_that_cannot_write_the_snapshot_changes_nothing(tmp_path, monkeypatch) -> None:
    """The child's failure (here a full disk in the child) is its exit status: the parent
    keeps the old journal whole, writes go on without a child at every write, and once
    the disk has room a restart compacts."""
    children: list[Path] = []
    start_child = event_log_module.write_snapshot_in_child

    def counted(path: Path, image: Any, **kwargs: Any) -> None:
        children.append(path)
        start_child(path, image, **kwargs)

    def disk_full(path: Path, image: Any) -> None:
        raise OSError(28, "No space left on device")

    store = _store(tmp_path)
    store.ensure_event(event_id=EVENT, name="Big", total_seats=1000)
    monkeypatch.setattr(event_log_module, "write_snapshot_in_child", counted)
    monkeypatch.setattr(snapshot_child, "write_snapshot_image", disk_full)  # copied into the child
    made = [_reserve(store, "p") for _ in range(EVERY - 1)]
    _finished(store)
    assert _event_log(store).compactions == 0 and len(children) == 1
    assert not (tmp_path / "events" / EVENT / "snapshot.json").exists()
    assert len(_journal_records(tmp_path)) == EVERY + 1  # begin, event, the reservations
    made += [_reserve(store, "p") for _ in range(5)]
    _finished(store)
    assert len(children) == 1  # no new child at every write
    store.close()

    monkeypatch.undo()
    reopened = _store(tmp_path)
    made.append(_reserve(reopened, "p"))  # past the threshold still: compacts, for real
    _finished(reopened)
    assert _event_log(reopened).compactions == 1
    assert reopened.summary(event_id=EVENT).reservation_count == len(made)
    assert reopened.verify() == []
    reopened.close()
