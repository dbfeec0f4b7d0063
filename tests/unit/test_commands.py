"""manage.py seed_event, check_store and export_reservations on a real data folder."""

from __future__ import annotations

import csv
import io
import os
import subprocess

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from reservations.store import build_store, reset_store
from tests.support.server import run_manage as run_support_manage


def run_manage(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TICKETBOSS_DATA_DIR": str(settings.TICKETBOSS_DATA_DIR)}
    return run_support_manage(env, *args)


def test_seed_event_creates_then_resizes() -> None:
    out = io.StringIO()
    call_command("seed_event", "summer-fest", "--name", "Summer Fest", "--seats", "40", stdout=out)
    assert "summer-fest (Summer Fest): 40 of 40 seats available" in out.getvalue()
    store = build_store()
    store.reserve(event_id="summer-fest", partner_id="p", seats=10)
    store.close()
    reset_store()
    out = io.StringIO()
    call_command("seed_event", "summer-fest", "--name", "Summer Fest", "--seats", "60", stdout=out)
    assert "50 of 60 seats available, version 2" in out.getvalue()


def test_seed_event_never_resizes_below_reserved() -> None:
    call_command("seed_event", "tiny", "--name", "Tiny", "--seats", "10", stdout=io.StringIO())
    store = build_store()
    store.reserve(event_id="tiny", partner_id="p", seats=8)
    store.close()
    reset_store()
    with pytest.raises(CommandError, match="8 are reserved"):
        call_command("seed_event", "tiny", "--name", "Tiny", "--seats", "5")
    store = build_store()
    assert store.summary(event_id="tiny").total_seats == 10
    store.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Bad Id", "--name", "x", "--seats", "5"], "eventId"),
        (["ok", "--name", "  ", "--seats", "5"], "name"),
        (["ok", "--name", "x", "--seats", "-1"], "totalSeats"),
    ],
    ids=["bad-id", "blank-name", "negative-seats"],
)
def test_seed_event_refuses_bad_input(args, message) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("seed_event", *args)


def test_check_store_exit_codes() -> None:
    assert run_manage("seed_event", "e1", "--name", "E1", "--seats", "5").returncode == 0
    sound = run_manage("check_store")
    assert sound.returncode == 0, sound.stderr
    assert "store is sound (2 events)" in sound.stdout
    journal = settings.TICKETBOSS_DATA_DIR / "events" / "e1" / "journal.jsonl"
    data = journal.read_bytes()
    journal.write_bytes(data.replace(b'"totalSeats":5', b'"totalSeats":6') + data[-60:])
    broken = run_manage("check_store")
    assert broken.returncode != 0
    assert f"{journal}:2" in broken.stderr
    assert "e1" in broken.stderr


def test_export_reservations_csv() -> None:
    store = build_store()
    store.ensure_event(event_id="gig", name="Gig", total_seats=10)
    kept = store.reserve(event_id="gig", partner_id='Comma, "Quote"', seats=2).reservation
    gone = store.reserve(event_id="gig", partner_id="p2", seats=1).reservation
    store.cancel(reservation_id=gone.reservation_id)
    store.close()
    out = io.StringIO()
    call_command("export_reservations", "gig", stdout=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["reservationId"] for r in rows] == [kept.reservation_id, gone.reservation_id]
    assert rows[0]["partnerId"] == 'Comma, "Quote"'
    assert (rows[0]["seats"], rows[0]["status"], rows[0]["cancelledAt"]) == ("2", "confirmed", "")
    assert rows[1]["status"] == "cancelled" and rows[1]["cancelledAt"]

    target = settings.TICKETBOSS_DATA_DIR.parent / "all.csv"
    call_command("export_reservations", "--output", str(target), stderr=io.StringIO())
    assert len(list(csv.DictReader(target.open()))) == 2
    with pytest.raises(CommandError, match="Event not found"):
        call_command("export_reservations", "no-such-event", stdout=io.StringIO())
