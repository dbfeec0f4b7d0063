"""A worker starting on a big event reads the snapshot before it takes the event's lock,
so the workers already serving keep writing meanwhile. Real stores on real files; a gate
holds the starting worker just after its snapshot read."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reservations.store.jsonfile import JsonFileStore
from reservations.store.jsonfile import event_log as event_log_module

EVENT = "start-load"


class Gate:
    """Holds a thread right after it read a snapshot, until opened."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.opened = threading.Event()

    def after(self, read: Callable[..., Any]) -> Callable[..., Any]:
        def held(*args: Any) -> Any:
            result = read(*args)
            self.reached.set()
            assert self.opened.wait(30), "the test never opened the gate"
            return result

        return held


@pytest.fixture
def gate(monkeypatch) -> Iterator[Gate]:
    gate = Gate()
    monkeypatch.setattr(
        event_log_module, "read_snapshot", gate.after(event_log_module.read_snapshot)
    )
    yield gate
    gate.opened.set()


def _store(folder: Path) -> JsonFileStore:
    # A short lock wait: a write held up by the other worker's start fails, not hangs.
    return JsonFileStore(folder, compact_min_records=10_000, lock_timeout_s=1.0)


def _serving(folder: Path) -> tuple[JsonFileStore, list[str]]:
    """A worker serving an event whose reservations are in a snapshot."""
    store = _store(folder)
    store.ensure_event(event_id=EVENT, name="Start", total_seats=100)
    made = [_reserve(store) for _ in range(3)]
    event_log = store._logs[EVENT]
    with event_log._lock.exclusive():
        event_log.compact()
    return store, made


def _reserve(store: JsonFileStore) -> str:
    return store.reserve(event_id=EVENT, partner_id="p", seats=1).reservation.reservation_id


def _start_in_background(folder: Path) -> tuple[threading.Thread, list[JsonFileStore]]:
    started: list[JsonFileStore] = []
    thread = threading.Thread(target=lambda: started.append(_store(folder)))
    thread.start()
    return thread, started


def test_writes_go_on_while_another_worker_reads_the_snapshot_at_start(tmp_path, gate) -> None:
    serving, made = _serving(tmp_path)
    thread, started = _start_in_background(tmp_path)
    assert gate.reached.wait(10)

    made.append(_reserve(serving))  # the lock is free: the snapshot was read without it
    gate.opened.set()
    thread.join(30)

    (second,) = started
    assert second.summary(event_id=EVENT) == serving.summary(event_id=EVENT)
    assert all(second.get_reservation(reservation_id=rid).status == "confirmed" for rid in made)
    serving.close()
    second.close()


def test_a_compaction_after_the_early_read_makes_the_start_read_again(tmp_path, gate) -> None:
    serving, made = _serving(tmp_path)
    thread, started = _start_in_background(tmp_path)
    assert gate.reached.wait(10)

    made.append(_reserve(serving))
    event_log = serving._logs[EVENT]
    with event_log._lock.exclusive():
        event_log.compact()  # the snapshot read early no longer fits the journal
    made.append(_reserve(serving))
    gate.opened.set()
    thread.join(30)

    (second,) = started
    summary = second.summary(event_id=EVENT)
    assert summary == serving.summary(event_id=EVENT)
    assert summary.reservation_count == len(made) == 5
    assert all(second.get_reservation(reservation_id=rid).status == "confirmed" for rid in made)
    serving.close()
    second.close()
