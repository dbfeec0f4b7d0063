"""Domain rules on their own: validation, seat arithmetic, idempotency."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reservations import domain, timestamps
from reservations.domain import (
    HELD,
    IdempotencyConflict,
    InvalidRequest,
    NotEnoughSeats,
    Reservation,
    ReservationNotFound,
    ResizeBelowReserved,
    StoreCorrupt,
)
from reservations.event_state import EventState


@pytest.mark.parametrize("value", [1, 5, 10])
def test_seats_accepts_json_integers_1_to_10(value) -> None:
    assert domain.validate_seats(value) == value


@pytest.mark.parametrize(
    "value",
    [0, 11, -1, 3.0, 3.5, "3", True, False, None, [3], {"n": 3}, 10**30],
    ids=repr,
)
def test_seats_refuses_everything_else(value) -> None:
    with pytest.raises(InvalidRequest) as error:
        domain.validate_seats(value)
    assert "seats" in error.value.details


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("abc", "abc"),
        ("  padded  ", "padded"),
        ("x" * 100, "x" * 100),
        ("Zoë 🎟️ 东京", "Zoë 🎟️ 东京"),
    ],
    ids=["plain", "trimmed", "max-length", "unicode"],
)
def test_partner_id_is_trimmed_and_any_unicode_is_fine(value, stored) -> None:
    assert domain.validate_partner_id(value) == stored


@pytest.mark.parametrize(
    "value",
    ["", "   ", "x" * 101, "a\x00b", "a\nb", "tab\there", "del\x7f", "\ud800", 7, None, ["a"]],
    ids=[
        "empty",
        "blank",
        "too-long",
        "nul",
        "newline",
        "tab",
        "del",
        "surrogate",
        "int",
        "null",
        "list",
    ],
)
def test_partner_id_refusals(value) -> None:
    with pytest.raises(InvalidRequest) as error:
        domain.validate_partner_id(value)
    assert "partnerId" in error.value.details


@pytest.mark.parametrize("key", ["k", "order-42", "~" * 200, "a b"])
def test_idempotency_key_accepts_printable_ascii(key) -> None:
    assert domain.validate_idempotency_key(key) == key


@pytest.mark.parametrize("key", ["", "x" * 201, "é", "a\tb", "a\x7f"])
def test_idempotency_key_refusals(key) -> None:
    with pytest.raises(InvalidRequest):
        domain.validate_idempotency_key(key)


@pytest.mark.parametrize("event_id", ["node-meetup-2025", "a", "x_1", "9" * 64])
def test_event_id_slugs(event_id) -> None:
    assert domain.validate_event_id(event_id) == event_id


@pytest.mark.parametrize("event_id", ["", "-x", "Upper", "a/b", "..", "x" * 65, "a b"])
def test_event_id_refusals(event_id) -> None:
    with pytest.raises(InvalidRequest):
        domain.validate_event_id(event_id)


def test_reservation_ids_have_one_spelling() -> None:
    rid = domain.new_reservation_id()
    assert domain.normalize_reservation_id(rid) == rid
    for other in (rid.upper(), "{" + rid + "}", "urn:uuid:" + rid, rid.replace("-", ""), "nope"):
        assert domain.normalize_reservation_id(other) is None, other


def test_fingerprint_tells_bodies_apart() -> None:
    fp = domain.request_fingerprint
    assert fp(partner_id="a", seats=2) == fp(partner_id="a", seats=2)
    assert fp(partner_id="a", seats=2) != fp(partner_id="a", seats=3)
    assert fp(partner_id="a1", seats=2) != fp(partner_id="a", seats=12)


def _reservation(rid: str, seats: int, key: str | None = None, fp: str | None = None):
    return Reservation(
        reservation_id=rid,
        event_id="e",
        partner_id="p",
        seats=seats,
        status="confirmed",
        created_at="2026-01-01T00:00:00.000Z",
        idempotency_key=key,
        fingerprint=fp,
    )


def test_event_state_seat_arithmetic() -> None:
    state = EventState(event_id="e", name="E", total_seats=10)
    state.check_reserve(10)
    state.apply_reserve(_reservation("r1", 6))
    with pytest.raises(NotEnoughSeats):
        state.check_reserve(5)
    state.apply_reserve(_reservation("r2", 4))
    assert state.summary.as_dict()["availableSeats"] == 0
    assert state.summary.reserved_seats == 10
    state.apply_cancel("r1", "2026-01-01T00:00:01.000Z")
    assert (state.available_seats, state.reservation_count, state.version) == (6, 1, 3)
    with pytest.raises(ReservationNotFound):
        state.check_cancel("r1")
    assert state.invariant_problems() == []


def test_resize_rules() -> None:
    state = EventState(event_id="e", name="E", total_seats=10)
    state.apply_reserve(_reservation("r1", 6))
    with pytest.raises(ResizeBelowReserved):
        state.check_resize(5)
    state.apply_resize(total_seats=20, name="Bigger")
    assert (state.available_seats, state.version, state.name) == (14, 2, "Bigger")
    state.apply_resize(total_seats=20, name="Renamed only")
    assert state.version == 2


def test_idempotency_replay_and_conflict() -> None:
    state = EventState(event_id="e", name="E", total_seats=10)
    state.apply_reserve(_reservation("r1", 2, key="k", fp="fp-a"))
    assert state.find_replay(idempotency_key="k", fingerprint="fp-a").reservation_id == "r1"
    assert state.find_replay(idempotency_key="other", fingerprint="fp-a") is None
    assert state.find_replay(idempotency_key=None, fingerprint="fp-a") is None
    with pytest.raises(IdempotencyConflict):
        state.find_replay(idempotency_key="k", fingerprint="fp-b")


def test_state_refuses_to_go_negative_or_store_an_id_twice() -> None:
    state = EventState(event_id="e", name="E", total_seats=3)
    with pytest.raises(StoreCorrupt):
        state.apply_reserve(_reservation("r1", 4))
    state = EventState(event_id="e", name="E", total_seats=3)
    state.apply_reserve(_reservation("r1", 1))
    with pytest.raises(StoreCorrupt):
        state.apply_reserve(_reservation("r1", 1))


def test_domain_has_no_django_imports() -> None:
    source = Path(domain.__file__).read_text(encoding="utf-8")
    assert "django" not in source.lower().replace("no django", "")


@given(
    holds=st.lists(
        st.tuples(st.integers(0, 50), st.sampled_from(["held", "confirm", "cancel"])),
        max_size=60,
    ),
    now_s=st.integers(-1, 52),
)
@settings(max_examples=200, deadline=None)
def test_due_holds_are_exactly_the_held_ones_expired_by_now_oldest_first(holds, now_s) -> None:
    """Against every reservation's own status and expiry, whatever confirms and cancels
    left behind in the expiry heap."""
    start_us = 1_800_000_000_000_000
    state = EventState(event_id="e", name="E", total_seats=1000)
    for index, (expires_s, fate) in enumerate(holds):
        reservation_id = f"00000000-0000-4000-8000-{index:012d}"
        expires_us = start_us + expires_s * 1_000_000
        state.apply_reserve(
            Reservation(
                reservation_id=reservation_id,
                event_id="e",
                partner_id="p",
                seats=1,
                status=HELD,
                created_at=timestamps.to_text(start_us - 1_000_000),
                expires_at=timestamps.to_text(expires_us),
            )
        )
        if fate == "confirm":
            state.apply_confirm(reservation_id)
        elif fate == "cancel":
            state.apply_cancel(reservation_id, timestamps.to_text(start_us - 500_000))
    now_us = start_us + now_s * 1_000_000
    expected = sorted(
        (timestamps.from_text(r.expires_at), r.reservation_id)
        for r in state.reservations.values()
        if r.status == HELD and r.expires_at and timestamps.from_text(r.expires_at) <= now_us
    )
    assert state.due_holds(now_us) == [reservation_id for _, reservation_id in expected]
