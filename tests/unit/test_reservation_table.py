"""The packed reservation table gives back exactly what was put in, and timestamps
convert between text and microseconds without loss."""

from __future__ import annotations

import re
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reservations import reservation_table, timestamps
from reservations.domain import (
    CANCELLED,
    CONFIRMED,
    EXPIRED,
    HELD,
    MAX_SEATS,
    MIN_SEATS,
    Reservation,
)
from reservations.reservation_table import ReservationTable

CANONICAL = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(\d{3})?Z$")
# 1970 .. 2200: any stamp a store could hold.
MICROSECONDS = st.integers(min_value=0, max_value=7_258_118_400_000_000)


def reservation(**fields: object) -> Reservation:
    values: dict[str, object] = {
        "reservation_id": str(uuid.uuid4()),
        "event_id": "e",
        "partner_id": "partner-a",
        "seats": 2,
        "status": CONFIRMED,
        "created_at": "2026-11-25T14:36:24.123Z",
    }
    values.update(fields)
    return Reservation(**values)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- timestamps


@given(MICROSECONDS)
def test_timestamp_text_round_trips_exactly(us: int) -> None:
    text = timestamps.to_text(us)
    assert CANONICAL.match(text)
    assert timestamps.from_text(text) == us


def test_milliseconds_show_three_digits_and_microseconds_six() -> None:
    assert timestamps.to_text(1_764_081_384_123_000) == "2025-11-25T14:36:24.123Z"
    assert timestamps.to_text(1_764_081_384_123_456) == "2025-11-25T14:36:24.123456Z"


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("2026-11-25T14:36:24.123+00:00", "2026-11-25T14:36:24.123Z"),
        ("2026-11-25T16:36:24.123+02:00", "2026-11-25T14:36:24.123Z"),
        ("2026-11-25T14:36:24Z", "2026-11-25T14:36:24.000Z"),
        ("2026-11-25T14:36:24.123456Z", "2026-11-25T14:36:24.123456Z"),
    ],
)
def test_other_iso_forms_with_an_offset_mean_the_same_instant(text: str, canonical: str) -> None:
    assert timestamps.to_text(timestamps.from_text(text)) == canonical


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-25T14:36:24.123",  # no offset: which time zone?
        "2026-13-25T14:36:24.123Z",
        "2026-11-25T14:36:60.123Z",
        "2026-11-25T14:36:2x.123Z",
        "yesterday",
        "",
    ],
)
def test_timestamps_that_name_no_instant_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        timestamps.from_text(text)


def test_now_text_is_canonical_and_round_trips() -> None:
    now = timestamps.now_text()
    assert CANONICAL.match(now)
    assert timestamps.to_text(timestamps.from_text(now)) == now


# --------------------------------------------------------------------------- table


def _consistent(item: Reservation) -> Reservation:
    """Confirmed reservations have no cancellation time nor canceller; cancelled ones
    both; fingerprints come with keys."""
    fields = {"reservation_id": item.reservation_id}
    if item.status == CONFIRMED:
        fields["cancelled_at"] = None
        fields["cancelled_by"] = None
    elif item.cancelled_by is None:
        fields["cancelled_by"] = "open"
    if item.idempotency_key is None:
        fields["fingerprint"] = None
    return Reservation(**{**_fields(item), **fields})


def _fields(item: Reservation) -> dict[str, object]:
    return item._asdict()


ACTORS = st.sampled_from(["open", "staff:ada", "partner:p/AbCd1234"]) | st.text(
    min_size=1, max_size=30
)
reservations = st.builds(
    reservation,
    reservation_id=st.uuids(version=4).map(str),
    partner_id=st.text(min_size=1, max_size=100),
    seats=st.integers(MIN_SEATS, MAX_SEATS),
    status=st.sampled_from([CONFIRMED, CANCELLED]),
    created_at=MICROSECONDS.map(timestamps.to_text),
    cancelled_at=MICROSECONDS.map(timestamps.to_text),
    idempotency_key=st.none() | st.text(min_size=1, max_size=20),
    fingerprint=st.none() | st.text(min_size=32, max_size=32),
    created_by=ACTORS,
    cancelled_by=st.none() | ACTORS,
).map(_consistent)


@given(st.lists(reservations, max_size=30, unique_by=lambda r: r.reservation_id))
def test_every_reservation_comes_back_exactly_in_order(items: list[Reservation]) -> None:
    table = ReservationTable("e")
    for item in items:
        table.add(item)
    assert len(table) == len(items)
    assert list(table.values()) == items
    for item in items:
        assert table[item.reservation_id] == item
        assert table.fingerprint(item.reservation_id) == item.fingerprint
    confirmed = [item for item in items if item.status == CONFIRMED]
    assert table.confirmed_totals() == (len(confirmed), sum(item.seats for item in confirmed))


def test_cancel_turns_a_confirmed_reservation_into_a_cancelled_one() -> None:
    table = ReservationTable("e")
    item = reservation(
        seats=4, idempotency_key="k-1", fingerprint="f" * 32, created_by="partner:p/AbCd1234"
    )
    table.add(item)
    assert table.confirmed_seats(item.reservation_id) == 4

    table.cancel(item.reservation_id, "2026-11-25T15:00:00.500Z", "staff:ada")
    cancelled = table[item.reservation_id]

    assert cancelled == Reservation(
        **{
            **_fields(item),
            "status": CANCELLED,
            "cancelled_at": "2026-11-25T15:00:00.500Z",
            "cancelled_by": "staff:ada",
        }
    )
    assert table.confirmed_seats(item.reservation_id) is None
    assert table.confirmed_totals() == (0, 0)


def test_unknown_ids_are_absent() -> None:
    table = ReservationTable("e")
    table.add(reservation())
    missing = str(uuid.uuid4())
    assert missing not in table
    assert table.get(missing) is None
    assert table.confirmed_seats(missing) is None
    with pytest.raises(KeyError):
        table[missing]


def test_values_is_a_snapshot_that_later_writes_do_not_disturb() -> None:
    table = ReservationTable("e")
    first = reservation()
    table.add(first)
    listing = table.values()
    table.add(reservation())
    table.cancel(first.reservation_id, "2026-11-25T15:00:00.000Z")
    assert list(listing) == [first]


@pytest.mark.parametrize(
    "fields",
    [
        {"seats": 0},
        {"seats": 16},
        {"seats": "3"},
        {"status": "held"},
        {"status": CANCELLED, "cancelled_at": None},
        {"created_at": "2026-11-25 14:36"},
        {"created_at": "1969-12-31T23:59:59.000Z"},
        {"status": CANCELLED, "cancelled_at": "soon"},
    ],
    ids=repr,
)
def test_fields_that_cannot_be_stored_are_refused_and_leave_nothing(fields) -> None:
    table = ReservationTable("e")
    with pytest.raises(ValueError):
        table.add(reservation(**fields))
    assert len(table) == 0


# --------------------------------------------------------------------------- pages

PARTNERS = ["p0", "p1", "rare"]
page_rows = st.builds(
    reservation,
    reservation_id=st.uuids(version=4).map(str),
    partner_id=st.sampled_from(PARTNERS),
    status=st.sampled_from([CONFIRMED, CANCELLED, HELD, EXPIRED]),
    cancelled_at=st.just("2026-11-25T14:40:00.000Z"),
    created_by=st.sampled_from(["open", "partner:p/AbCd1234"]),
    expires_at=st.just("2026-11-25T14:50:00.000Z"),
).map(lambda item: item._replace(**_page_row_fields(item)))


def _page_row_fields(item: Reservation) -> dict[str, object]:
    held = item.status in (HELD, EXPIRED)
    return {
        "cancelled_at": item.cancelled_at if item.status == CANCELLED else None,
        "cancelled_by": "open" if item.status == CANCELLED else None,
        "expires_at": item.expires_at if held else None,
    }


@given(
    items=st.lists(page_rows, max_size=40, unique_by=lambda r: r.reservation_id),
    partner_id=st.none() | st.sampled_from([*PARTNERS, "nobody"]),
    status=st.none() | st.sampled_from([CONFIRMED, CANCELLED, HELD, EXPIRED]),
    cancelled_later=st.sets(st.integers(0, 39)),
    after=st.none() | st.integers(-1, 41),
    before=st.none() | st.integers(0, 42),
    limit=st.integers(1, 12),
)
def test_a_page_holds_exactly_the_matching_rows_between_its_cursors(
    items: list[Reservation],
    partner_id: str | None,
    status: str | None,
    cancelled_later: set[int],
    after: int | None,
    before: int | None,
    limit: int,
) -> None:
    """Whatever the filter (a partner's rows are looked up, cancelled rows picked out
    without a Python step per row), a page is what a scan of every row in order would
    give, rows cancelled after they were stored included."""
    table = ReservationTable("e")
    for item in items:
        table.add(item)
    for index in sorted(cancelled_later):
        if index < len(items) and items[index].status == CONFIRMED:
            table.cancel(items[index].reservation_id, "2026-11-25T14:45:00.000Z")
            items[index] = items[index]._replace(
                status=CANCELLED, cancelled_at="2026-11-25T14:45:00.000Z", cancelled_by="open"
            )
    matching = [
        (position, item)
        for position, item in enumerate(items)
        if (partner_id is None or item.partner_id == partner_id)
        and (status is None or item.status == status)
        and (after is None or position > after)
        and (before is None or position < before)
    ]
    backwards = before is not None and after is None
    expected = matching[-limit:] if backwards else matching[:limit]
    got = table.page(partner_id=partner_id, status=status, after=after, before=before, limit=limit)
    assert got == expected


@pytest.mark.parametrize("partner_id", [None, "partner-a"])
@pytest.mark.parametrize("scan_chunk", [4, 7, 29, reservation_table._SCAN_CHUNK])
def test_pages_of_cancelled_rows_walk_forwards_and_backwards_without_a_gap(
    partner_id: str | None, scan_chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An organizer pages through the cancelled rows of an event both ways: each page
    holds the next (or previous) cancelled rows in order, an expired hold is not one,
    wherever the scan's chunks begin and end."""
    monkeypatch.setattr(reservation_table, "_SCAN_CHUNK", scan_chunk)
    table = ReservationTable("e")
    items = [reservation() for _ in range(30)]
    items[3] = reservation(status=EXPIRED, expires_at="2026-11-25T14:50:00.000Z")
    for item in items:
        table.add(item)
    cancelled = [position for position in range(30) if position % 3 == 1 or position == 29]
    for position in reversed(cancelled):  # cancelled in another order than they were taken
        table.cancel(items[position].reservation_id, "2026-11-25T14:45:00.000Z")

    def page(after: int | None = None, before: int | None = None) -> list[int]:
        rows = table.page(
            partner_id=partner_id, status=CANCELLED, after=after, before=before, limit=4
        )
        assert all(row.status == CANCELLED for _, row in rows)
        return [position for position, _ in rows]

    forwards: list[list[int]] = []
    after = None
    while chunk := page(after=after):
        forwards.append(chunk)
        after = chunk[-1]
    assert forwards == [cancelled[i : i + 4] for i in range(0, len(cancelled), 4)]
    backwards: list[list[int]] = []
    before = 30
    while chunk := page(before=before):
        backwards.append(chunk)
        before = chunk[0]
    assert backwards == [cancelled[max(i - 4, 0) : i] for i in range(len(cancelled), 0, -4)]
