"""What the shared contract suite cannot show: races on one key, NOTIFY, a lost database."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections, transaction

from reservations.domain import StoreUnavailable
from tests.support.postgres import PostgresCluster
from tests.support.server import wait_until
from ticketboss_site.database import CONNECT_TIMEOUT_S

pytestmark = pytest.mark.postgres

EVENT = "race-day"


def test_one_key_sent_by_many_nodes_at_once_books_once(open_orm_store) -> None:
    stores = [open_orm_store() for _ in range(4)]
    stores[0].ensure_event(event_id=EVENT, name="Race day", total_seats=100)
    start = threading.Barrier(16)

    def attempt(index: int):
        start.wait(timeout=30)
        store = stores[index % len(stores)]
        try:
            return store.reserve(event_id=EVENT, partner_id="p", seats=3, idempotency_key="k-42")
        finally:
            store.drop_connection()  # this thread's connection, before the pool thread idles

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(attempt, range(16)))

    assert len({result.reservation.reservation_id for result in results}) == 1
    assert sum(not result.replayed for result in results) == 1
    summary = stores[0].summary(event_id=EVENT)
    assert (summary.available_seats, summary.reservation_count, summary.version) == (97, 1, 1)


def test_wait_for_change_wakes_on_a_write_from_another_node(open_orm_store) -> None:
    watcher, writer = open_orm_store(), open_orm_store()
    writer.ensure_event(event_id=EVENT, name="Race day", total_seats=10)
    stamp = watcher.wait_for_change(since=None, timeout=5)
    assert watcher.wait_for_change(since=stamp, timeout=0.2) == stamp  # nothing happened
    woke_at: list[float] = []

    def watch() -> None:
        watcher.wait_for_change(since=stamp, timeout=10)
        woke_at.append(time.monotonic())

    thread = threading.Thread(target=watch)
    thread.start()
    written_at = time.monotonic()
    writer.reserve(event_id=EVENT, partner_id="p", seats=1)
    thread.join(timeout=10)
    assert woke_at and woke_at[0] - written_at < 1.0


def test_lost_database_raises_store_unavailable_then_recovers(
    open_orm_store, postgres_cluster: PostgresCluster
) -> None:
    store = open_orm_store()
    store.ensure_event(event_id=EVENT, name="Race day", total_seats=10)
    store.reserve(event_id=EVENT, partner_id="p", seats=2)
    postgres_cluster.stop()
    try:
        with pytest.raises(StoreUnavailable):
            store.reserve(event_id=EVENT, partner_id="p", seats=2)
        with pytest.raises(StoreUnavailable):
            store.summary(event_id=EVENT)
    finally:
        postgres_cluster.start()
    store.reserve(event_id=EVENT, partner_id="p", seats=2)  # no reopening: a new connection
    summary = store.summary(event_id=EVENT)
    assert (summary.available_seats, summary.reservation_count, summary.version) == (6, 2, 2)
    assert store.verify() == []


@pytest.mark.parametrize("opener", ["open_orm_store", "open_pooled_orm_store"])
def test_a_lost_database_refuses_calls_at_once_and_logs_the_outage_once(
    opener: str, request, postgres_cluster: PostgresCluster, caplog
) -> None:
    """Once one call found the database lost, the others are refused without waiting out
    the connect timeout each (3 s with a pool: a reserve behind the committer's
    announcement waited twice); the log has the outage's start and end, not a line a call."""
    store = request.getfixturevalue(opener)()
    store.ensure_event(event_id=EVENT, name="Race day", total_seats=10)
    store.reserve(event_id=EVENT, partner_id="p", seats=1)
    caplog.set_level(logging.INFO, logger="reservations.store.orm")
    postgres_cluster.stop()
    try:
        with pytest.raises(StoreUnavailable):
            store.summary(event_id=EVENT)  # finds it lost
        started = time.monotonic()
        for _ in range(10):
            with pytest.raises(StoreUnavailable):
                store.reserve(event_id=EVENT, partner_id="p", seats=1)
            with pytest.raises(StoreUnavailable):
                store.summary(event_id=EVENT)
        refused_in = time.monotonic() - started
    finally:
        postgres_cluster.start()
    outage = [record.getMessage() for record in caplog.records]
    wait_until(lambda: _served(store), timeout=10, message="a call served once it is back")
    assert refused_in < CONNECT_TIMEOUT_S, f"20 calls refused in {refused_in:.1f}s"
    assert len(outage) == 1, outage
    assert outage[0].startswith("database unavailable in summary: ")
    back = caplog.records[-1]
    assert back.levelno == logging.WARNING
    assert back.getMessage().startswith("database back: 2")  # the 21 refused and any more
    summary = store.summary(event_id=EVENT)
    assert (summary.available_seats, summary.reservation_count) == (8, 2)


def _served(store) -> bool:
    try:
        store.reserve(event_id=EVENT, partner_id="p", seats=1)
    except StoreUnavailable:
        return False
    return True


def test_the_committer_keeps_a_connection_of_its_own_outside_the_pool(
    open_pooled_orm_store,
) -> None:
    """With TICKETBOSS_DB_POOL=1, reads after a reservation: the committer's connection,
    kept for its life, once came from the pool and left none for them (503 "busy")."""
    store = open_pooled_orm_store()
    store.ensure_event(event_id=EVENT, name="Race day", total_seats=10)
    store.reserve(event_id=EVENT, partner_id="p", seats=1)
    started = time.monotonic()
    assert store.summary(event_id=EVENT).available_seats == 9
    assert time.monotonic() - started < CONNECT_TIMEOUT_S  # not a wait for the pool
    store.reserve(event_id=EVENT, partner_id="p", seats=1)
    assert store.summary(event_id=EVENT).available_seats == 8


def test_no_pooled_connection_in_time_is_a_503_and_keeps_the_pool(open_pooled_orm_store) -> None:
    """A request that waits past the pool's timeout (every connection busy, say on row
    locks) gets StoreUnavailable, once; the pool the others use is not torn down as if
    the database were lost, and serves the next request at once."""
    store = open_pooled_orm_store()
    store.ensure_event(event_id=EVENT, name="Race day", total_seats=10)
    alias = store.using
    holding, release = threading.Event(), threading.Event()

    def hold_the_only_connection() -> None:
        with transaction.atomic(using=alias):
            connections[alias].cursor().execute("SELECT 1")
            holding.set()
            release.wait(timeout=30)
        store.release_pooled_connection()

    holder = threading.Thread(target=hold_the_only_connection)
    holder.start()
    try:
        assert holding.wait(timeout=30)
        pool = connections[alias].pool
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match=r"^The service is busy; nothing was changed"):
            store.summary(event_id=EVENT)
        waited = time.monotonic() - started
    finally:
        release.set()
        holder.join(timeout=30)
    assert waited < 5.0, waited  # one wait of the pool's 3 s timeout, not a second try
    assert connections[alias].pool is pool
    assert store.summary(event_id=EVENT).available_seats == 10
