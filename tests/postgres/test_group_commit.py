"""Group commit of the `db` store: what a batch guarantees, on both of its paths.

ReserveBatches.commit is called with hand-made batches, so each case is exactly
the batch it names. Its first batch for an event takes the exact path (seats read
under the row lock); once it knows the seats left it takes the fast path (one
multi-statement transaction). `path` below primes it for one or the other.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from django.db import connections

from reservations import clock, timestamps
from reservations.domain import (
    EXPIRED,
    HELD,
    EventNotFound,
    IdempotencyConflict,
    NotEnoughSeats,
    ReserveResult,
    StoreUnavailable,
    new_confirmed_reservation,
    new_reservation_id,
    request_fingerprint,
)
from reservations.organizing import AllocationExhausted, EventChanges, SalesNotOpen
from reservations.store.notify import CHANNEL, listen_params
from reservations.store.orm import OrmStore
from reservations.store.orm_batch import ReserveBatches, ReserveRequest, insert_order
from reservations.store.orm_committer import Committer, Pending
from tests.support.clock import StoppedClock
from tests.support.server import wait_until

pytestmark = pytest.mark.postgres

EVENT = "batch-day"
both_paths = pytest.mark.parametrize("path", ["exact", "fast"])


def ask(seats: int, *, key: str | None = None, partner: str = "p", event: str = EVENT):
    return ReserveRequest(
        event_id=event,
        partner_id=partner,
        seats=seats,
        idempotency_key=key,
        fingerprint=request_fingerprint(partner_id=partner, seats=seats),
    )


def commit(batches: ReserveBatches, *requests: ReserveRequest) -> list[Any]:
    """Each request's answer: a ReserveResult or the exception it would raise."""
    batch = [Pending(request) for request in requests]
    batches.commit(batch)
    return [pending.error or pending.result for pending in batch]


def primed(store: OrmStore, path: str, *, seats: int = 1) -> ReserveBatches:
    """A ReserveBatches that has taken `seats` already; for "fast", it knows the seats left."""
    batches = ReserveBatches(store.using)
    [first] = commit(batches, ask(seats))
    assert isinstance(first, ReserveResult)
    if path == "exact":
        batches = ReserveBatches(store.using)  # forgets the seats: exact path again
    return batches


def state(store: OrmStore) -> tuple[int, int, int, int]:
    """(seats left, confirmed count, version, rows stored) of EVENT."""
    summary = store.summary(event_id=EVENT)
    rows = sum(1 for _ in store.reservations(event_id=EVENT))
    return summary.available_seats, summary.reservation_count, summary.version, rows


@both_paths
def test_same_key_twice_in_one_batch_books_once(open_orm_store, path) -> None:
    store = open_orm_store()
    store.ensure_event(event_id=EVENT, name="Batch day", total_seats=20)
    batches = primed(store, path)
    first, again, other_body, plain = commit(
        batches, ask(2, key="k"), ask(2, key="k"), ask(3, key="k"), ask(1)
    )
    assert not first.replayed
    assert again.replayed and again.reservation == first.reservation
    assert isinstance(other_body, IdempotencyConflict)
    assert not plain.replayed
    assert state(store) == (20 - 1 - 2 - 1, 3, 3, 3)
    assert batches.fast_commits == (path == "fast")
    [replay] = commit(ReserveBatches(store.using), ask(2, key="k"))  # a later batch too
    assert replay.replayed and replay.reservation == first.reservation


@both_paths
def test_refused_writers_change_nothing_and_the_rest_commit(open_orm_store, path) -> None:
    store = open_orm_store()
    store.ensure_event(event_id=EVENT, name="Batch day", total_seats=10)
    batches = primed(store, path, seats=4)
    answers = commit(batches, ask(3), ask(10), ask(2), ask(5), ask(1, event="no-such-event"))
    assert [type(answer) for answer in answers] == [
        ReserveResult,
        NotEnoughSeats,
        ReserveResult,
        NotEnoughSeats,
        EventNotFound,
    ]
    assert state(store) == (1, 3, 3, 3)
    assert store.verify() == []


def test_one_fast_batch_over_several_events_takes_each_events_seats(open_orm_store) -> None:
    store = open_orm_store()
    events = ["a-day", "b-day", "c-day"]
    for event in events:
        store.ensure_event(event_id=event, name=event, total_seats=10)
    batches = ReserveBatches(store.using)
    commit(batches, *(ask(1, event=event) for event in events))  # exact: learns the seats
    answers = commit(
        batches, ask(2, event="c-day"), ask(3, event="a-day"), ask(1, event="c-day", key="k")
    )
    assert all(isinstance(answer, ReserveResult) for answer in answers)
    assert (batches.fast_commits, batches.exact_commits) == (1, 1)
    seen = {event: store.summary(event_id=event) for event in events}
    assert {
        event: (s.available_seats, s.reservation_count, s.version) for event, s in seen.items()
    } == {
        "a-day": (6, 2, 2),
        "b-day": (9, 1, 1),
        "c-day": (6, 3, 3),
    }
    assert store.verify() == []


def test_seats_taken_by_another_node_since_the_hint_never_oversell(open_orm_store) -> None:
    store, other_node = open_orm_store(), open_orm_store()
    store.ensure_event(event_id=EVENT, name="Batch day", total_seats=10)
    batches = primed(store, "fast", seats=2)  # believes 8 are left
    other_node.reserve(event_id=EVENT, partner_id="elsewhere", seats=7)  # 1 left
    [refused] = commit(batches, ask(2))  # by the hint it fits; the CHECK says no
    assert isinstance(refused, NotEnoughSeats)
    assert (batches.fast_commits, batches.exact_commits) == (0, 2)
    [taken] = commit(batches, ask(1))  # the exact path refreshed the hint: fast again
    assert isinstance(taken, ReserveResult)
    assert batches.fast_commits == 1
    assert state(store) == (0, 3, 3, 3)
    assert store.verify() == []


def test_key_stored_by_another_node_is_replayed_inside_a_batch(open_orm_store) -> None:
    store, other_node = open_orm_store(), open_orm_store()
    store.ensure_event(event_id=EVENT, name="Batch day", total_seats=10)
    batches = primed(store, "fast")
    earlier = other_node.reserve(
        event_id=EVENT, partner_id="p", seats=2, idempotency_key="shared"
    ).reservation
    replay, conflict, fresh = commit(
        batches, ask(2, key="shared"), ask(4, key="shared"), ask(1, key="new")
    )
    assert replay.replayed and replay.reservation == earlier
    assert isinstance(conflict, IdempotencyConflict)
    assert not fresh.replayed
    assert (batches.fast_commits, batches.exact_commits) == (0, 2)  # unique index: exact
    assert state(store) == (10 - 1 - 2 - 1, 3, 3, 3)
    [plain] = commit(batches, ask(1))  # no stored key in the way: fast path
    assert not plain.replayed and batches.fast_commits == 1


def test_concurrent_writers_share_commits_and_all_land(open_orm_store) -> None:
    store = open_orm_store()
    store.ensure_event(event_id=EVENT, name="Batch day", total_seats=1000)
    start = threading.Barrier(16)

    def writer(index: int) -> list[str]:
        start.wait(timeout=30)
        made = [store.reserve(event_id=EVENT, partner_id=f"w{index}", seats=1) for _ in range(10)]
        return [result.reservation.reservation_id for result in made]

    with ThreadPoolExecutor(16) as pool:
        ids = [rid for made in pool.map(writer, range(16)) for rid in made]

    assert len(set(ids)) == 160
    assert state(store) == (840, 160, 160, 160)
    assert store.committer.writes == 160
    assert store.committer.batches < 160  # writers waiting together shared a commit


def test_lost_database_fails_only_its_batch_and_the_next_one_commits(
    open_orm_store, postgres_cluster
) -> None:
    store = open_orm_store()
    store.ensure_event(event_id=EVENT, name="Batch day", total_seats=10)
    store.reserve(event_id=EVENT, partner_id="p", seats=1)  # the committer is connected
    postgres_cluster.stop()
    try:
        with pytest.raises(StoreUnavailable):
            store.reserve(event_id=EVENT, partner_id="p", seats=1)
    finally:
        postgres_cluster.start()
    store.reserve(event_id=EVENT, partner_id="p", seats=1)  # a new connection at once
    assert state(store) == (8, 2, 2, 2)


def test_keyed_rows_go_in_in_one_order_whatever_the_arrival() -> None:
    made = [commit_row(key) for key in ("k2", None, "k1", None)]
    assert [row.idempotency_key for row in insert_order(made)] == ["k1", "k2", None, None]
    assert insert_order(made)[2:] == [made[1], made[3]]  # the rest as they came
    assert insert_order(made[::-1])[:2] == insert_order(made)[:2]


def commit_row(key: str | None):
    return new_confirmed_reservation(
        reservation_id=new_reservation_id(),
        event_id=EVENT,
        partner_id="p",
        seats=1,
        idempotency_key=key,
        fingerprint="f",
    )


# ---------------------------------------------------------------------- the queue alone


def test_a_write_queued_behind_a_stuck_batch_is_withdrawn_with_503() -> None:
    release = threading.Event()
    started = threading.Event()

    def run_batch(batch: list[Pending[Any]]) -> None:
        started.set()
        release.wait(timeout=30)
        for pending in batch:
            pending.settle(pending.request)

    committer = Committer(run_batch, queue_timeout_s=0.3, on_exit=lambda: None)
    try:
        with ThreadPoolExecutor(1) as pool:
            stuck = pool.submit(committer.submit, "first")
            assert started.wait(timeout=10)
            with pytest.raises(StoreUnavailable):
                committer.submit("second")  # never taken: nothing to undo
            assert committer.queued() == 0
            release.set()
            assert stuck.result(timeout=10) == "first"
    finally:
        release.set()
        committer.close()


def test_an_error_fails_its_whole_batch_and_nothing_else() -> None:
    release = threading.Event()
    first_started = threading.Event()
    seen: list[list[str]] = []

    def run_batch(batch: list[Pending[Any]]) -> None:
        names = [pending.request for pending in batch]
        seen.append(names)
        if names == ["hold"]:
            first_started.set()
            release.wait(timeout=30)
        if "bad" in names:
            raise StoreUnavailable()
        for pending in batch:
            pending.settle(pending.request.upper())

    committer = Committer(run_batch, queue_timeout_s=30, on_exit=lambda: None)
    try:
        with ThreadPoolExecutor(4) as pool:
            hold = pool.submit(committer.submit, "hold")
            assert first_started.wait(timeout=10)
            mates = [pool.submit(committer.submit, name) for name in ("a", "bad", "b")]
            wait_until(lambda: committer.queued() == 3, timeout=10, message="three queued")
            release.set()
            assert hold.result(timeout=10) == "HOLD"
            for future in mates:
                with pytest.raises(StoreUnavailable):
                    future.result(timeout=10)
        assert sorted(seen[1]) == ["a", "b", "bad"]
        assert committer.submit("later") == "LATER"
    finally:
        release.set()
        committer.close()


# ---------------------------------------------------------------------- holds and organizers


def ask_hold(seats: int, *, hold_seconds: int | None = None, key: str | None = None):
    return ReserveRequest(
        event_id=EVENT,
        partner_id="p",
        seats=seats,
        idempotency_key=key,
        fingerprint=request_fingerprint(
            partner_id="p", seats=seats, hold=True, hold_seconds=hold_seconds
        ),
        hold=True,
        hold_seconds=hold_seconds,
    )


@pytest.fixture
def stopped(tmp_path) -> Iterator[StoppedClock]:
    stopped = StoppedClock(tmp_path / "clock")
    clock.use_file(stopped.path)
    yield stopped
    clock.use_file(None)


def test_holds_take_the_fast_path_and_a_due_one_sends_the_batch_to_the_exact(
    open_orm_store, stopped
) -> None:
    store = open_orm_store()
    store.ensure_event(event_id=EVENT, name="Batch day", total_seats=10)
    batches = primed(store, "fast")
    [held] = commit(batches, ask_hold(6, hold_seconds=30))
    assert held.reservation.status == HELD and batches.fast_commits == 1
    [refused] = commit(batches, ask(4))  # 3 left: refused on the exact path
    assert isinstance(refused, NotEnoughSeats)
    stopped.advance(30)  # the hold is due: the next batch expires it first, exactly
    [taken] = commit(batches, ask(4))
    assert isinstance(taken, ReserveResult)
    assert (batches.fast_commits, batches.exact_commits) == (1, 3)
    assert store.get_reservation(reservation_id=held.reservation.reservation_id).status == EXPIRED
    summary = store.summary(event_id=EVENT)
    assert (summary.available_seats, summary.held_seats, summary.version) == (5, 0, 4)
    assert store.verify() == []


def test_a_window_closed_by_another_node_since_the_hint_refuses(open_orm_store, stopped) -> None:
    store, other_node = open_orm_store(), open_orm_store()
    store.ensure_event(event_id=EVENT, name="Batch day", total_seats=10)
    batches = primed(store, "fast")  # believes sales are open
    closes = (stopped.now_ms + 1) * 1000
    other_node.update_event(event_id=EVENT, changes=EventChanges(sales_close_us=closes))
    stopped.advance(0.001)
    assert [type(item) for item in commit(batches, ask(1), ask_hold(1))] == [SalesNotOpen] * 2
    assert (batches.fast_commits, batches.exact_commits) == (0, 2)
    assert state(store) == (9, 1, 1, 1)


def test_an_allocation_set_on_another_node_since_the_hint_refuses(open_orm_store) -> None:
    store, other_node = open_orm_store(), open_orm_store()
    store.ensure_event(event_id=EVENT, name="Batch day", total_seats=10)
    batches = primed(store, "fast", seats=2)
    other_node.set_allocation(event_id=EVENT, partner_id="p", seats=3)
    answers = commit(batches, ask(2))  # 2 + 2 > 3: the figures' CHECK says no
    assert isinstance(answers[0], AllocationExhausted)
    assert (batches.fast_commits, batches.exact_commits) == (0, 2)
    [fits] = commit(batches, ask(1, partner="p"))
    assert isinstance(fits, ReserveResult)
    [other] = commit(batches, ask(5, partner="q"))  # another partner: no cap
    assert isinstance(other, ReserveResult)
    assert store.verify() == []


def test_a_key_a_confirm_used_on_another_node_is_422_on_the_fast_path(open_orm_store) -> None:
    store, other_node = open_orm_store(), open_orm_store()
    store.ensure_event(event_id=EVENT, name="Batch day", total_seats=10)
    batches = primed(store, "fast")
    held = other_node.hold(event_id=EVENT, partner_id="p", seats=1).reservation
    other_node.confirm(reservation_id=held.reservation_id, idempotency_key="pay-1")
    [conflict, fine] = commit(batches, ask(1, key="pay-1"), ask(1, key="pay-2"))
    assert isinstance(conflict, IdempotencyConflict)
    assert isinstance(fine, ReserveResult)
    assert (batches.fast_commits, batches.exact_commits) == (0, 2)
    assert store.verify() == []


def test_a_hold_length_changed_on_another_node_is_the_one_used(open_orm_store) -> None:
    store, other_node = open_orm_store(), open_orm_store()
    store.ensure_event(event_id=EVENT, name="Batch day", total_seats=10)
    batches = primed(store, "fast")  # believes holds last 600 s
    other_node.update_event(event_id=EVENT, changes=EventChanges(hold_seconds=45))
    [held] = commit(batches, ask_hold(1))
    made = held.reservation
    span = timestamps.from_text(made.expires_at) - timestamps.from_text(made.created_at)
    assert span == 45_000_000
    assert (batches.fast_commits, batches.exact_commits) == (0, 2)


def prepared_plans(store: OrmStore) -> dict[str, tuple[int, int]]:
    """(generic, custom) plans of this thread's connection's prepared statements."""
    with connections[store.using].cursor() as cursor:
        cursor.execute("SELECT name, generic_plans, custom_plans FROM pg_prepared_statements")
        return {name: (generic, custom) for name, generic, custom in cursor.fetchall()}


def test_fast_batches_run_prepared_statements_from_cached_plans(open_orm_store) -> None:
    store = open_orm_store()
    store.ensure_event(event_id=EVENT, name="Batch day", total_seats=100)
    batches = primed(store, "fast")
    for _ in range(10):
        answers = commit(batches, ask(1), ask(2, key=new_reservation_id()))
        assert all(isinstance(answer, ReserveResult) for answer in answers)
    assert batches.fast_commits == 10
    plans = prepared_plans(store)
    # Planned once as a generic plan, then reused: no parse and no plan per batch.
    for name in ("ticketboss_take_seats", "ticketboss_insert_reservations"):
        generic, custom = plans[name]
        assert generic + custom == 10 and custom <= 5, (name, plans[name])
    assert state(store) == (100 - 1 - 10 * 3, 21, 21, 21)


def test_statements_dropped_under_the_store_cost_no_batch(open_orm_store) -> None:
    """A pooler's reset (DISCARD ALL) drops them: that batch still commits, exactly once."""
    store = open_orm_store()
    store.ensure_event(event_id=EVENT, name="Batch day", total_seats=100)
    batches = primed(store, "fast")
    commit(batches, ask(1))
    with connections[store.using].cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    [after_reset] = commit(batches, ask(5))
    [next_one] = commit(batches, ask(2))
    assert isinstance(after_reset, ReserveResult) and isinstance(next_one, ReserveResult)
    assert state(store) == (100 - 1 - 1 - 5 - 2, 4, 4, 4)
    # exact: the priming batch, and the one after the reset
    assert (batches.fast_commits, batches.exact_commits) == (2, 2)
    assert "ticketboss_take_seats" in prepared_plans(store)


def test_a_burst_of_batches_is_announced_at_its_start_and_once_after_it(open_orm_store) -> None:
    """Every committed change reaches LISTENers, but a burst sends two NOTIFYs, not one per
    batch: each serializes all notifying commits of the cluster, its fsync included."""
    store = open_orm_store()
    store.ensure_event(event_id=EVENT, name="Batch day", total_seats=100)
    params = listen_params(connections[store.using].get_connection_params())
    batches = ReserveBatches(store.using, notify_every_s=2.0)
    committer = Committer(
        batches.commit,
        queue_timeout_s=10,
        on_exit=lambda: connections[store.using].close(),
        on_idle=batches.idle_work,
    )
    with psycopg.connect(**params, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        try:
            for seats in range(1, 7):  # one writer at a time: six batches
                committer.submit(ask(seats))
            assert batches.fast_commits + batches.exact_commits == 6
            at_once = list(listener.notifies(timeout=0.5, stop_after=1))
            assert len(at_once) == 1  # the burst's first batch, announced with its commit
            assert batches.notifying_commits == 1
            after = list(listener.notifies(timeout=15, stop_after=1))
            assert len(after) == 1  # the other five, announced once the interval is over
            assert list(listener.notifies(timeout=0.5)) == []  # and nothing more
        finally:
            committer.close()
    assert batches.notifying_commits == 2
    assert state(store) == (100 - 21, 6, 6, 6)
