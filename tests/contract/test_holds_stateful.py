"""Random reserve / hold / confirm / release / cancel / advance-time / restart sequences
against a small model (Hypothesis), on every store that keeps holds.

Time is a stopped clock (reservations.clock) that only the `advance` rule moves,
so each step's expected answer is exact. Checked after every step from the store
that wrote and from a second one on the same data (another worker).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from reservations import clock, domain, timestamps
from reservations.domain import HoldExpired, NotEnoughSeats, ReservationNotFound
from tests.contract.test_store_stateful import close_as_another_worker, forget_event

# Every backend keeps holds: the suite's `open_store` (tests/contract/conftest.py) runs
# these on each of its STORE_BACKENDS.


TOTAL_SEATS = 12
START_MS = 1_900_000_000_000
_run_numbers = itertools.count()


@dataclass
class Booking:
    seats: int
    status: str
    expires_ms: int | None = None


class HoldMachine(RuleBasedStateMachine):
    opener = None
    clock_path: Path | None = None

    @initialize()
    def open_event(self) -> None:
        self.now_ms = START_MS
        clock.set_time(type(self).clock_path, at_ms=self.now_ms)
        self.event_id = f"holds-machine-{next(_run_numbers)}"
        self.writer = type(self).opener()
        self.reader = type(self).opener()
        self.writer.ensure_event(event_id=self.event_id, name="Machine", total_seats=TOTAL_SEATS)
        self.bookings: dict[str, Booking] = {}
        self.changes = 0  # every change but expiries (those are counted from the model)

    # ------------------------------------------------------------------ model

    def status(self, rid: str) -> str:
        item = self.bookings[rid]
        if item.status == domain.HELD and item.expires_ms <= self.now_ms:
            return domain.EXPIRED
        return item.status

    def taken(self, status: str) -> int:
        return sum(b.seats for rid, b in self.bookings.items() if self.status(rid) == status)

    def free(self) -> int:
        return TOTAL_SEATS - self.taken(domain.CONFIRMED) - self.taken(domain.HELD)

    def version(self) -> int:
        expired = sum(1 for rid in self.bookings if self.status(rid) == domain.EXPIRED)
        return self.changes + expired

    # ------------------------------------------------------------------ rules

    # Few hold lengths and time steps, so that steps land exactly on an expiry often.
    @rule(seats=st.integers(1, 10), hold_seconds=st.none() | st.sampled_from([1, 2, 30]))
    def book(self, seats: int, hold_seconds: int | None) -> None:
        free = self.free()
        store = self.writer
        try:
            if hold_seconds is None:
                made = store.reserve(event_id=self.event_id, partner_id="p", seats=seats)
            else:
                made = store.hold(
                    event_id=self.event_id, partner_id="p", seats=seats, hold_seconds=hold_seconds
                )
        except NotEnoughSeats:
            assert seats > free
            return
        assert seats <= free
        reservation = made.reservation
        if hold_seconds is None:
            self.bookings[reservation.reservation_id] = Booking(seats, domain.CONFIRMED)
        else:
            expires = timestamps.from_text(reservation.expires_at) // 1000
            assert expires == self.now_ms + hold_seconds * 1000
            self.bookings[reservation.reservation_id] = Booking(seats, domain.HELD, expires)
        self.changes += 1

    @rule(data=st.data())
    def confirm(self, data: st.DataObject) -> None:
        if not self.bookings:
            return
        rid = data.draw(st.sampled_from(list(self.bookings)))
        status = self.status(rid)
        try:
            answer = self.reader.confirm(reservation_id=rid)
        except HoldExpired:
            assert status == domain.EXPIRED
            return
        except ReservationNotFound:
            assert status == domain.CANCELLED
            return
        assert status in (domain.HELD, domain.CONFIRMED) and answer.status == domain.CONFIRMED
        if status == domain.HELD:
            self.bookings[rid].status = domain.CONFIRMED
            self.changes += 1

    @rule(data=st.data())
    def cancel_or_release(self, data: st.DataObject) -> None:
        if not self.bookings:
            return
        rid = data.draw(st.sampled_from(list(self.bookings)))
        status = self.status(rid)
        try:
            self.writer.cancel(reservation_id=rid)
        except ReservationNotFound:
            assert status in (domain.CANCELLED, domain.EXPIRED)
            return
        assert status in (domain.HELD, domain.CONFIRMED)
        self.bookings[rid].status = domain.CANCELLED
        self.changes += 1

    @rule(ms=st.sampled_from([1, 999, 1000, 30_000]))
    def advance(self, ms: int) -> None:
        self.now_ms += ms
        clock.set_time(type(self).clock_path, at_ms=self.now_ms)

    @rule()
    def restart(self) -> None:
        close_as_another_worker(self.writer)
        self.writer = type(self).opener()

    @invariant()
    def agrees_with_model(self) -> None:
        if not hasattr(self, "event_id"):
            return
        for store in (self.writer, self.reader):
            s = store.summary(event_id=self.event_id)
            assert s.available_seats == self.free()
            assert s.held_seats == self.taken(domain.HELD)
            assert s.hold_count == sum(
                1 for rid in self.bookings if self.status(rid) == domain.HELD
            )
            assert s.reservation_count == sum(
                1 for rid in self.bookings if self.status(rid) == domain.CONFIRMED
            )
            assert s.version == self.version()
        for rid in self.bookings:
            assert self.reader.get_reservation(reservation_id=rid).status == self.status(rid)

    def teardown(self) -> None:
        if hasattr(self, "writer"):
            try:
                assert self.writer.verify() == []
            finally:
                self.writer.close()
                self.reader.close()
                forget_event(self.writer, self.event_id)  # verify() then reads one event


def test_holds_agree_with_model(open_store, tmp_path: Path) -> None:
    open_store().close()  # the backend opens, and its data folder exists
    HoldMachine.opener = staticmethod(open_store)
    HoldMachine.clock_path = tmp_path / "clock"
    clock.set_time(HoldMachine.clock_path, at_ms=START_MS)
    clock.use_file(HoldMachine.clock_path)
    try:
        HoldMachine.TestCase.settings = settings(
            max_examples=60, stateful_step_count=40, deadline=None
        )
        HoldMachine.TestCase().runTest()
    finally:
        HoldMachine.opener = None
        clock.use_file(None)


pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
