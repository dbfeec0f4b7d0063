"""reservations.store.outage.DatabaseGate: while the database is lost, calls are refused
at once, one probe at a time finds it back, and the outage is logged once, not per call."""

from __future__ import annotations

import logging
import threading

import pytest

from reservations.domain import StoreUnavailable
from reservations.store.outage import DatabaseGate

LOGGER = "tests.database_gate"


class Database:
    """A probe target: reachable or not, and how often it was probed."""

    def __init__(self) -> None:
        self.up = True
        self.probed = 0

    def probe(self) -> None:
        self.probed += 1
        if not self.up:
            raise ConnectionRefusedError("connection refused")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def database() -> Database:
    return Database()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def gate(database: Database, clock: Clock) -> DatabaseGate:
    return DatabaseGate(
        database.probe,
        logging.getLogger(LOGGER),
        probe_every_s=0.2,
        summary_every_s=10.0,
        clock=clock,
    )


def lose(gate: DatabaseGate, database: Database) -> None:
    database.up = False
    gate.lost("reserve", ConnectionError("server closed the connection"))


def test_an_open_gate_lets_calls_through_without_probing(gate, database) -> None:
    for _ in range(3):
        gate.enter()
    assert database.probed == 0
    assert gate.is_open


def test_a_lost_database_is_probed_by_the_next_call_and_refused_at_once_after(
    gate, database, clock
) -> None:
    lose(gate, database)
    with pytest.raises(StoreUnavailable):
        gate.enter()  # probes at once: one dropped connection costs one connect
    assert database.probed == 1
    for _ in range(50):  # within the probe interval: refused without touching the database
        with pytest.raises(StoreUnavailable):
            gate.enter()
    assert database.probed == 1
    clock.now += 0.2
    with pytest.raises(StoreUnavailable):
        gate.enter()
    assert database.probed == 2


def test_the_first_probe_that_connects_opens_the_gate_for_every_call(gate, database, clock) -> None:
    lose(gate, database)
    with pytest.raises(StoreUnavailable):
        gate.enter()
    database.up = True
    with pytest.raises(StoreUnavailable):
        gate.enter()  # not its turn yet: the last probe was just now
    clock.now += 0.2
    gate.enter()
    assert gate.is_open
    gate.enter()
    assert database.probed == 2


def test_a_dropped_connection_with_the_database_up_costs_one_probe(gate, database) -> None:
    for times in (1, 2):  # the second right after the first: its probe is not put off
        gate.lost("summary", ConnectionError("terminating connection"))  # the server is fine
        gate.enter()
        assert gate.is_open
        assert database.probed == times


def test_one_probe_at_a_time_the_others_are_refused_meanwhile(database, clock) -> None:
    probing, finish = threading.Event(), threading.Event()

    def slow_probe() -> None:  # a connect that takes its time (an unreachable host)
        database.probed += 1
        probing.set()
        assert finish.wait(timeout=30)
        raise TimeoutError("connect timed out")

    gate = DatabaseGate(slow_probe, logging.getLogger(LOGGER), clock=clock)
    gate.lost("reserve", ConnectionError("lost"))
    failures: list[BaseException] = []

    def first_call() -> None:
        try:
            gate.enter()
        except StoreUnavailable as exc:
            failures.append(exc)

    prober = threading.Thread(target=first_call)
    prober.start()
    assert probing.wait(timeout=30)
    clock.now += 60  # long past the probe interval: still only the one probe in flight
    for _ in range(20):
        with pytest.raises(StoreUnavailable):
            gate.enter()
    finish.set()
    prober.join(timeout=30)
    assert database.probed == 1
    assert len(failures) == 1


def test_an_outage_is_logged_once_summed_up_while_it_lasts_and_its_end_once(
    gate, database, clock, caplog
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    lose(gate, database)
    for _ in range(4):  # calls in flight when it went: they fail too, and are counted
        gate.lost("summary", ConnectionError("server closed the connection"))
    for _ in range(95):
        with pytest.raises(StoreUnavailable):
            gate.enter()
    assert [r.getMessage() for r in caplog.records] == [
        "database unavailable in reserve: server closed the connection; "
        "answering 503 at once until it is back"
    ]
    assert caplog.records[0].levelno == logging.ERROR
    clock.now += 10.0
    with pytest.raises(StoreUnavailable):
        gate.enter()  # probes (and fails): 101st refusal, a summary is due
    assert caplog.records[-1].getMessage() == (
        "database still unavailable after 10 s: 101 calls refused (last: connection refused)"
    )
    clock.now += 2.5
    database.up = True
    gate.enter()
    assert caplog.records[-1].levelno == logging.WARNING
    assert caplog.records[-1].getMessage() == (
        "database back: 101 calls refused in the 12.5 s since this process found it lost"
    )
    assert len(caplog.records) == 3
    gate.enter()
    assert len(caplog.records) == 3


def test_reachable_tells_a_busy_pool_from_a_lost_database_with_few_probes(
    gate, database, clock
) -> None:
    """After a pool's wait timed out: every connection busy (the database takes a new
    one) or the database lost; under an overload, one probe a second, not one a call."""
    for _ in range(20):
        assert gate.reachable()
    assert database.probed == 1
    clock.now += 1.0
    database.up = False
    assert not gate.reachable()
    assert not gate.reachable()  # a failed probe vouches for nothing: each call looks
    assert database.probed == 3
