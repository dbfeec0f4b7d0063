"""Group commit: writers queued in one process share one append and one fdatasync,
and each still gets exactly the answer it would have got alone."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pytest

from reservations.domain import IdempotencyConflict, NotEnoughSeats, ReservationNotFound
from reservations.store.jsonfile import JsonFileStore
from reservations.store.jsonfile import event_log as event_log_module
from reservations.store.jsonfile.lock import EventLock
from tests.support.server import wait_until

EVENT = "batch"


def _run_in_one_batch(store: JsonFileStore, calls: list[Callable[[], object]]) -> list[object]:
    """Hold the event's flock from outside while every call queues, then let one batch run."""
    folder = store.events_dir / EVENT
    outcomes: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            outcomes[index] = calls[index]()
        except Exception as exc:  # the outcome under test
            outcomes[index] = exc

    with ExitStack() as held:
        held.enter_context(EventLock(folder / ".lock", timeout_s=10).exclusive())
        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
        for thread in threads:
            thread.start()
        queue = store._logs[EVENT]._group._queue
        wait_until(lambda: len(queue) == len(calls), timeout=10, message="all writers queued")
    for thread in threads:
        thread.join()
    return outcomes


@pytest.fixture
def store(tmp_path: Path, monkeypatch) -> JsonFileStore:
    opened = JsonFileStore(tmp_path, compact_min_records=10_000)
    opened.ensure_event(event_id=EVENT, name="Batch", total_seats=20)
    return opened


@pytest.fixture
def fdatasyncs(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = os.fdatasync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(event_log_module.os, "fdatasync", counting)
    return calls


def test_one_batch_one_sync_and_no_oversell(store, fdatasyncs, tmp_path) -> None:
    calls = [
        (lambda i=i: store.reserve(event_id=EVENT, partner_id=f"p{i}", seats=1)) for i in range(30)
    ]
    outcomes = _run_in_one_batch(store, calls)
    made = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, NotEnoughSeats)]
    assert (len(made), len(refused)) == (20, 10)
    assert len({o.reservation.reservation_id for o in made}) == 20
    assert len(fdatasyncs) == 1  # thirty writers, one durable append
    summary = store.summary(event_id=EVENT)
    assert (summary.available_seats, summary.version) == (0, 20)
    store.close()
    assert JsonFileStore(tmp_path).summary(event_id=EVENT) == summary


def test_same_key_twice_in_one_batch(store, tmp_path) -> None:
    def same(seats: int) -> Callable[[], object]:
        return lambda: store.reserve(
            event_id=EVENT, partner_id="p", seats=seats, idempotency_key="k"
        )

    outcomes = _run_in_one_batch(store, [same(2), same(2), same(3)])
    made = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(made) == 2
    assert made[0].reservation.reservation_id == made[1].reservation.reservation_id
    assert sorted(o.replayed for o in made) == [False, True]
    assert isinstance(outcomes[2], IdempotencyConflict)
    assert store.summary(event_id=EVENT).available_seats == 18
    store.close()
    assert JsonFileStore(tmp_path).summary(event_id=EVENT).available_seats == 18


def test_cancel_twice_in_one_batch(store, tmp_path) -> None:
    rid = store.reserve(event_id=EVENT, partner_id="p", seats=4).reservation.reservation_id
    cancel = lambda: store.cancel(reservation_id=rid)  # noqa: E731
    outcomes = _run_in_one_batch(store, [cancel, cancel])
    assert sorted(type(o).__name__ for o in outcomes) == ["Reservation", "ReservationNotFound"]
    assert isinstance(next(o for o in outcomes if isinstance(o, Exception)), ReservationNotFound)
    assert store.summary(event_id=EVENT).available_seats == 20
    store.close()
    reopened = JsonFileStore(tmp_path)
    assert reopened.summary(event_id=EVENT).version == 2
    assert reopened.verify() == []


def test_failed_append_fails_the_whole_batch_and_writes_nothing(
    store, monkeypatch, tmp_path
) -> None:
    journal = store.events_dir / EVENT / "journal.jsonl"
    before = journal.read_bytes()
    real = os.fdatasync
    failures = iter([OSError(28, "No space left on device")])

    def full_disk_once(fd: int) -> None:
        error = next(failures, None)
        if error is not None:
            raise error
        real(fd)

    monkeypatch.setattr(event_log_module.os, "fdatasync", full_disk_once)
    calls = [
        (lambda i=i: store.reserve(event_id=EVENT, partner_id=f"p{i}", seats=1)) for i in range(5)
    ]
    outcomes = _run_in_one_batch(store, calls)
    assert all(type(o).__name__ == "StoreUnavailable" for o in outcomes)
    assert journal.read_bytes() == before
    assert store.summary(event_id=EVENT).version == 0
    store.reserve(event_id=EVENT, partner_id="after", seats=1)
    assert store.summary(event_id=EVENT).available_seats == 19


def test_writers_arriving_during_a_batch_are_the_next_batch_led_by_one_of_them(
    store, monkeypatch, tmp_path
) -> None:
    """The first batch's sync is held until five more writers have queued behind it; then
    one of those five is handed the lead, and they share one more sync."""
    real = os.fdatasync
    syncs: list[int] = []
    queue = lambda: store._logs[EVENT]._group._queue  # noqa: E731

    def sync_once_five_more_wait(fd: int) -> None:
        syncs.append(fd)
        if len(syncs) == 1:
            wait_until(lambda: len(queue()) == 5, timeout=10, message="five writers queued")
        real(fd)

    monkeypatch.setattr(event_log_module.os, "fdatasync", sync_once_five_more_wait)
    outcomes: list[object] = [None] * 6

    def reserve(index: int) -> None:
        outcomes[index] = store.reserve(event_id=EVENT, partner_id=f"p{index}", seats=1)

    first = threading.Thread(target=reserve, args=(0,))
    first.start()
    wait_until(lambda: syncs, timeout=10, message="the first batch is syncing")
    more = [threading.Thread(target=reserve, args=(i,)) for i in range(1, 6)]
    for thread in more:
        thread.start()
    for thread in [first, *more]:
        thread.join(timeout=30)
        assert not thread.is_alive(), "a writer was never answered"
    assert all(type(o).__name__ == "ReserveResult" for o in outcomes), outcomes
    assert len(syncs) == 2
    assert store.summary(event_id=EVENT).available_seats == 14
    store.close()
    assert JsonFileStore(tmp_path).summary(event_id=EVENT).version == 6
