"""CONTRACT.md "Holds" at the store protocol: every store that keeps holds passes these.

Time moves only through reservations.clock's offset file (never a sleep). They run on
every backend: the JSON-file store, and the `db` store on PostgreSQL and SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reservations import clock, domain, timestamps
from reservations.domain import (
    HoldExpired,
    IdempotencyConflict,
    NotEnoughSeats,
    ReservationNotFound,
    ResizeBelowReserved,
)

# Every backend keeps holds: the suite's `open_store` (tests/contract/conftest.py) runs
# these on each of its STORE_BACKENDS.


EVENT = "holds-event"


START_MS = 1_900_000_000_000  # a stopped clock: nothing expires unless a test moves it


@pytest.fixture
def clock_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "clock"
    clock.set_time(path, at_ms=START_MS)
    clock.use_file(path)
    yield path
    clock.use_file(None)


@pytest.fixture
def advance(clock_file: Path):
    """advance(seconds): move every reader's "now" forward (ms precision)."""
    now = {"ms": START_MS}

    def move(seconds: float) -> None:
        now["ms"] += round(seconds * 1000)
        clock.set_time(clock_file, at_ms=now["ms"])

    return move


@pytest.fixture
def holds(store, clock_file):
    store.ensure_event(event_id=EVENT, name="Holds", total_seats=10)
    return store


def counts(store, event_id: str = EVENT) -> tuple[int, int, int, int, int]:
    """(available, held seats, holds, confirmed reservations, version)."""
    s = store.summary(event_id=event_id)
    return s.available_seats, s.held_seats, s.hold_count, s.reservation_count, s.version


def test_hold_takes_seats_until_expiry(holds) -> None:
    result = holds.hold(event_id=EVENT, partner_id="p", seats=3, hold_seconds=60)
    held = result.reservation
    assert (held.status, held.seats, result.replayed) == (domain.HELD, 3, False)
    assert timestamps.from_text(held.expires_at) - timestamps.from_text(held.created_at) == (
        60_000_000
    )
    assert counts(holds) == (7, 3, 1, 0, 1)
    summary = holds.summary(event_id=EVENT).as_dict()
    assert (summary["reservedSeats"], summary["heldSeats"], summary["holdCount"]) == (0, 3, 1)
    assert holds.get_reservation(reservation_id=held.reservation_id).status == domain.HELD


def test_default_hold_seconds_is_the_events(holds, open_store) -> None:
    held = holds.hold(event_id=EVENT, partner_id="p", seats=1).reservation
    span = timestamps.from_text(held.expires_at) - timestamps.from_text(held.created_at)
    assert span == domain.DEFAULT_HOLD_SECONDS * 1_000_000
    holds.ensure_event(event_id=EVENT, name="Holds", total_seats=10, hold_seconds=45)
    other = open_store()  # another worker, and the setting survives a restart
    held = other.hold(event_id=EVENT, partner_id="p", seats=1).reservation
    assert timestamps.from_text(held.expires_at) - timestamps.from_text(held.created_at) == (
        45_000_000
    )


def test_confirm_makes_it_a_reservation_once(holds) -> None:
    rid = holds.hold(event_id=EVENT, partner_id="p", seats=2).reservation.reservation_id
    confirmed = holds.confirm(reservation_id=rid)
    assert confirmed.status == domain.CONFIRMED
    assert counts(holds) == (8, 0, 0, 1, 2)
    again = holds.confirm(reservation_id=rid)
    assert again.status == domain.CONFIRMED
    assert counts(holds) == (8, 0, 0, 1, 2)  # nothing changed, version included


def test_confirm_on_a_plain_reservation_answers_it(holds) -> None:
    rid = holds.reserve(event_id=EVENT, partner_id="p", seats=2).reservation.reservation_id
    assert holds.confirm(reservation_id=rid).status == domain.CONFIRMED
    assert counts(holds) == (8, 0, 0, 1, 1)


def test_release_frees_the_seats_at_once(holds) -> None:
    rid = holds.hold(event_id=EVENT, partner_id="p", seats=4).reservation.reservation_id
    released = holds.cancel(reservation_id=rid)
    assert released.status == domain.CANCELLED
    assert counts(holds) == (10, 0, 0, 0, 2)
    for action in (holds.confirm, holds.cancel):
        with pytest.raises(ReservationNotFound):
            action(reservation_id=rid)
    assert counts(holds) == (10, 0, 0, 0, 2)


def test_cancel_after_confirm_cancels(holds) -> None:
    rid = holds.hold(event_id=EVENT, partner_id="p", seats=4).reservation.reservation_id
    holds.confirm(reservation_id=rid)
    assert holds.cancel(reservation_id=rid).status == domain.CANCELLED
    assert counts(holds) == (10, 0, 0, 0, 3)


def test_expiry_is_exact_for_every_reader(holds, open_store, advance) -> None:
    other = open_store()  # another worker, loaded before the expiry
    rid = holds.hold(event_id=EVENT, partner_id="p", seats=5, hold_seconds=30)
    rid = rid.reservation.reservation_id
    assert counts(other) == (5, 5, 1, 0, 1)
    advance(30 - 0.001)
    for reader in (holds, other):
        assert counts(reader) == (5, 5, 1, 0, 1)
    advance(0.001)  # now == expiresAt: free from this instant on
    for reader in (other, holds):
        assert counts(reader) == (10, 0, 0, 0, 2)
        assert reader.get_reservation(reservation_id=rid).status == domain.EXPIRED
    with pytest.raises(HoldExpired):
        holds.confirm(reservation_id=rid)
    with pytest.raises(ReservationNotFound):
        other.cancel(reservation_id=rid)
    assert counts(holds) == (10, 0, 0, 0, 2)
    assert holds.verify() == []


def test_an_expiry_is_recorded_once_and_survives_restart(holds, open_store, advance) -> None:
    for seats in (1, 2):
        holds.hold(event_id=EVENT, partner_id="p", seats=seats, hold_seconds=30)
    kept = holds.hold(event_id=EVENT, partner_id="p", seats=3, hold_seconds=90).reservation
    advance(31)
    holds.close()
    restarted = open_store()  # the expiries happened while "down": applied at start
    assert counts(restarted) == (7, 3, 1, 0, 5)
    assert restarted.verify() == []
    advance(60)
    assert counts(open_store()) == (10, 0, 0, 0, 6)
    statuses = {item.reservation_id: item.status for item in restarted.reservations()}
    assert statuses[kept.reservation_id] == domain.EXPIRED
    assert sorted(statuses.values()) == [domain.EXPIRED] * 3


def test_confirm_just_before_expiry_wins_for_good(holds, open_store, advance) -> None:
    rid = holds.hold(event_id=EVENT, partner_id="p", seats=2, hold_seconds=30)
    rid = rid.reservation.reservation_id
    advance(29.999)
    assert holds.confirm(reservation_id=rid).status == domain.CONFIRMED
    advance(100)
    assert open_store().get_reservation(reservation_id=rid).status == domain.CONFIRMED
    assert counts(holds) == (8, 0, 0, 1, 2)


def test_hold_refused_when_seats_are_held(holds, advance) -> None:
    holds.hold(event_id=EVENT, partner_id="p", seats=8, hold_seconds=30)
    before = counts(holds)
    with pytest.raises(NotEnoughSeats):
        holds.hold(event_id=EVENT, partner_id="q", seats=3)
    with pytest.raises(NotEnoughSeats):
        holds.reserve(event_id=EVENT, partner_id="q", seats=3)
    assert counts(holds) == before
    advance(30)
    assert holds.reserve(event_id=EVENT, partner_id="q", seats=3).reservation.seats == 3
    assert counts(holds) == (7, 0, 0, 1, 3)


def test_resize_cannot_drop_below_held_seats(holds) -> None:
    holds.hold(event_id=EVENT, partner_id="p", seats=6)
    with pytest.raises(ResizeBelowReserved):
        holds.ensure_event(event_id=EVENT, name="Holds", total_seats=5)
    assert holds.ensure_event(event_id=EVENT, name="Holds", total_seats=6).available_seats == 0


def test_idempotent_holds(holds) -> None:
    first = holds.hold(event_id=EVENT, partner_id="p", seats=2, idempotency_key="k")
    again = holds.hold(event_id=EVENT, partner_id="p", seats=2, idempotency_key="k")
    assert again.replayed and again.reservation.reservation_id == first.reservation.reservation_id
    assert again.reservation.expires_at == first.reservation.expires_at
    for other in (
        lambda: holds.hold(event_id=EVENT, partner_id="p", seats=3, idempotency_key="k"),
        lambda: holds.hold(
            event_id=EVENT, partner_id="p", seats=2, hold_seconds=60, idempotency_key="k"
        ),
        lambda: holds.reserve(event_id=EVENT, partner_id="p", seats=2, idempotency_key="k"),
    ):
        with pytest.raises(IdempotencyConflict):
            other()
    assert counts(holds) == (8, 2, 1, 0, 1)


def test_snapshots_keep_holds_and_their_expiry(holds, open_store, advance) -> None:
    """The json fixture compacts every 4 records: holds cross snapshots here."""
    ids = [
        holds.hold(
            event_id=EVENT, partner_id="p", seats=1, hold_seconds=30 + i
        ).reservation.reservation_id
        for i in range(6)
    ]
    holds.confirm(reservation_id=ids[0])
    holds.cancel(reservation_id=ids[1])
    reopened = open_store()
    assert counts(reopened) == (5, 4, 4, 1, 8)
    advance(32)  # the 32 s hold expires at this instant; the 33-35 s ones stay
    assert counts(open_store()) == (6, 3, 3, 1, 9)
    assert reopened.verify() == []


def test_idempotent_confirm(holds) -> None:
    rid = holds.hold(event_id=EVENT, partner_id="p", seats=2).reservation.reservation_id
    other = holds.hold(event_id=EVENT, partner_id="p", seats=1).reservation.reservation_id
    assert holds.confirm(reservation_id=rid, idempotency_key="c1").status == domain.CONFIRMED
    holds.cancel(reservation_id=rid)
    before = counts(holds)
    # The same key again: the first answer, although the reservation is cancelled now.
    replay = holds.confirm(reservation_id=rid, idempotency_key="c1")
    assert replay.reservation_id == rid
    for reused in (
        lambda: holds.confirm(reservation_id=other, idempotency_key="c1"),
        lambda: holds.hold(event_id=EVENT, partner_id="p", seats=1, idempotency_key="c1"),
    ):
        with pytest.raises(IdempotencyConflict):
            reused()
    assert counts(holds) == before


def test_a_key_on_a_confirmed_reservation_is_remembered(holds, open_store) -> None:
    rid = holds.reserve(event_id=EVENT, partner_id="p", seats=2).reservation.reservation_id
    version = counts(holds)[-1]
    holds.confirm(reservation_id=rid, idempotency_key="c2")
    assert counts(holds)[-1] == version  # remembering a key is no change to seats
    holds.cancel(reservation_id=rid)
    restarted = open_store()
    assert restarted.confirm(reservation_id=rid, idempotency_key="c2").reservation_id == rid
    with pytest.raises(ReservationNotFound):
        restarted.confirm(reservation_id=rid, idempotency_key="c3")
