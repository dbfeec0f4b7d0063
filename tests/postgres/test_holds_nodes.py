"""Two `db` stores (two nodes, each with its own committer and connections) on one
PostgreSQL race holds, confirms, expiries and an allocation: never a seat sold twice,
never a partner past its allocation, every counter in step (check_store's verify).

Time is a stopped clock file (reservations.clock) that the test moves while the
writers run, so expiries race the confirms; nothing sleeps.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reservations import clock
from reservations.domain import (
    CONFIRMED,
    EXPIRED,
    HELD,
    HoldExpired,
    NotEnoughSeats,
    Reservation,
)
from reservations.organizing import AllocationExhausted, NewEvent
from reservations.store.orm import OrmStore
from tests.support.clock import StoppedClock

pytestmark = pytest.mark.postgres

EVENT = "nodes-holds"
WRITERS = 60


@pytest.fixture
def time(tmp_path: Path) -> Iterator[StoppedClock]:
    stopped = StoppedClock(tmp_path / "clock")
    clock.use_file(stopped.path)
    yield stopped
    clock.use_file(None)


@pytest.fixture
def nodes(open_orm_store: Callable[[], OrmStore], time: StoppedClock) -> list[OrmStore]:
    return [open_orm_store(), open_orm_store()]


def together(nodes: list[OrmStore], actions: list[Callable[[OrmStore], Any]]) -> list[Any]:
    """Run every action at once (a barrier), alternating nodes; each result or exception."""
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def run(index: int) -> None:
        node = nodes[index % len(nodes)]
        barrier.wait()
        try:
            results[index] = actions[index](node)
        except Exception as exc:  # the answer under test
            results[index] = exc
        finally:
            node.drop_connection()  # this thread's connection, if it opened one

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def outcomes(results: list[Any]) -> Counter[str]:
    return Counter(type(item).__name__ for item in results)


def test_holds_race_for_the_last_seats_then_confirms_race_the_expiry(nodes, time) -> None:
    first, second = nodes
    first.create_event(event=NewEvent(event_id=EVENT, name="Nodes", total_seats=30))
    for _ in range(2):
        first.reserve(event_id=EVENT, partner_id="filler", seats=5)

    def hold(index: int) -> Callable[[OrmStore], Any]:
        return lambda node: (
            node.hold(
                event_id=EVENT, partner_id=f"racer-{index}", seats=1, hold_seconds=60
            ).reservation
        )

    held = together(nodes, [hold(i) for i in range(WRITERS)])
    assert outcomes(held) == {"Reservation": 20, "NotEnoughSeats": WRITERS - 20}
    ids = [item.reservation_id for item in held if not isinstance(item, NotEnoughSeats)]
    for node in nodes:
        s = node.summary(event_id=EVENT)
        assert (s.available_seats, s.held_seats, s.hold_count, s.version) == (0, 20, 20, 22)

    # Half of them confirm, on both nodes, while the clock jumps past every expiry.
    confirmers = ids[:10]
    actions: list[Callable[[OrmStore], Any]] = [confirm(rid) for rid in confirmers]
    actions.append(lambda node: time.advance(60))
    answers = together(nodes, actions)[:-1]
    won = {
        rid
        for rid, answer in zip(confirmers, answers, strict=True)
        if isinstance(answer, Reservation)
    }
    assert all(isinstance(answer, HoldExpired) or answer.status == CONFIRMED for answer in answers)
    for rid in ids:  # exactly one winner per hold: confirmed for good, or expired
        status = second.get_reservation(reservation_id=rid).status
        assert status == (CONFIRMED if rid in won else EXPIRED)
    s = first.summary(event_id=EVENT)
    assert (s.held_seats, s.hold_count) == (0, 0)
    assert (s.reservation_count, s.available_seats) == (2 + len(won), 20 - len(won))
    assert s.version == 2 + 20 + 20  # every hold, then each confirmed or expired once
    stats = second.stats(event_id=EVENT)
    assert sum(p.confirmed_seats for p in stats.partners) == 10 + len(won)
    assert stats.per_minute[-1]["cumulative"] == 10 + len(won)
    assert first.verify() == [] and second.verify() == []


def test_an_allocation_holds_across_nodes_through_holds_and_expiries(nodes, time) -> None:
    first, second = nodes
    first.create_event(event=NewEvent(event_id=EVENT, name="Nodes", total_seats=200))
    second.set_allocation(event_id=EVENT, partner_id="acme", seats=15)

    def take(index: int) -> Callable[[OrmStore], Any]:
        if index % 2:
            return lambda node: node.reserve(event_id=EVENT, partner_id="acme", seats=1)
        return lambda node: node.hold(event_id=EVENT, partner_id="acme", seats=1, hold_seconds=30)

    holds = together(nodes, [take(0)] * WRITERS)
    assert outcomes(holds) == {"ReserveResult": 15, "AllocationExhausted": WRITERS - 15}
    assert acme(second) == 15
    kept = [item.reservation.reservation_id for item in holds if not isinstance(item, Exception)]
    for rid in kept[:5]:
        first.confirm(reservation_id=rid)
    # The other 10 expire: their seats come back to the partner's allocation, and a race
    # of reserves and holds on both nodes takes exactly those again.
    time.advance(30)
    assert acme(first) == 5
    again = together(nodes, [take(i) for i in range(WRITERS)])
    assert outcomes(again) == {"ReserveResult": 10, "AllocationExhausted": WRITERS - 10}
    assert acme(second) == 15
    # Others are not capped by acme's allocation.
    assert second.reserve(event_id=EVENT, partner_id="globex", seats=10).reservation.seats == 10
    with pytest.raises(AllocationExhausted):
        first.reserve(event_id=EVENT, partner_id="acme", seats=1)
    assert first.verify() == [] and second.verify() == []


def confirm(rid: str) -> Callable[[OrmStore], Any]:
    return lambda node: node.confirm(reservation_id=rid)


def acme(node: OrmStore) -> int:
    """acme's confirmed plus held seats, from its figures and from its reservations."""
    (figures,) = [p for p in node.stats(event_id=EVENT).partners if p.partner_id == "acme"]
    counted = sum(
        r.seats
        for r in node.reservations(event_id=EVENT)
        if r.partner_id == "acme" and r.status in (CONFIRMED, HELD)
    )
    assert figures.taken_seats == counted
    return counted
