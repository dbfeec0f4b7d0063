"""CONTRACT.md "Events and partners (organizers)" at the store protocol.

Every backend of tests/contract/conftest.py passes these. `open_store()` opens another
store on the same data (a second worker, another node, or a restart). Time moves only
through reservations.clock's file (tests/support/clock.py), never by sleeping.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from reservations import timestamps
from reservations.domain import (
    CANCELLED,
    CONFIRMED,
    EXPIRED,
    HELD,
    EventNotFound,
    InvalidRequest,
    NotEnoughSeats,
    ResizeBelowReserved,
)
from reservations.organizing import (
    MINUTE_US,
    AllocationExhausted,
    EventChanges,
    EventExists,
    NewEvent,
    PageQuery,
    SalesNotOpen,
    SalesWindow,
)
from reservations.store.protocol import ReservationStore
from reservations.store.transfer import dump_store, load_events, states_from_dump
from tests.contract.conftest import STORE_BACKENDS
from tests.support.clock import START_MS, StoppedClock, stopped_in_this_process

EVENT = "organizer-event"
MS = 1_000


@pytest.fixture
def time(tmp_path: Path) -> Iterator[StoppedClock]:
    """A stopped clock every store in this process reads."""
    with stopped_in_this_process(tmp_path / "clock") as stopped:
        yield stopped


@pytest.fixture
def event(store, time) -> str:
    store.create_event(event=NewEvent(event_id=EVENT, name="Organizer Event", total_seats=20))
    return EVENT


def at(seconds_from_start: float) -> int:
    """An instant relative to the clock's start, in microseconds."""
    return (START_MS + round(seconds_from_start * 1000)) * MS


def reserve(store, partner: str = "p", seats: int = 1, **extra):
    return store.reserve(event_id=EVENT, partner_id=partner, seats=seats, **extra).reservation


def hold(store, partner: str = "p", seats: int = 1, **extra):
    return store.hold(event_id=EVENT, partner_id=partner, seats=seats, **extra).reservation


def taken(store, partner: str) -> int:
    """A partner's confirmed plus held seats, from its reservations."""
    return sum(
        r.seats
        for r in store.reservations(event_id=EVENT)
        if r.partner_id == partner and r.status in (CONFIRMED, HELD)
    )


# ---------------------------------------------------------------------- events


def test_backend_implements_the_organizer_protocol(store) -> None:
    assert isinstance(store, ReservationStore)


def test_create_event_with_every_setting(store, time) -> None:
    window = SalesWindow(at(60), at(3600))
    summary = store.create_event(
        event=NewEvent(
            event_id="made", name="Made", total_seats=30, hold_seconds=120, window=window
        )
    )
    assert summary.as_dict() == {
        "eventId": "made",
        "name": "Made",
        "totalSeats": 30,
        "availableSeats": 30,
        "reservationCount": 0,
        "reservedSeats": 0,
        "heldSeats": 0,
        "holdCount": 0,
        "holdSeconds": 120,
        "salesOpenAt": timestamps.to_text(at(60)),
        "salesCloseAt": timestamps.to_text(at(3600)),
        "version": 0,
    }
    assert store.summary(event_id="made") == summary
    assert [s.event_id for s in store.events()] == ["made"]


def test_create_event_refuses_an_existing_one_and_changes_nothing(store, event) -> None:
    reserve(store, seats=3)
    before = store.summary(event_id=EVENT)
    with pytest.raises(EventExists):
        store.create_event(event=NewEvent(event_id=EVENT, name="Other", total_seats=5))
    assert store.summary(event_id=EVENT) == before


def test_new_event_defaults(store, event) -> None:
    summary = store.summary(event_id=EVENT)
    assert (summary.hold_seconds, summary.sales_open_us, summary.sales_close_us) == (
        600,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("changes", "expected", "version"),
    [
        (EventChanges(name="Renamed"), {"name": "Renamed"}, 0),
        (EventChanges(total_seats=25), {"totalSeats": 25, "availableSeats": 25}, 1),
        (EventChanges(total_seats=20), {}, 0),
        (EventChanges(hold_seconds=90), {"holdSeconds": 90}, 0),
        (
            EventChanges(sales_open_us=at(-60)),
            {"salesOpenAt": timestamps.to_text(at(-60))},
            0,
        ),
        (
            EventChanges(sales_close_us=at(7200)),
            {"salesCloseAt": timestamps.to_text(at(7200))},
            0,
        ),
        (
            EventChanges(name="Both", total_seats=5, sales_close_us=at(60)),
            {
                "name": "Both",
                "totalSeats": 5,
                "availableSeats": 5,
                "salesCloseAt": timestamps.to_text(at(60)),
            },
            1,
        ),
    ],
    ids=["name", "seats", "same-seats", "hold-seconds", "open", "close", "several"],
)
def test_update_event_changes_only_what_it_names(
    store, event, open_store, changes, expected, version
) -> None:
    before = store.summary(event_id=EVENT).as_dict()
    after = store.update_event(event_id=EVENT, changes=changes).as_dict()
    assert after == {**before, **expected, "version": version}
    assert open_store().summary(event_id=EVENT).as_dict() == after  # durable, shared


def test_update_event_clears_a_side_of_the_window(store, event) -> None:
    store.update_event(
        event_id=EVENT, changes=EventChanges(sales_open_us=at(-10), sales_close_us=at(10))
    )
    summary = store.update_event(event_id=EVENT, changes=EventChanges(sales_close_us=None))
    assert (summary.sales_open_us, summary.sales_close_us) == (at(-10), None)


def test_update_event_refuses_a_window_closing_before_it_opens(store, event) -> None:
    store.update_event(event_id=EVENT, changes=EventChanges(sales_open_us=at(100)))
    before = store.summary(event_id=EVENT)
    with pytest.raises(InvalidRequest):
        store.update_event(event_id=EVENT, changes=EventChanges(name="No", sales_close_us=at(100)))
    assert store.summary(event_id=EVENT) == before


def test_resize_below_seats_taken_counts_holds_and_changes_nothing(store, event) -> None:
    reserve(store, seats=6)
    hold(store, seats=4)
    before = store.summary(event_id=EVENT)
    with pytest.raises(ResizeBelowReserved) as refused:
        store.update_event(event_id=EVENT, changes=EventChanges(name="Smaller", total_seats=9))
    assert refused.value.message == "Cannot resize below the seats already taken"
    assert store.summary(event_id=EVENT) == before
    summary = store.update_event(event_id=EVENT, changes=EventChanges(total_seats=10))
    assert (summary.total_seats, summary.available_seats, summary.version) == (
        10,
        0,
        before.version + 1,
    )


def test_resize_may_go_down_to_seats_of_expired_holds(store, event, time) -> None:
    reserve(store, seats=2)
    hold(store, seats=5, hold_seconds=60)
    time.advance(60)  # the hold's seats are free from its expiresAt on
    summary = store.update_event(event_id=EVENT, changes=EventChanges(total_seats=2))
    assert (summary.total_seats, summary.available_seats, summary.held_seats) == (2, 0, 0)


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.update_event(event_id="nope", changes=EventChanges(name="x")),
        lambda s: s.set_allocation(event_id="nope", partner_id="p", seats=1),
        lambda s: s.list_reservations(query=PageQuery(event_id="nope")),
        lambda s: s.stats(event_id="nope"),
    ],
    ids=["update", "allocation", "list", "stats"],
)
def test_unknown_event_is_not_found(store, time, call) -> None:
    with pytest.raises(EventNotFound):
        call(store)


# ---------------------------------------------------------------------- sales window


@pytest.mark.parametrize(
    ("window", "open_now"),
    [
        (SalesWindow(at(1), None), False),  # not open yet
        (SalesWindow(at(0), None), True),  # opens this very millisecond
        (SalesWindow(None, at(0)), False),  # closed this very millisecond
        (SalesWindow(None, at(0.001)), True),  # one millisecond left
        (SalesWindow(at(-60), at(-1)), False),  # closed already
    ],
    ids=["before-open", "at-open", "at-close", "just-before-close", "after-close"],
)
@pytest.mark.parametrize("take", [reserve, hold], ids=["reserve", "hold"])
def test_sales_window_bounds_reserves_and_holds(store, event, window, open_now, take) -> None:
    store.update_event(
        event_id=EVENT,
        changes=EventChanges(sales_open_us=window.open_us, sales_close_us=window.close_us),
    )
    before = store.summary(event_id=EVENT)
    if open_now:
        assert take(store).seats == 1
        return
    with pytest.raises(SalesNotOpen) as refused:
        take(store)
    assert refused.value.message == "Sales are not open for this event"
    assert store.summary(event_id=EVENT) == before
    assert list(store.reservations(event_id=EVENT)) == []


def test_sales_open_and_close_as_the_clock_moves(store, event, time, open_store) -> None:
    store.update_event(
        event_id=EVENT, changes=EventChanges(sales_open_us=at(60), sales_close_us=at(120))
    )
    other = open_store()  # another worker sees the same window
    with pytest.raises(SalesNotOpen):
        reserve(other)
    time.advance(60)
    reserve(other)
    time.advance(60)
    with pytest.raises(SalesNotOpen):
        reserve(store)
    assert store.summary(event_id=EVENT).reservation_count == 1


def test_confirm_and_release_work_after_sales_close(store, event, time) -> None:
    store.update_event(event_id=EVENT, changes=EventChanges(sales_close_us=at(30)))
    to_confirm, to_release, kept = hold(store, seats=2), hold(store, seats=3), reserve(store)
    time.advance(30)
    assert store.confirm(reservation_id=to_confirm.reservation_id).status == CONFIRMED
    store.cancel(reservation_id=to_release.reservation_id)
    store.cancel(reservation_id=kept.reservation_id)
    summary = store.summary(event_id=EVENT)
    assert (summary.reserved_seats, summary.held_seats, summary.available_seats) == (2, 0, 18)


def test_idempotent_replay_answers_after_sales_close(store, event, time) -> None:
    first = store.reserve(event_id=EVENT, partner_id="p", seats=2, idempotency_key="order-1")
    store.update_event(event_id=EVENT, changes=EventChanges(sales_close_us=at(1)))
    time.advance(5)
    again = store.reserve(event_id=EVENT, partner_id="p", seats=2, idempotency_key="order-1")
    assert again.replayed
    assert again.reservation.reservation_id == first.reservation.reservation_id
    with pytest.raises(SalesNotOpen):
        store.reserve(event_id=EVENT, partner_id="p", seats=2, idempotency_key="order-2")


# ---------------------------------------------------------------------- allocations


def figures(store, partner: str):
    found = [p for p in store.stats(event_id=EVENT).partners if p.partner_id == partner]
    return found[0] if found else None


def test_allocation_caps_reserves_and_holds_together(store, event) -> None:
    store.set_allocation(event_id=EVENT, partner_id="p", seats=5)
    reserve(store, seats=2)
    held = hold(store, seats=3)
    before = store.summary(event_id=EVENT)
    for take in (reserve, hold):
        with pytest.raises(AllocationExhausted) as refused:
            take(store)
        assert refused.value.message == "Partner allocation exhausted"
    assert store.summary(event_id=EVENT) == before
    reserve(store, partner="q", seats=4)  # other partners are not capped
    store.cancel(reservation_id=held.reservation_id)  # a release frees room at once
    reserve(store, seats=3)
    assert taken(store, "p") == 5
    assert (figures(store, "p").taken_seats, figures(store, "p").allocation) == (5, 5)


def test_allocation_is_checked_before_seats(store, event) -> None:
    reserve(store, partner="q", seats=10)
    reserve(store, partner="q", seats=10)
    store.set_allocation(event_id=EVENT, partner_id="p", seats=0)
    with pytest.raises(AllocationExhausted):
        reserve(store)
    store.set_allocation(event_id=EVENT, partner_id="p", seats=None)
    with pytest.raises(NotEnoughSeats):
        reserve(store)


def test_removing_an_allocation_removes_the_cap(store, event) -> None:
    store.set_allocation(event_id=EVENT, partner_id="p", seats=1)
    reserve(store)
    with pytest.raises(AllocationExhausted):
        reserve(store)
    store.set_allocation(event_id=EVENT, partner_id="p", seats=None)
    reserve(store, seats=10)
    assert figures(store, "p").allocation is None
    assert taken(store, "p") == 11


def test_lowering_an_allocation_below_what_is_taken_only_refuses_more(store, event) -> None:
    reserve(store, seats=4)
    hold(store, seats=2)
    store.set_allocation(event_id=EVENT, partner_id="p", seats=3)
    assert store.summary(event_id=EVENT).available_seats == 14  # nothing taken away
    with pytest.raises(AllocationExhausted):
        reserve(store)
    assert (figures(store, "p").taken_seats, figures(store, "p").allocation) == (6, 3)
    assert store.verify() == []  # an allocation lowered below what is taken is sound


def test_a_partner_with_only_an_allocation_is_in_stats(store, event) -> None:
    store.set_allocation(event_id=EVENT, partner_id="new partner", seats=7)
    found = figures(store, "new partner")
    assert (found.allocation, found.taken_seats, found.confirmed_count) == (7, 0, 0)


def test_allocation_holds_under_a_race_of_two_workers(open_store, time) -> None:
    """50 clients of one partner, split over two stores on the same data (two workers
    or two nodes), never pass the allocation together."""
    workers = [open_store(), open_store()]
    workers[0].create_event(event=NewEvent(event_id=EVENT, name="Race", total_seats=100))
    workers[0].set_allocation(event_id=EVENT, partner_id="racer", seats=20)
    start = threading.Barrier(50)
    outcomes: list[str] = []

    def client(index: int) -> None:
        worker = workers[index % 2]
        take = worker.hold if index % 3 == 0 else worker.reserve
        start.wait()
        try:
            take(event_id=EVENT, partner_id="racer", seats=1)
            outcomes.append("taken")
        except AllocationExhausted:
            outcomes.append("refused")
        except Exception as exc:  # any other failure is reported by the assert below
            outcomes.append(repr(exc))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(outcomes) == {"taken": 20, "refused": 30}
    for worker in (*workers, open_store()):
        assert taken(worker, "racer") == 20
        summary = worker.summary(event_id=EVENT)
        assert summary.reserved_seats + summary.held_seats == 20
        found = [p for p in worker.stats(event_id=EVENT).partners if p.partner_id == "racer"]
        assert found[0].taken_seats == 20
    assert workers[0].verify() == []


# ---------------------------------------------------------------------- paging


def page_all(store, *, limit: int, between=None, **filters) -> list:
    """Every row by following `after` cursors, calling `between()` after each page."""
    rows, after = [], None
    while True:
        page = store.list_reservations(
            query=PageQuery(event_id=EVENT, after=after, limit=limit, **filters)
        )
        rows += page
        if len(page) < limit:
            return rows
        after = page[-1].position
        if between is not None:
            between()


def test_paging_shows_every_row_once_while_writes_arrive(store, event, open_store) -> None:
    other = open_store()  # writes from another worker land between the pages
    store.update_event(event_id=EVENT, changes=EventChanges(total_seats=200))
    first = [reserve(store, partner=f"p{i % 3}") for i in range(23)]
    made = list(first)

    def writes() -> None:
        made.append(reserve(other, partner="late"))
        made.append(hold(other, partner="late"))
        other.cancel(reservation_id=made[len(made) // 2].reservation_id)

    rows = page_all(store, limit=4, between=writes)
    ids = [row.reservation.reservation_id for row in rows]
    assert len(ids) == len(set(ids))  # no row twice
    assert ids == [r.reservation_id for r in made]  # none skipped, oldest first
    positions = [row.position for row in rows]
    assert positions == sorted(positions)


def test_positions_never_change(store, event, open_store) -> None:
    made = [reserve(store) for _ in range(5)]
    before = {r.reservation.reservation_id: r.position for r in page_all(store, limit=10)}
    store.cancel(reservation_id=made[1].reservation_id)
    reserve(store)
    after = {r.reservation.reservation_id: r.position for r in page_all(open_store(), limit=10)}
    assert {rid: after[rid] for rid in before} == before


def test_filters_by_partner_and_status_as_of_now(store, event, time) -> None:
    kept = reserve(store, partner="a", seats=2)
    cancelled = reserve(store, partner="a")
    held = hold(store, partner="b", hold_seconds=600)
    expiring = hold(store, partner="a", hold_seconds=60)
    other = reserve(store, partner="b")
    store.cancel(reservation_id=cancelled.reservation_id)
    time.advance(60)  # `expiring` is expired for every reader from now on

    def ids(**filters) -> list[str]:
        return [row.reservation.reservation_id for row in page_all(store, limit=2, **filters)]

    def rid(*items) -> list[str]:
        return [item.reservation_id for item in items]

    assert ids(partner_id="a") == rid(kept, cancelled, expiring)
    assert ids(partner_id="b") == rid(held, other)
    assert ids(partner_id="nobody") == []
    assert ids(status=CONFIRMED) == rid(kept, other)
    assert ids(status=CANCELLED) == rid(cancelled)
    assert ids(status=HELD) == rid(held)
    assert ids(status=EXPIRED) == rid(expiring)
    assert ids(partner_id="a", status=CONFIRMED) == rid(kept)
    statuses = {
        row.reservation.reservation_id: row.reservation.status for row in page_all(store, limit=9)
    }
    assert statuses[expiring.reservation_id] == EXPIRED


def test_before_and_after_cursors(store, event) -> None:
    made = [reserve(store, partner=f"p{i % 2}") for i in range(10)]
    everything = page_all(store, limit=100)
    positions = [row.position for row in everything]
    fifth = positions[5]

    def page(**kwargs) -> list[str]:
        query = PageQuery(event_id=EVENT, **kwargs)
        return [row.reservation.reservation_id for row in store.list_reservations(query=query)]

    ids = [r.reservation_id for r in made]
    assert page(after=fifth, limit=3) == ids[6:9]
    assert page(before=fifth, limit=3) == ids[2:5]  # the rows just before, oldest first
    assert page(before=fifth, limit=50) == ids[:5]
    assert page(before=positions[0], limit=5) == []
    assert page(after=positions[-1], limit=5) == []
    assert page(after=positions[1], before=fifth, limit=50) == ids[2:5]
    assert page(before=fifth, limit=2, partner_id="p0") == [ids[2], ids[4]]


# ---------------------------------------------------------------------- stats


class SalesModel:
    """Seats sold per minute, kept by the test beside the store from what it did."""

    def __init__(self, time: StoppedClock) -> None:
        self.time, self.by_minute = time, defaultdict(int)

    def sold(self, seats: int) -> None:
        now_us = self.time.now_ms * MS
        self.by_minute[now_us - now_us % MINUTE_US] += seats

    def rows(self) -> list[dict]:
        rows, cumulative = [], 0
        for minute in sorted(m for m, seats in self.by_minute.items() if seats):
            cumulative += self.by_minute[minute]
            rows.append(
                {
                    "minute": timestamps.to_text(minute),
                    "seats": self.by_minute[minute],
                    "cumulative": cumulative,
                }
            )
        return rows


def partner_model(store) -> dict[str, tuple[int, int, int, int]]:
    """(confirmed seats, count, held seats, count) per partner, from the reservations."""
    model: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in store.reservations(event_id=EVENT):
        figures = model[r.partner_id]
        if r.status == CONFIRMED:
            figures[0] += r.seats
            figures[1] += 1
        elif r.status == HELD:
            figures[2] += r.seats
            figures[3] += 1
    return {partner: tuple(values) for partner, values in model.items()}


def stats_figures(store) -> dict[str, tuple[int, int, int, int]]:
    return {
        p.partner_id: (p.confirmed_seats, p.confirmed_count, p.held_seats, p.hold_count)
        for p in store.stats(event_id=EVENT).partners
    }


def sales_story(store, time: StoppedClock) -> SalesModel:
    """Reserves, holds, confirms, releases, expiries and cancels over several minutes."""
    model = SalesModel(time)
    store.update_event(event_id=EVENT, changes=EventChanges(total_seats=100))
    store.set_allocation(event_id=EVENT, partner_id="a", seats=30)
    a1 = reserve(store, partner="a", seats=3)
    model.sold(3)
    late_confirm = hold(store, partner="b", seats=4, hold_seconds=600)
    released = hold(store, partner="a", seats=2)
    hold(store, partner="c", seats=5, hold_seconds=90)  # expires unconfirmed
    time.advance(61)
    reserve(store, partner="b", seats=2)
    model.sold(2)
    store.cancel(reservation_id=released.reservation_id)  # a release sells nothing
    time.advance(60)
    store.confirm(reservation_id=late_confirm.reservation_id)  # counts in this minute
    model.sold(4)
    store.cancel(reservation_id=a1.reservation_id)  # a cancel takes back in its minute
    model.sold(-3)
    time.advance(120)
    reserve(store, partner="c", seats=1)
    model.sold(1)
    hold(store, partner="a", seats=6)  # still held
    return model


def test_stats_agree_with_a_model_of_the_reservations(store, event, time) -> None:
    model = sales_story(store, time)
    stats = store.stats(event_id=EVENT)
    assert stats.summary == store.summary(event_id=EVENT)
    assert stats_figures(store) == partner_model(store)
    assert stats_figures(store)["c"] == (1, 1, 0, 0)  # the expired hold counts nowhere
    assert {p.partner_id: p.allocation for p in stats.partners} == {
        "a": 30,
        "b": None,
        "c": None,
    }
    assert stats.per_minute == model.rows()
    assert stats.per_minute[-1]["cumulative"] == stats.summary.reserved_seats == 7
    assert store.verify() == []


def test_restart_keeps_settings_allocations_and_figures(store, event, time, open_store) -> None:
    sales_story(store, time)
    store.update_event(
        event_id=EVENT,
        changes=EventChanges(name="Kept", hold_seconds=45, sales_close_us=at(86_400)),
    )
    store.set_allocation(event_id=EVENT, partner_id="only-allocated", seats=2)
    expected = store.stats(event_id=EVENT).as_dict()
    pages = page_all(store, limit=3)
    restarted = open_store()
    assert restarted.stats(event_id=EVENT).as_dict() == expected
    assert page_all(restarted, limit=3) == pages
    restarted.set_allocation(event_id=EVENT, partner_id="a", seats=9)
    assert figures(store, "a").allocation == 9  # the first store sees it too
    with pytest.raises(AllocationExhausted):
        reserve(store, partner="only-allocated", seats=3)
    assert restarted.verify() == []


def test_dump_and_load_keep_settings_allocations_and_figures(
    store, event, time, request, tmp_path
) -> None:
    sales_story(store, time)
    store.update_event(
        event_id=EVENT, changes=EventChanges(sales_open_us=at(-3600), sales_close_us=at(86_400))
    )
    store.set_allocation(event_id=EVENT, partner_id="only-allocated", seats=2)
    document = dump_store(store)
    backend = request.node.callspec.params["open_store"]
    openers = STORE_BACKENDS[backend](tmp_path / "copy")
    try:
        copy = next(openers)()
        load_events(copy, states_from_dump(document))
        assert copy.stats(event_id=EVENT).as_dict() == store.stats(event_id=EVENT).as_dict()
        assert page_all(copy, limit=50) == page_all(store, limit=50)
        again = dump_store(copy)
        assert again["events"] == document["events"]
        assert copy.verify() == []
    finally:
        openers.close()


def test_dump_from_before_organizer_fields_still_loads(store, event, time) -> None:
    model = sales_story(store, time)
    document = dump_store(store)
    for item in document["events"]:
        for name in ("allocations", "minuteSales", "salesOpenAt", "salesCloseAt"):
            item.pop(name, None)
    (state,) = states_from_dump(document)
    assert state.window == SalesWindow()
    assert all(figures.allocation is None for figures in state.partners.values())
    # Rebuilt from reservations: a confirmed hold counts at its creation then.
    assert state.minute_sales.total == store.summary(event_id=EVENT).reserved_seats
    assert sum(row["seats"] for row in model.rows()) == state.minute_sales.total
