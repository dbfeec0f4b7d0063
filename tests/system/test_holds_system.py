"""Holds on a real server with 2 workers, on every store: races, kill -9, and the live
stream's expiry.

The server's "now" is a stopped clock in a file (reservations.clock): a test moves
it for every worker at once, and nothing here sleeps to wait for time to pass.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import requests

from tests.support.clock import StoppedClock
from tests.support.server import ServerProcess, run_manage
from tests.system.test_live_stream import open_stream

pytestmark = pytest.mark.system

EVENT = "holds-race"
DEFAULT = "node-meetup-2025"
CLIENTS = 100
LAST_SEATS = 20


@pytest.fixture
def stopped_clock(tmp_path: Path) -> StoppedClock:
    return StoppedClock(tmp_path / "clock")


@pytest.fixture(
    params=[
        pytest.param("json", id="json"),
        pytest.param("db", id="db-postgres", marks=pytest.mark.postgres),
        pytest.param("db-sqlite", id="db-sqlite"),
    ]
)
def holds_server(
    request, server_factory, stopped_clock: StoppedClock, tmp_path: Path
) -> Iterator[ServerProcess]:
    """Two workers on each store (open mode), reading the test's clock."""
    env = {
        "TICKETBOSS_AUTH": "open",
        "TICKETBOSS_CLOCK_FILE": str(stopped_clock.path),
        "TICKETBOSS_STREAM_KEEPALIVE": "0.5",
    }
    drop = None
    if request.param == "db":
        cluster = request.getfixturevalue("postgres_cluster")
        name = cluster.new_database()
        env |= {"TICKETBOSS_STORE": "db", "DATABASE_URL": cluster.url(name)}
        drop = lambda: cluster.drop_database(name)  # noqa: E731
    elif request.param == "db-sqlite":
        env |= {"TICKETBOSS_STORE": "db", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
        migrated = run_manage({**os.environ, **env}, "migrate", "--no-input", "-v", "0")
        assert migrated.returncode == 0, migrated.stderr
    server = server_factory(workers=2, env=env)
    server.store = request.param  # type: ignore[attr-defined]
    yield server
    server.stop()
    if drop is not None:
        drop()


def summary(server: ServerProcess, event: str = EVENT) -> dict:
    response = requests.get(server.url(f"/events/{event}"), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def check_store(server: ServerProcess) -> None:
    result = server.manage("check_store")
    assert result.returncode == 0, result.stderr


def run_together(actions: list) -> list:
    """Start every action at once (a barrier) and return their results in order."""
    barrier = threading.Barrier(len(actions))
    results: list = [None] * len(actions)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = actions[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_last_seats_holds_race_then_confirms_race_the_expiry(holds_server, stopped_clock) -> None:
    server = holds_server
    assert server.manage("seed_event", EVENT, "--name", "Race", "--seats", "50").returncode == 0
    for _ in range(3):
        filled = requests.post(
            server.url(f"/events/{EVENT}/reservations"),
            json={"partnerId": "filler", "seats": 10},
            timeout=10,
        )
        assert filled.status_code == 201

    def holder(index: int):
        def run() -> requests.Response:
            with requests.Session() as http:
                return http.post(
                    server.url(f"/events/{EVENT}/holds"),
                    json={"partnerId": f"racer-{index}", "seats": 1, "holdSeconds": 60},
                    timeout=60,
                )

        return run

    answers = run_together([holder(i) for i in range(CLIENTS)])
    assert Counter(a.status_code for a in answers) == {201: LAST_SEATS, 409: CLIENTS - LAST_SEATS}
    held = [a.json()["reservationId"] for a in answers if a.status_code == 201]
    assert len(set(held)) == LAST_SEATS
    after_holds = summary(server)
    assert (after_holds["availableSeats"], after_holds["heldSeats"]) == (0, LAST_SEATS)
    assert (after_holds["holdCount"], after_holds["version"]) == (LAST_SEATS, 3 + LAST_SEATS)

    # Half confirm while the clock jumps past every expiry: each confirm wins or loses.
    confirmers = held[: LAST_SEATS // 2]

    def confirmer(rid: str):
        return lambda: requests.post(server.url(f"/reservations/{rid}/confirm"), timeout=60)

    results = run_together(
        [confirmer(rid) for rid in confirmers] + [lambda: stopped_clock.advance(60)]
    )
    outcome = {rid: r.status_code for rid, r in zip(confirmers, results, strict=False)}
    assert set(outcome.values()) <= {200, 409}
    for rid in held:
        status = requests.get(server.url(f"/reservations/{rid}"), timeout=10).json()["status"]
        expected = "confirmed" if outcome.get(rid) == 200 else "expired"
        assert status == expected, (rid, outcome.get(rid), status)
    won = Counter(outcome.values())[200]
    final = summary(server)
    assert final["heldSeats"] == final["holdCount"] == 0
    assert final["reservationCount"] == 3 + won
    assert final["availableSeats"] == LAST_SEATS - won
    assert final["version"] == 3 + LAST_SEATS + LAST_SEATS  # every hold confirmed or expired
    check_store(server)


def test_holds_survive_kill9_and_expire_while_down(holds_server, stopped_clock) -> None:
    server = holds_server
    holds = {}
    for seconds in (30, 30, 600):
        made = requests.post(
            server.url("/holds"),
            json={"partnerId": "p", "seats": 2, "holdSeconds": seconds},
            timeout=10,
        )
        assert made.status_code == 201
        holds[made.json()["reservationId"]] = made.json()
    confirmed = next(iter(holds))
    assert requests.post(server.url(f"/reservations/{confirmed}/confirm"), timeout=10).ok
    before = summary(server, DEFAULT)
    assert (before["heldSeats"], before["reservationCount"], before["version"]) == (4, 1, 4)

    server.kill9()
    stopped_clock.advance(31)  # the second 30 s hold expires while the server is down
    server.start()
    if server.store == "json":  # type: ignore[attr-defined]
        journal = server.data_dir / "events" / DEFAULT / "journal.jsonl"
        lines = journal.open("rb")
        ops = [orjson.loads(line.rsplit(b',"crc"', 1)[0] + b"}")["op"] for line in lines]
        assert ops.count("expire") == 1  # recorded at start, before any hold request
    after = summary(server, DEFAULT)
    assert after["availableSeats"] == before["availableSeats"] + 2
    assert (after["heldSeats"], after["holdCount"]) == (2, 1)
    assert (after["reservationCount"], after["version"]) == (1, 5)
    statuses = [
        requests.get(server.url(f"/reservations/{rid}"), timeout=10).json()["status"]
        for rid in holds
    ]
    assert statuses == ["confirmed", "expired", "held"]
    for rid, body in holds.items():  # each hold kept its expiry through the crash
        shown = requests.get(server.url(f"/reservations/{rid}"), timeout=10).json()
        assert shown["expiresAt"] == body["expiresAt"]
    check_store(server)


def test_stream_carries_hold_confirm_release_and_a_timed_expiry(holds_server, stopped_clock):
    server = holds_server
    with open_stream(server, DEFAULT) as stream:
        assert stream.next_summary()["holdCount"] == 0
        made = [
            requests.post(
                server.url("/holds"),
                json={"partnerId": "p", "seats": 1, "holdSeconds": 30 + i},
                timeout=10,
            ).json()["reservationId"]
            for i in range(3)
        ]
        while (seen := stream.next_summary())["version"] < 3:
            pass
        assert (seen["heldSeats"], seen["holdCount"]) == (3, 3)
        assert requests.post(server.url(f"/reservations/{made[0]}/confirm"), timeout=10).ok
        assert requests.delete(server.url(f"/reservations/{made[1]}"), timeout=10).ok
        while (seen := stream.next_summary())["version"] < 5:
            pass
        assert (seen["heldSeats"], seen["reservationCount"]) == (1, 1)
        stopped_clock.advance(32)  # no request from here on: the watcher expires it
        moved = time.monotonic()
        while (seen := stream.next_summary())["version"] < 6:
            pass
        assert time.monotonic() - moved < 1.0
        assert (seen["heldSeats"], seen["holdCount"], seen["availableSeats"]) == (0, 0, 499)
