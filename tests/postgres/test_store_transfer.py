"""JSON files -> PostgreSQL -> JSON files with export_store/import_store: nothing lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from reservations.domain import ReservationNotFound
from reservations.store.jsonfile import JsonFileStore
from tests.postgres.conftest import manage
from tests.support.writers import Writers

pytestmark = pytest.mark.postgres


def fill_json_store(data_dir: Path) -> None:
    """Two events with every kind of record: keys, cancels, a resize and a rename."""
    store = JsonFileStore(data_dir)
    try:
        store.ensure_event(event_id="node-meetup-2025", name="Node.js Meet-up", total_seats=500)
        store.ensure_event(event_id="summer-fest", name="Summer Fest", total_seats=40)
        for index in range(30):
            event_id = "summer-fest" if index % 3 else "node-meetup-2025"
            made = store.reserve(
                event_id=event_id,
                partner_id=f"partner-{index} ünïcode",
                seats=1 + index % 4,
                idempotency_key=f"order-{index}" if index % 2 else None,
            ).reservation
            if index % 5 == 0:
                store.cancel(reservation_id=made.reservation_id)
        store.ensure_event(event_id="summer-fest", name="Summer Fest 2026", total_seats=60)
    finally:
        store.close()


def events_of(dump_path: Path) -> list[dict[str, Any]]:
    return orjson.loads(dump_path.read_bytes())["events"]


def test_round_trip_json_to_postgres_to_json_loses_nothing(tmp_path: Path, db_env) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    fill_json_store(source)
    json_source = {"TICKETBOSS_STORE": "json", "TICKETBOSS_DATA_DIR": str(source)}
    json_target = {"TICKETBOSS_STORE": "json", "TICKETBOSS_DATA_DIR": str(target)}

    manage("export_store", str(tmp_path / "from-json.json"), env=json_source)
    manage("import_store", str(tmp_path / "from-json.json"), env=db_env)
    manage("export_store", str(tmp_path / "from-db.json"), env=db_env)
    manage("import_store", str(tmp_path / "from-db.json"), env=json_target)
    manage("export_store", str(tmp_path / "back-in-json.json"), env=json_target)
    manage("check_store", env=json_target)
    manage("check_store", env=db_env)

    original = events_of(tmp_path / "from-json.json")
    assert [event["eventId"] for event in original] == ["node-meetup-2025", "summer-fest"]
    reservations = [item for event in original for item in event["reservations"]]
    assert len(reservations) == 30
    assert sum(item["status"] == "cancelled" for item in reservations) == 6
    assert sum("idempotencyKey" in item for item in reservations) == 15
    assert original == events_of(tmp_path / "from-db.json")
    assert original == events_of(tmp_path / "back-in-json.json")

    # The moved store behaves as the original: keys replay, cancelled ids stay cancelled.
    moved = JsonFileStore(target)
    try:
        keyed = next(item for item in reservations if item.get("idempotencyKey"))
        event_id = next(e["eventId"] for e in original if keyed in e["reservations"])
        replay = moved.reserve(
            event_id=event_id,
            partner_id=keyed["partnerId"],
            seats=keyed["seats"],
            idempotency_key=keyed["idempotencyKey"],
        )
        assert replay.replayed
        assert replay.reservation.reservation_id == keyed["reservationId"]
        cancelled = next(item for item in reservations if item["status"] == "cancelled")
        with pytest.raises(ReservationNotFound):
            moved.cancel(reservation_id=cancelled["reservationId"])
    finally:
        moved.close()


def test_import_refuses_events_that_already_exist(tmp_path: Path, db_env) -> None:
    fill_json_store(tmp_path / "source")
    json_source = {"TICKETBOSS_STORE": "json", "TICKETBOSS_DATA_DIR": str(tmp_path / "source")}
    manage("export_store", str(tmp_path / "dump.json"), env=json_source)
    manage("import_store", str(tmp_path / "dump.json"), env=db_env)
    with pytest.raises(AssertionError, match="already exist"):
        manage("import_store", str(tmp_path / "dump.json"), env=db_env)


def test_a_failed_import_into_json_files_leaves_nothing_behind(tmp_path: Path) -> None:
    fill_json_store(tmp_path / "source")
    json_source = {"TICKETBOSS_STORE": "json", "TICKETBOSS_DATA_DIR": str(tmp_path / "source")}
    manage("export_store", str(tmp_path / "dump.json"), env=json_source)
    target = tmp_path / "target"
    (target / "events").mkdir(parents=True)
    (target / "events" / "summer-fest").write_text("in the way")  # the second event fails
    json_target = {"TICKETBOSS_STORE": "json", "TICKETBOSS_DATA_DIR": str(target)}

    with pytest.raises(AssertionError, match="nothing imported"):
        manage("import_store", str(tmp_path / "dump.json"), env=json_target)

    assert sorted(path.name for path in (target / "events").iterdir()) == ["summer-fest"]
    assert (target / "events" / "summer-fest").read_text() == "in the way"


def test_a_dump_naming_one_reservation_in_two_events_is_refused(tmp_path: Path, db_env) -> None:
    fill_json_store(tmp_path / "source")
    json_source = {"TICKETBOSS_STORE": "json", "TICKETBOSS_DATA_DIR": str(tmp_path / "source")}
    manage("export_store", str(tmp_path / "dump.json"), env=json_source)
    document = orjson.loads((tmp_path / "dump.json").read_bytes())
    first, second = document["events"]
    cancelled = next(item for item in first["reservations"] if item["status"] == "cancelled")
    second["reservations"].append(cancelled)  # seat counts still agree: only the id is wrong
    (tmp_path / "twice.json").write_bytes(orjson.dumps(document))

    with pytest.raises(AssertionError, match="appears in two events"):
        manage("import_store", str(tmp_path / "twice.json"), env=db_env)
    manage("check_store", env=db_env)  # nothing half-loaded: the database is sound


def test_a_dump_taken_under_writes_on_postgres_restores_to_sound_files(
    tmp_path: Path, db_env, start_node
) -> None:
    node = start_node()
    manage("seed_event", "busy-fest", "--name", "Busy Fest", "--seats", "100000", env=db_env)
    with Writers(node, event_id="busy-fest", clients=4) as writers:
        before = sum(writers.acknowledged)
        manage("export_store", str(tmp_path / "dump.json"), env=db_env)
        assert sum(writers.acknowledged) > before, "the dump was not taken under writes"
    assert writers.errors == []
    restored = {"TICKETBOSS_STORE": "json", "TICKETBOSS_DATA_DIR": str(tmp_path / "restored")}
    manage("import_store", str(tmp_path / "dump.json"), env=restored)  # seat counts agree
    manage("check_store", env=restored)
