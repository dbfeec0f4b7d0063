"""The storage protocol's contract: every backend passes these same tests.

`open_store()` opens another store on the same data: a second worker, another
node, or the service after a restart.
"""

from __future__ import annotations

import threading
import uuid

import pytest

from reservations import domain
from reservations.domain import (
    EventNotFound,
    IdempotencyConflict,
    NotEnoughSeats,
    ReservationNotFound,
    ResizeBelowReserved,
)
from reservations.store.protocol import ReservationStore

EVENT = "contract-event"


@pytest.fixture
def event(store: ReservationStore) -> str:
    store.ensure_event(event_id=EVENT, name="Contract Event", total_seats=20)
    return EVENT


def test_backend_implements_the_protocol(store: ReservationStore) -> None:
    assert isinstance(store, ReservationStore)


def test_new_event_starts_with_every_seat_free_at_version_zero(store, event) -> None:
    summary = store.summary(event_id=event)
    assert summary.as_dict() == {
        "eventId": event,
        "name": "Contract Event",
        "totalSeats": 20,
        "availableSeats": 20,
        "reservationCount": 0,
        "reservedSeats": 0,
        "heldSeats": 0,
        "holdCount": 0,
        "holdSeconds": 600,
        "salesOpenAt": None,
        "salesCloseAt": None,
        "version": 0,
    }


def test_reserve_takes_seats_and_bumps_version(store, event) -> None:
    result = store.reserve(event_id=event, partner_id="p1", seats=3)
    assert not result.replayed
    reservation = result.reservation
    assert reservation.status == domain.CONFIRMED
    assert reservation.seats == 3
    assert uuid.UUID(reservation.reservation_id).version == 4
    summary = store.summary(event_id=event)
    assert (summary.available_seats, summary.reservation_count, summary.version) == (17, 1, 1)
    assert summary.reserved_seats == 3


def test_reserve_more_than_left_is_refused_and_changes_nothing(store, event) -> None:
    store.reserve(event_id=event, partner_id="p1", seats=10)
    store.reserve(event_id=event, partner_id="p1", seats=8)
    before = store.summary(event_id=event)
    with pytest.raises(NotEnoughSeats):
        store.reserve(event_id=event, partner_id="p2", seats=3)
    assert store.summary(event_id=event) == before
    store.reserve(event_id=event, partner_id="p2", seats=2)
    assert store.summary(event_id=event).available_seats == 0


def test_cancel_frees_seats_once(store, event) -> None:
    reservation = store.reserve(event_id=event, partner_id="p1", seats=4).reservation
    cancelled = store.cancel(reservation_id=reservation.reservation_id)
    assert cancelled.status == domain.CANCELLED
    assert cancelled.cancelled_at is not None
    summary = store.summary(event_id=event)
    assert (summary.available_seats, summary.reservation_count, summary.version) == (20, 0, 2)
    with pytest.raises(ReservationNotFound):
        store.cancel(reservation_id=reservation.reservation_id)
    assert store.summary(event_id=event).version == 2


def test_cancelled_reservation_stays_readable(store, event) -> None:
    reservation = store.reserve(event_id=event, partner_id="p1", seats=2).reservation
    store.cancel(reservation_id=reservation.reservation_id)
    again = store.get_reservation(reservation_id=reservation.reservation_id)
    assert again.status == domain.CANCELLED
    assert again.partner_id == "p1"
    assert again.event_id == event


@pytest.mark.parametrize(
    "reservation_id",
    [str(uuid.uuid4()), "not-a-uuid", "", "../../etc/passwd"],
    ids=["unknown-uuid", "not-uuid", "empty", "path"],
)
def test_unknown_reservation_is_not_found(store, event, reservation_id) -> None:
    with pytest.raises(ReservationNotFound):
        store.get_reservation(reservation_id=reservation_id)
    with pytest.raises(ReservationNotFound):
        store.cancel(reservation_id=reservation_id)


@pytest.mark.parametrize("event_id", ["no-such-event", "UPPER", "../x", ""])
def test_unknown_event_is_not_found(store, event_id) -> None:
    with pytest.raises(EventNotFound):
        store.summary(event_id=event_id)
    with pytest.raises(EventNotFound):
        store.reserve(event_id=event_id, partner_id="p", seats=1)


def test_idempotent_retry_returns_first_reservation(store, event) -> None:
    first = store.reserve(event_id=event, partner_id="p1", seats=2, idempotency_key="k-1")
    retry = store.reserve(event_id=event, partner_id="p1", seats=2, idempotency_key="k-1")
    assert retry.replayed
    assert retry.reservation.reservation_id == first.reservation.reservation_id
    assert store.summary(event_id=event).available_seats == 18


def test_idempotency_key_with_other_body_conflicts(store, event) -> None:
    store.reserve(event_id=event, partner_id="p1", seats=2, idempotency_key="k-1")
    with pytest.raises(IdempotencyConflict):
        store.reserve(event_id=event, partner_id="p1", seats=3, idempotency_key="k-1")
    with pytest.raises(IdempotencyConflict):
        store.reserve(event_id=event, partner_id="p2", seats=2, idempotency_key="k-1")
    assert store.summary(event_id=event).available_seats == 18


def test_idempotency_keys_are_per_event(store, event) -> None:
    store.ensure_event(event_id="other-event", name="Other", total_seats=5)
    a = store.reserve(event_id=event, partner_id="p1", seats=2, idempotency_key="shared")
    b = store.reserve(event_id="other-event", partner_id="p1", seats=2, idempotency_key="shared")
    assert not b.replayed
    assert a.reservation.reservation_id != b.reservation.reservation_id


def test_refused_request_with_key_records_nothing(store, event) -> None:
    store.reserve(event_id=event, partner_id="p1", seats=10)
    store.reserve(event_id=event, partner_id="p1", seats=10)
    with pytest.raises(NotEnoughSeats):
        store.reserve(event_id=event, partner_id="p1", seats=1, idempotency_key="late")
    first = store.reservations(event_id=event)
    store.cancel(reservation_id=next(iter(first)).reservation_id)
    retry = store.reserve(event_id=event, partner_id="p1", seats=1, idempotency_key="late")
    assert not retry.replayed


def test_resize_keeps_reserved_seats_and_refuses_to_go_below(store, event) -> None:
    store.reserve(event_id=event, partner_id="p1", seats=8)
    summary = store.ensure_event(event_id=event, name="Renamed", total_seats=30)
    assert (summary.total_seats, summary.available_seats, summary.name) == (30, 22, "Renamed")
    assert summary.version == 2
    with pytest.raises(ResizeBelowReserved):
        store.ensure_event(event_id=event, name="Renamed", total_seats=7)
    assert store.summary(event_id=event) == summary
    same = store.ensure_event(event_id=event, name="Renamed", total_seats=30)
    assert same.version == 2


def test_events_lists_every_event_by_id(store) -> None:
    for event_id in ("b-event", "a-event", "c-event"):
        store.ensure_event(event_id=event_id, name=event_id.title(), total_seats=3)
    assert [s.event_id for s in store.events()] == ["a-event", "b-event", "c-event"]


def test_reservations_lists_all_including_cancelled(store, event) -> None:
    made = [
        store.reserve(event_id=event, partner_id=f"p{i}", seats=1).reservation for i in range(5)
    ]
    store.cancel(reservation_id=made[0].reservation_id)
    listed = list(store.reservations(event_id=event))
    assert [r.reservation_id for r in listed] == [r.reservation_id for r in made]
    assert [r.status for r in listed] == ["cancelled"] + ["confirmed"] * 4
    assert len(list(store.reservations())) == 5


def test_event_contents_is_the_summary_with_its_reservations(open_store, event) -> None:
    writer, other_worker = open_store(), open_store()
    kept = writer.reserve(event_id=event, partner_id="p1", seats=3, idempotency_key="k").reservation
    dropped = writer.reserve(event_id=event, partner_id="p2", seats=2).reservation
    writer.cancel(reservation_id=dropped.reservation_id)

    summary, reservations = other_worker.event_contents(event_id=event)

    assert summary == writer.summary(event_id=event)
    assert (summary.available_seats, summary.reservation_count, summary.version) == (17, 1, 3)
    assert reservations == list(writer.reservations(event_id=event))
    assert [r.reservation_id for r in reservations] == [kept.reservation_id, dropped.reservation_id]
    with pytest.raises(EventNotFound):
        other_worker.event_contents(event_id="no-such-event")


def test_everything_survives_a_restart(open_store) -> None:
    first = open_store()
    first.ensure_event(event_id=EVENT, name="Contract Event", total_seats=20)
    kept = first.reserve(event_id=EVENT, partner_id="p1", seats=3, idempotency_key="k").reservation
    gone = first.reserve(event_id=EVENT, partner_id="p2", seats=4).reservation
    first.cancel(reservation_id=gone.reservation_id)
    before = first.summary(event_id=EVENT)
    first.close()

    second = open_store()
    assert second.summary(event_id=EVENT) == before
    assert second.get_reservation(reservation_id=kept.reservation_id) == kept
    assert second.get_reservation(reservation_id=gone.reservation_id).status == "cancelled"
    replay = second.reserve(event_id=EVENT, partner_id="p1", seats=3, idempotency_key="k")
    assert replay.replayed and replay.reservation.reservation_id == kept.reservation_id
    assert second.verify() == []


@pytest.mark.parametrize(
    ("partner", "key"),
    [
        ('Café "Zürich" \\ 🎟', 'quote"s and \\backslash\\'),
        ("it's {json}", "it's 100% {json}; -- not sql"),
        ("日本のパートナー", "~!@#$^&*()_+`[]|<>?,./ \\u0041"),
    ],
)
def test_client_text_in_partner_ids_and_keys_is_stored_as_sent(open_store, partner, key) -> None:
    """Partner ids and keys are client text: quotes, backslashes, any script, JSON or SQL
    syntax come back character for character after a restart (through a store's batched
    write: its second write), and a retry with the key still finds the first booking."""
    first = open_store()
    first.ensure_event(event_id=EVENT, name="Contract Event", total_seats=20)
    first.reserve(event_id=EVENT, partner_id="p0", seats=1)  # a store's later writes may batch
    kept = first.reserve(event_id=EVENT, partner_id=partner, seats=2, idempotency_key=key)
    first.close()

    second = open_store()
    stored = second.get_reservation(reservation_id=kept.reservation.reservation_id)
    assert stored == kept.reservation
    assert (stored.partner_id, stored.idempotency_key) == (partner, key)
    replay = second.reserve(event_id=EVENT, partner_id=partner, seats=2, idempotency_key=key)
    assert replay.replayed and replay.reservation.reservation_id == stored.reservation_id
    assert second.summary(event_id=EVENT).available_seats == 17


def test_writes_through_one_store_are_seen_by_another_at_once(open_store) -> None:
    """Two workers (or nodes) on the same data: a read right after a write sees it."""
    worker_a, worker_b = open_store(), open_store()
    worker_a.ensure_event(event_id=EVENT, name="Contract Event", total_seats=20)
    assert worker_b.summary(event_id=EVENT).available_seats == 20
    made = worker_a.reserve(event_id=EVENT, partner_id="p1", seats=5).reservation
    assert worker_b.summary(event_id=EVENT).available_seats == 15
    assert worker_b.get_reservation(reservation_id=made.reservation_id).seats == 5
    worker_b.cancel(reservation_id=made.reservation_id)
    assert worker_a.summary(event_id=EVENT).available_seats == 20
    with pytest.raises(ReservationNotFound):
        worker_a.cancel(reservation_id=made.reservation_id)
    assert [s.event_id for s in worker_b.events()] == [EVENT]


def test_a_stopping_store_still_finishes_its_writes_and_others_see_them(open_store) -> None:
    """before_stop comes while requests may still be in flight: they must still commit and
    be seen, and a store that is told twice, or owes nothing, takes it in its stride."""
    worker_a, worker_b = open_store(), open_store()
    worker_a.before_stop()  # nothing written yet
    worker_a.ensure_event(event_id=EVENT, name="Contract Event", total_seats=20)
    worker_a.reserve(event_id=EVENT, partner_id="before", seats=1)
    worker_a.before_stop()
    worker_a.before_stop()
    late = worker_a.reserve(event_id=EVENT, partner_id="late", seats=2).reservation
    worker_a.cancel(reservation_id=late.reservation_id)
    worker_a.reserve(event_id=EVENT, partner_id="last", seats=3)
    assert worker_b.summary(event_id=EVENT).available_seats == 20 - 1 - 3
    assert [r.partner_id for r in worker_b.reservations(event_id=EVENT)] == [
        "before",
        "late",
        "last",
    ]


def test_many_writes_across_compactions_keep_every_record(open_store) -> None:
    """Enough writes to force snapshots (the JSON contract fixture compacts every 50)."""
    worker_a, worker_b = open_store(), open_store()
    worker_a.ensure_event(event_id=EVENT, name="Contract Event", total_seats=1000)
    made = []
    for i in range(240):
        writer = worker_a if i % 3 else worker_b
        made.append(writer.reserve(event_id=EVENT, partner_id=f"p{i}", seats=1).reservation)
        if i % 4 == 0:
            writer.cancel(reservation_id=made[i].reservation_id)
    expected_confirmed = 240 - 60
    for reader in (worker_a, worker_b, open_store()):
        summary = reader.summary(event_id=EVENT)
        assert summary.reservation_count == expected_confirmed
        assert summary.available_seats == 1000 - expected_confirmed
        assert summary.version == 300
        assert len(list(reader.reservations(event_id=EVENT))) == 240
        assert reader.verify() == []


def test_concurrent_threads_never_oversell(open_store) -> None:
    stores = [open_store(), open_store()]
    stores[0].ensure_event(event_id=EVENT, name="Contract Event", total_seats=25)
    outcomes: list[str] = []
    barrier = threading.Barrier(40)

    def client(index: int) -> None:
        barrier.wait()
        try:
            stores[index % 2].reserve(event_id=EVENT, partner_id=f"p{index}", seats=1)
            outcomes.append("ok")
        except NotEnoughSeats:
            outcomes.append("sold-out")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 25
    assert outcomes.count("sold-out") == 15
    summary = open_store().summary(event_id=EVENT)
    assert (summary.available_seats, summary.reservation_count) == (0, 25)


def test_who_made_and_cancelled_a_reservation_survives_a_restart(open_store, event) -> None:
    """CONTRACT.md "Access": every change records its actor. Enough writes that the JSON
    store compacts, so snapshots carry actors as well as journal lines."""
    store = open_store()
    made = [
        store.reserve(
            event_id=event, partner_id="p1", seats=1, actor=f"partner:p1/Key0000{index}"
        ).reservation
        for index in range(6)
    ]
    plain = store.reserve(event_id=event, partner_id="p2", seats=1).reservation
    store.cancel(reservation_id=made[0].reservation_id, actor="staff:ada")
    store.cancel(reservation_id=plain.reservation_id)
    for reader in (store, open_store()):
        first = reader.get_reservation(reservation_id=made[0].reservation_id)
        assert (first.created_by, first.cancelled_by) == ("partner:p1/Key00000", "staff:ada")
        last = reader.get_reservation(reservation_id=made[5].reservation_id)
        assert (last.created_by, last.cancelled_by) == ("partner:p1/Key00005", None)
        old_style = reader.get_reservation(reservation_id=plain.reservation_id)
        assert (old_style.created_by, old_style.cancelled_by) == ("open", "open")
