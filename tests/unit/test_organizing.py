"""Organizer rules in plain Python (reservations.organizing) and the figures EventState
keeps with them."""

from __future__ import annotations

import random

import pytest

from reservations import timestamps
from reservations.domain import CONFIRMED, EXPIRED, HELD, InvalidRequest, Reservation
from reservations.event_state import EventState
from reservations.organizing import (
    MINUTE_US,
    PAGE_LIMIT_DEFAULT,
    PAGE_LIMIT_MAX,
    UNSET,
    AllocationExhausted,
    EventChanges,
    MinuteSales,
    PageQuery,
    PartnerFigures,
    SalesNotOpen,
    SalesWindow,
    parse_instant,
    validate_allocation,
    validate_page_limit,
    validate_status_filter,
)

T0 = 1_900_000_020_000_000  # microseconds, 20 s into a minute


# ---------------------------------------------------------------------- sales window


@pytest.mark.parametrize(
    ("window", "now", "is_open"),
    [
        (SalesWindow(), 0, True),
        (SalesWindow(10, None), 9, False),
        (SalesWindow(10, None), 10, True),
        (SalesWindow(None, 20), 19, True),
        (SalesWindow(None, 20), 20, False),
        (SalesWindow(10, 20), 15, True),
        (SalesWindow(10, 20), 25, False),
    ],
    ids=["unbounded", "before", "opening", "closing", "closed", "inside", "after"],
)
def test_sales_window_opens_inclusive_and_closes_exclusive(window, now, is_open) -> None:
    assert window.is_open(now) is is_open
    if is_open:
        window.check(now)
    else:
        with pytest.raises(SalesNotOpen):
            window.check(now)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (EventChanges(), SalesWindow(10, 20)),
        (EventChanges(sales_open_us=None), SalesWindow(None, 20)),
        (EventChanges(sales_close_us=None), SalesWindow(10, None)),
        (EventChanges(sales_open_us=15), SalesWindow(15, 20)),
        (EventChanges(sales_open_us=30, sales_close_us=40), SalesWindow(30, 40)),
    ],
    ids=["unset", "clear-open", "clear-close", "move-open", "both"],
)
def test_merged_window_keeps_unset_sides(changes, expected) -> None:
    assert changes.merged_window(SalesWindow(10, 20)) == expected


@pytest.mark.parametrize("close", [10, 5], ids=["equal", "before"])
def test_merged_window_refuses_closing_at_or_before_opening(close) -> None:
    with pytest.raises(InvalidRequest) as refused:
        EventChanges(sales_close_us=close).merged_window(SalesWindow(10, None))
    assert "salesCloseAt" in refused.value.details


def test_unset_is_not_none() -> None:
    assert EventChanges().name is UNSET and UNSET is not None


# ---------------------------------------------------------------------- figures


def test_partner_room_counts_confirmed_and_held() -> None:
    figures = PartnerFigures("p", confirmed_seats=3, held_seats=2, allocation=6)
    figures.check_room(1)
    with pytest.raises(AllocationExhausted):
        figures.check_room(2)
    PartnerFigures("p", confirmed_seats=99).check_room(10)  # no allocation, no cap


def test_partner_copy_is_independent() -> None:
    figures = PartnerFigures("p", confirmed_seats=1)
    copy = figures.copy()
    figures.confirmed_seats = 5
    assert copy.confirmed_seats == 1


def test_minute_sales_net_per_minute_and_cumulative() -> None:
    sales = MinuteSales()
    sales.add(T0, 3)
    sales.add(T0 + 39_999_999, 2)  # same minute
    sales.add(T0 + 40_000_000, 4)  # next minute
    sales.add(T0 + 41_000_000, -4)  # nets to zero: the minute disappears
    sales.add(T0 + 200_000_000, -1)
    minute = T0 - T0 % MINUTE_US
    assert sales.seats_by_minute == {minute: 5, minute + 3 * MINUTE_US: -1}
    assert sales.as_list() == [
        {"minute": timestamps.to_text(minute), "seats": 5, "cumulative": 5},
        {"minute": timestamps.to_text(minute + 3 * MINUTE_US), "seats": -1, "cumulative": 4},
    ]
    assert sales.total == 4
    assert MinuteSales.from_json(sales.to_json()) == sales


@pytest.mark.parametrize("seed", range(5))
def test_minute_rows_kept_between_reads_match_rows_built_afresh(seed) -> None:
    """as_list rebuilds only from the earliest minute changed since the last read."""
    chooser = random.Random(seed)
    sales = MinuteSales()
    for _ in range(300):
        minute = chooser.choice([chooser.randrange(30), 29, 29])  # mostly the latest
        sales.add(T0 + minute * MINUTE_US, chooser.choice([1, 2, -1]))
        if chooser.random() < 0.3:
            assert sales.as_list() == MinuteSales(dict(sales.seats_by_minute)).as_list()
    assert sales.as_list() == MinuteSales(dict(sales.seats_by_minute)).as_list()


@pytest.mark.parametrize(
    "stored",
    [[], {"2030-01-01T00:00:30.000Z": 1}, {"2030-01-01T00:00:00.000Z": "1"}, {"soon": 1}],
    ids=["not-object", "mid-minute", "not-int", "not-time"],
)
def test_minute_sales_refuse_what_they_never_store(stored) -> None:
    with pytest.raises(ValueError):
        MinuteSales.from_json(stored)


# ---------------------------------------------------------------------- validators


@pytest.mark.parametrize(
    ("text", "us"),
    [
        ("2030-01-01T00:00:00Z", 1_893_456_000_000_000),
        ("2030-01-01T00:00:00.250z", 1_893_456_000_250_000),
        ("2030-01-01T01:00:00+01:00", 1_893_456_000_000_000),
        (None, None),
    ],
)
def test_parse_instant_reads_rfc_3339(text, us) -> None:
    assert parse_instant(text, "salesOpenAt") == us


@pytest.mark.parametrize(
    "text",
    ["2030-01-01", "2030-01-01T00:00:00", "2030-01-01 00:00:00Z", "tomorrow", 5, "x" * 41],
    ids=["date", "no-zone", "space", "words", "number", "long"],
)
def test_parse_instant_refuses_other_text(text) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_instant(text, "salesOpenAt")
    assert list(refused.value.details) == ["salesOpenAt"]


@pytest.mark.parametrize("value", [-1, 1.0, True, "3", 10_000_001])
def test_allocations_are_whole_numbers_in_range(value) -> None:
    with pytest.raises(InvalidRequest):
        validate_allocation(value)


def test_allocation_and_filters_accept_their_values() -> None:
    assert (validate_allocation(0), validate_allocation(None)) == (0, None)
    assert validate_status_filter("held") == HELD
    assert validate_status_filter("") is None
    assert validate_page_limit(None) == PAGE_LIMIT_DEFAULT
    assert validate_page_limit(str(PAGE_LIMIT_MAX)) == PAGE_LIMIT_MAX
    for bad in ("0", "501", "ten"):
        with pytest.raises(InvalidRequest):
            validate_page_limit(bad)
    with pytest.raises(InvalidRequest):
        validate_status_filter("gone")


# ---------------------------------------------------------------------- EventState


def made(rid: int, partner: str, seats: int, at_us: int, *, hold: bool = False) -> Reservation:
    return Reservation(
        reservation_id=f"00000000-0000-4000-8000-{rid:012d}",
        event_id="e",
        partner_id=partner,
        seats=seats,
        status=HELD if hold else CONFIRMED,
        created_at=timestamps.to_text(at_us),
        expires_at=timestamps.to_text(at_us + 600 * 10**6) if hold else None,
    )


def test_every_apply_keeps_partner_figures_and_minute_sales_exact() -> None:
    state = EventState(event_id="e", name="E", total_seats=50)
    state.apply_allocation("a", 20)
    a1, a2 = made(1, "a", 3, T0), made(2, "a", 2, T0, hold=True)
    b1, b2 = made(3, "b", 4, T0, hold=True), made(4, "b", 1, T0, hold=True)
    for item in (a1, a2, b1, b2):
        state.apply_reserve(item)
    state.apply_confirm(b1.reservation_id, at_us=T0 + 2 * MINUTE_US)
    state.apply_cancel(a2.reservation_id, timestamps.to_text(T0 + MINUTE_US))  # a release
    state.apply_expire(b2.reservation_id)
    state.apply_cancel(a1.reservation_id, timestamps.to_text(T0 + 3 * MINUTE_US))
    minute = T0 - T0 % MINUTE_US
    assert state.minute_sales.seats_by_minute == {
        minute: 3,
        minute + 2 * MINUTE_US: 4,
        minute + 3 * MINUTE_US: -3,
    }
    stats = {p.partner_id: p for p in state.stats().partners}
    assert (stats["a"].taken_seats, stats["a"].confirmed_count, stats["a"].allocation) == (
        0,
        0,
        20,
    )
    assert (stats["b"].confirmed_seats, stats["b"].hold_count) == (4, 0)
    assert state.invariant_problems() == []
    assert state.summary.reserved_seats == state.minute_sales.total == 4


def test_figure_problems_name_what_disagrees() -> None:
    state = EventState(event_id="e", name="E", total_seats=50)
    state.apply_reserve(made(1, "a", 3, T0))
    state.partners["a"].confirmed_seats = 2
    state.minute_sales.add(T0, 1)
    problems = state.invariant_problems()
    assert any("partner 'a'" in problem for problem in problems)
    assert any("add up to 4, but 3 seats are confirmed" in problem for problem in problems)


def test_allocation_removed_from_a_partner_that_never_booked_forgets_it() -> None:
    state = EventState(event_id="e", name="E", total_seats=5)
    state.apply_allocation("ghost", 3)
    assert "ghost" in state.partners
    state.apply_allocation("ghost", None)
    assert "ghost" not in state.partners


def test_pages_by_position_forwards_and_backwards() -> None:
    state = EventState(event_id="e", name="E", total_seats=50)
    for index in range(6):
        state.apply_reserve(made(index, "ab"[index % 2], 1, T0 + index))
    page = state.page(PageQuery(event_id="e", after=1, limit=2))
    assert [row.position for row in page] == [2, 3]
    page = state.page(PageQuery(event_id="e", before=4, limit=3, partner_id="a"))
    assert [row.position for row in page] == [0, 2]


@pytest.mark.parametrize(
    ("query", "positions"),
    [
        (PageQuery(event_id="e", status=HELD), [1, 3, 7]),
        (PageQuery(event_id="e", status=HELD, after=1, limit=1), [3]),
        (PageQuery(event_id="e", status=HELD, before=7, limit=1), [3]),
        (PageQuery(event_id="e", status=HELD, partner_id="a", before=9), [1, 7]),
        (PageQuery(event_id="e", status=EXPIRED, before=9, limit=5), [5]),
        (PageQuery(event_id="e", status=CONFIRMED, before=5, limit=2), [2, 4]),
    ],
    ids=["held", "held-after", "held-before", "held-partner", "expired", "confirmed-before"],
)
def test_pages_of_holds_visit_holds_only(query, positions) -> None:
    """Positions 1, 3, 5, 7 are holds (5 expires); the others confirmed reservations."""
    state = EventState(event_id="e", name="E", total_seats=50)
    for index in range(9):
        state.apply_reserve(made(index, "ba"[index % 3 != 0], 1, T0, hold=index % 2 == 1))
    state.apply_expire(made(5, "", 1, T0).reservation_id)
    assert [row.position for row in state.page(query)] == positions
