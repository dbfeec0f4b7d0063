"""Random reserve/cancel/restart sequences against a ten-line model (Hypothesis).

Every backend must agree with the model after every step, seen both from the
store that wrote and from a second store on the same data (another worker).
"""

from __future__ import annotations

import itertools
import shutil
import threading

import pytest
from django.db import transaction
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from reservations import models
from reservations.domain import IdempotencyConflict, NotEnoughSeats, ReservationNotFound
from reservations.store.jsonfile import JsonFileStore
from reservations.store.orm import OrmStore
from reservations.store.protocol import ReservationStore

TOTAL_SEATS = 12
_run_numbers = itertools.count()


class StoreMachine(RuleBasedStateMachine):
    opener = None  # set by the test: opens a store on the backend's shared data

    @initialize()
    def open_event(self) -> None:
        self.event_id = f"machine-{next(_run_numbers)}"
        self.writer = type(self).opener()
        self.reader = type(self).opener()
        self.writer.ensure_event(event_id=self.event_id, name="Machine", total_seats=TOTAL_SEATS)
        # the model: confirmed seats by id, every id ever made, keys -> (body, id), version
        self.confirmed: dict[str, int] = {}
        self.all_ids: list[str] = []
        self.keys: dict[str, tuple[tuple[str, int], str]] = {}
        self.version = 0

    @rule(
        seats=st.integers(1, 10),
        partner=st.sampled_from(["a", "b"]),
        key=st.none() | st.sampled_from(["k1", "k2", "k3"]),
    )
    def reserve(self, seats: int, partner: str, key: str | None) -> None:
        free = TOTAL_SEATS - sum(self.confirmed.values())
        try:
            result = self.writer.reserve(
                event_id=self.event_id, partner_id=partner, seats=seats, idempotency_key=key
            )
        except IdempotencyConflict:
            assert key in self.keys and self.keys[key][0] != (partner, seats)
            return
        except NotEnoughSeats:
            assert seats > free and (key not in self.keys)
            return
        rid = result.reservation.reservation_id
        if key in self.keys:
            assert result.replayed and self.keys[key] == ((partner, seats), rid)
            return
        assert seats <= free and not result.replayed and rid not in self.all_ids
        self.confirmed[rid] = seats
        self.all_ids.append(rid)
        if key is not None:
            self.keys[key] = ((partner, seats), rid)
        self.version += 1

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        if not self.all_ids:
            return
        rid = data.draw(st.sampled_from(self.all_ids))
        try:
            self.reader.cancel(reservation_id=rid)
        except ReservationNotFound:
            assert rid not in self.confirmed
            return
        assert self.confirmed.pop(rid)
        self.version += 1

    @rule()
    def restart(self) -> None:
        close_as_another_worker(self.writer)
        self.writer = type(self).opener()

    @invariant()
    def agrees_with_model(self) -> None:
        if not hasattr(self, "event_id"):
            return
        for store in (self.writer, self.reader):
            summary = store.summary(event_id=self.event_id)
            assert summary.available_seats == TOTAL_SEATS - sum(self.confirmed.values())
            assert summary.reservation_count == len(self.confirmed)
            assert summary.version == self.version

    def teardown(self) -> None:
        if hasattr(self, "writer"):
            try:
                assert self.writer.verify() == []
            finally:
                self.writer.close()
                self.reader.close()
                forget_event(self.writer, self.event_id)


def close_as_another_worker(store: ReservationStore) -> None:
    """Close a restarting store from a thread of its own.

    Why: OrmStore.close() also closes the calling thread's database connection, and
    here that one is the other store's too (Django keeps one per thread), so every
    restart made the reader reconnect, which no real worker's restart does (a seventh
    of the PostgreSQL run). The store's own committer thread and connection still end.
    """
    closer = threading.Thread(target=store.close, name="restart-close")
    closer.start()
    closer.join()


def forget_event(store: ReservationStore, event_id: str) -> None:
    """Remove a finished example's event from the shared data (its verify() has run).

    Why: verify() re-reads the whole store, so with every example's event left in place
    each teardown re-checked all earlier examples too, a cost growing with the square
    of the examples (a quarter of the run on PostgreSQL). A backend not named here
    keeps its events: still correct, only slower.
    """
    if isinstance(store, OrmStore):
        with transaction.atomic(using=store.using):
            for relation in models.Event._meta.related_objects:  # all PROTECT the event
                rows = relation.related_model.objects.using(store.using)
                rows.filter(**{relation.field.name: event_id}).delete()
            models.Event.objects.using(store.using).filter(pk=event_id).delete()
    elif isinstance(store, JsonFileStore) and (store.events_dir / event_id).exists():
        shutil.rmtree(store.events_dir / event_id)  # its stores are closed: no open files


def test_store_agrees_with_model(open_store) -> None:
    StoreMachine.opener = staticmethod(open_store)
    try:
        StoreMachine.TestCase.settings = settings(
            max_examples=25, stateful_step_count=30, deadline=None
        )
        StoreMachine.TestCase().runTest()
    finally:
        StoreMachine.opener = None


pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
