"""Holds in the operator's tools: seed_event --hold-seconds, check_store's invariant,
and export/import carrying every hold with its status and expiry."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from reservations import clock, domain, timestamps
from reservations.event_state import EventState
from reservations.store import build_store, reset_store
from reservations.store.jsonfile import JsonFileStore
from reservations.store.transfer import dump_store, load_events, states_from_dump
from tests.unit.test_commands import run_manage

START_MS = 1_900_000_000_000


@pytest.fixture
def stopped_clock(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "clock"
    clock.set_time(path, at_ms=START_MS)
    clock.use_file(path)
    yield path
    clock.use_file(None)


def test_seed_event_sets_the_events_hold_seconds(stopped_clock) -> None:
    out = io.StringIO()
    call_command("seed_event", "fest", "--name", "Fest", "--seats", "9", "--hold-seconds", "90",
                 stdout=out)  # fmt: skip
    store = build_store()
    held = store.hold(event_id="fest", partner_id="p", seats=1).reservation
    store.close()
    reset_store()
    assert timestamps.from_text(held.expires_at) == (START_MS + 90_000) * 1000
    with pytest.raises(CommandError, match="holdSeconds"):
        call_command("seed_event", "fest", "--name", "Fest", "--seats", "9", "--hold-seconds", "0")


def test_invariant_counts_held_seats() -> None:
    state = EventState(event_id="e", name="E", total_seats=10)
    state.apply_reserve(
        domain.new_confirmed_reservation(
            reservation_id=domain.new_reservation_id(),
            event_id="e",
            partner_id="p",
            seats=3,
            idempotency_key=None,
            fingerprint="f",
            hold_seconds=60,
        )
    )
    assert state.invariant_problems() == []
    assert (state.available_seats, state.held_seats, state.hold_count) == (7, 3, 1)
    state.available_seats += 3  # as if the hold's seats were free while it is held
    problems = state.invariant_problems()
    assert problems and "held seats 3" in problems[0]


def test_check_store_is_sound_with_holds_open(stopped_clock) -> None:
    store = build_store()
    store.ensure_event(event_id="e1", name="E1", total_seats=5)
    store.hold(event_id="e1", partner_id="p", seats=2)
    store.close()
    sound = run_manage("check_store")
    assert sound.returncode == 0, sound.stderr


def test_export_import_carries_holds(stopped_clock, tmp_path: Path) -> None:
    source = JsonFileStore(settings.TICKETBOSS_DATA_DIR, compact_min_records=3)
    source.ensure_event(event_id="trip", name="Trip", total_seats=20, hold_seconds=45)
    ids = [
        source.hold(
            event_id="trip", partner_id="p", seats=2, hold_seconds=30 + 30 * i
        ).reservation.reservation_id
        for i in range(4)
    ]
    source.confirm(reservation_id=ids[1], idempotency_key="pay-1")
    source.cancel(reservation_id=ids[2])
    source.reserve(event_id="trip", partner_id="q", seats=1)
    clock.set_time(stopped_clock, at_ms=START_MS + 30_000)  # the first hold expires
    document = dump_store(source)
    [event] = document["events"]
    assert (event["heldSeats"], event["holdCount"], event["holdSeconds"]) == (2, 1, 45)
    target = JsonFileStore(tmp_path / "target")
    load_events(target, states_from_dump(document))
    assert target.summary(event_id="trip") == source.summary(event_id="trip")
    assert target.hold_seconds(event_id="trip") == 45
    assert target.confirm_keys(event_id="trip") == {"pay-1": ids[1]}
    before = {r.reservation_id: r for r in source.reservations(event_id="trip")}
    after = {r.reservation_id: r for r in target.reservations(event_id="trip")}
    assert after == before
    assert [after[rid].status for rid in ids] == ["expired", "confirmed", "cancelled", "held"]
    clock.set_time(stopped_clock, at_ms=START_MS + 120_000)  # the last hold expires too
    assert target.summary(event_id="trip").held_seats == 0
    assert target.verify() == []
    source.close()
    target.close()
