"""A store dump is checked against the rules a live request meets before anything is loaded."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reservations.store.jsonfile import JsonFileStore
from reservations.store.transfer import DumpError, dump_store, states_from_dump


@pytest.fixture(scope="module")
def dump(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    store = JsonFileStore(Path(tmp_path_factory.mktemp("source")))
    try:
        store.ensure_event(event_id="checked-fest", name="Checked Fest", total_seats=50)
        store.reserve(event_id="checked-fest", partner_id="box office", seats=2)
        store.reserve(event_id="checked-fest", partner_id="app", seats=1, idempotency_key="k-1")
        return dump_store(store)
    finally:
        store.close()


def _first_reservation(document: dict[str, Any]) -> dict[str, Any]:
    return document["events"][0]["reservations"][0]


def _set(field: str, value: object) -> Callable[[dict[str, Any]], None]:
    return lambda document: _first_reservation(document).__setitem__(field, value)


def _set_event(field: str, value: object) -> Callable[[dict[str, Any]], None]:
    return lambda document: document["events"][0].__setitem__(field, value)


def test_a_sound_dump_is_accepted(dump) -> None:
    [state] = states_from_dump(copy.deepcopy(dump))
    assert (state.event_id, len(state.reservations)) == ("checked-fest", 2)
    assert state.available_seats == 47


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_set("partnerId", "tab\there"), "partnerId must not contain control characters"),
        (_set("partnerId", "  padded  "), "partnerId has surrounding spaces"),
        (_set("partnerId", "x" * 101), "partnerId must be at most 100 characters"),
        (_set("seats", 0), "seats must be from 1 to 10"),
        (_set("seats", "2"), "seats must be a whole number"),
        (_set("idempotencyKey", "naïve"), "Idempotency-Key must be 1 to 200 printable ASCII"),
        (_set("createdAt", "last Tuesday"), "cannot be read"),
        (_set("reservationId", "not-a-uuid"), "is not a canonical UUID"),
        (_set_event("eventId", "Not A Slug"), "eventId must be 1 to 64 lowercase"),
        (_set_event("name", "   "), "name must not be blank"),
        (_set_event("totalSeats", -1), "totalSeats must be a whole number"),
    ],
    ids=[
        "partner-control-char",
        "partner-padded",
        "partner-too-long",
        "seats-zero",
        "seats-string",
        "key-not-ascii",
        "created-at-garbage",
        "id-not-uuid",
        "event-id",
        "event-name",
        "total-seats",
    ],
)
def test_a_dump_breaking_a_request_rule_is_refused(dump, damage, message) -> None:
    document = copy.deepcopy(dump)
    damage(document)
    with pytest.raises(DumpError, match=message):
        states_from_dump(document)
