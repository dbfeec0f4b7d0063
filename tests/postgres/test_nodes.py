"""Two app nodes on one PostgreSQL: no oversell, live streams across nodes, outages."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest
import requests

from reservations.store.notify import CHANNEL
from tests.postgres.conftest import EVENT, SEATS, manage, summaries
from tests.support.clock import StoppedClock
from tests.support.postgres import PostgresCluster
from tests.support.server import ServerProcess, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.system]

CLIENTS = 160
PREFILLED = 60


def reserve(node: ServerProcess, partner: str, seats: int = 1, **kwargs: Any) -> requests.Response:
    return requests.post(
        node.url(f"/events/{EVENT}/reservations"),
        json={"partnerId": partner, "seats": seats},
        timeout=30,
        **kwargs,
    )


def summary(node: ServerProcess) -> dict[str, Any]:
    response = requests.get(node.url(f"/events/{EVENT}"), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


with_and_without_pool = pytest.mark.parametrize(
    "two_nodes", [0, 8], indirect=True, ids=["connection-per-request", "pool-of-8"]
)


@with_and_without_pool
def test_160_clients_on_two_nodes_take_exactly_the_last_seats(two_nodes, postgres_cluster):
    for index in range(PREFILLED // 10):
        assert reserve(two_nodes[index % 2], f"early-{index}", seats=10).status_code == 201
    left = SEATS - PREFILLED
    barrier = threading.Barrier(CLIENTS)
    answers: list[int] = [0] * CLIENTS

    def client(index: int) -> None:
        node = two_nodes[index % 2]
        with requests.Session() as session:
            session.get(node.url("/reservations"), timeout=30)  # connect before the start line
            barrier.wait(timeout=60)
            answers[index] = session.post(
                node.url(f"/events/{EVENT}/reservations"),
                json={"partnerId": f"client-{index}", "seats": 1},
                timeout=60,
            ).status_code

    threads = [threading.Thread(target=client, args=(index,)) for index in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert Counter(answers) == {201: left, 409: CLIENTS - left}
    for node in two_nodes:
        seen = summary(node)
        assert seen["availableSeats"] == 0
        assert seen["reservationCount"] == PREFILLED // 10 + left
        assert seen["version"] == PREFILLED // 10 + left
    with postgres_cluster.connect(two_nodes[0].env["DATABASE_URL"].rsplit("/", 1)[1]) as conn:
        booked = conn.execute(
            "SELECT count(*), sum(seats) FROM ticketboss_reservation "
            "WHERE event_id = %s AND status = 'confirmed'",
            [EVENT],
        ).fetchone()
    assert booked == (PREFILLED // 10 + left, SEATS)


@with_and_without_pool
def test_stream_on_one_node_sees_a_cancel_on_the_other_within_a_second(two_nodes):
    node_a, node_b = two_nodes
    made = reserve(node_a, "to-cancel", seats=4)
    assert made.status_code == 201
    # A read timeout bounds every wait for the next message.
    with requests.get(node_a.url(f"/events/{EVENT}/stream"), stream=True, timeout=(5, 5)) as stream:
        assert stream.status_code == 200
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        messages = summaries(stream)
        _at, first = next(messages)
        assert first["availableSeats"] == SEATS - 4

        sent = time.monotonic()
        cancel = requests.delete(node_b.url(f"/reservations/{made.json()['reservationId']}"))
        assert cancel.status_code == 204
        # Read after the answer: the measured time is an upper bound of the real one.
        arrived, latest = next(messages)
        while latest["version"] <= first["version"]:
            arrived, latest = next(messages)

    assert latest["availableSeats"] == SEATS
    assert latest["version"] == first["version"] + 1
    assert arrived - sent < 1.0, f"cross-node update took {arrived - sent:.3f}s"


def test_database_outage_answers_503_json_and_recovers_without_restart(
    two_nodes, postgres_cluster: PostgresCluster
):
    node_a, node_b = two_nodes
    assert reserve(node_a, "before").status_code == 201
    with requests.get(
        node_a.url(f"/events/{EVENT}/stream"), stream=True, timeout=(5, 30)
    ) as stream:
        messages = summaries(stream)
        _at, first = next(messages)
        assert first["version"] == 1

        postgres_cluster.stop()
        try:
            for node in two_nodes:
                refused = reserve(node, "during")
                assert refused.status_code == 503
                assert refused.headers["Content-Type"].startswith("application/json")
                assert "error" in refused.json()
                assert refused.headers.get("Retry-After")
                read = requests.get(node.url(f"/events/{EVENT}"), timeout=10)
                assert read.status_code == 503
                assert "error" in read.json()
        finally:
            postgres_cluster.start()

        for node in two_nodes:
            wait_until(
                lambda node=node: reserve(node, "after").status_code == 201,
                timeout=15,
                interval=0.2,
                message="the node to serve again after the database came back",
            )
        # The stream opened before the outage follows again (its LISTEN reconnected).
        _at, latest = next(messages)
        while latest["version"] < 3:
            _at, latest = next(messages)

    assert latest["reservationCount"] == 3
    seen = summary(node_b)
    assert seen["reservationCount"] == 3  # "before" and one "after" per node; nothing "during"
    assert seen["availableSeats"] == SEATS - 3
    assert seen["version"] == 3


def test_database_crash_under_load_leaves_every_201_stored_and_seats_sound(
    two_nodes, postgres_cluster: PostgresCluster, db_env
):
    """Writers keep going while PostgreSQL crashes (immediate stop) and restarts."""
    confirmed: list[str] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    stop = threading.Event()

    def writer(index: int) -> None:
        node = two_nodes[index % 2]
        with requests.Session() as session:
            while not stop.is_set():
                answer = session.post(
                    node.url(f"/events/{EVENT}/reservations"),
                    json={"partnerId": f"writer-{index}", "seats": 1},
                    timeout=30,
                )
                with lock:
                    statuses[answer.status_code] += 1
                    if answer.status_code == 201:
                        confirmed.append(answer.json()["reservationId"])

    threads = [threading.Thread(target=writer, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: len(confirmed) >= 10, timeout=30, message="writes before the crash")
        postgres_cluster.stop(mode="immediate")
        wait_until(lambda: statuses[503] >= 4, timeout=30, message="503s during the outage")
        postgres_cluster.start()
        before = len(confirmed)
        wait_until(lambda: len(confirmed) >= before + 10, timeout=30, message="writes after")
    finally:
        stop.set()
        if not (postgres_cluster.data_dir / "postmaster.pid").exists():
            postgres_cluster.start()
        for thread in threads:
            thread.join(timeout=60)

    assert set(statuses) <= {201, 409, 503}, statuses
    dbname = db_env["DATABASE_URL"].rsplit("/", 1)[1]
    with postgres_cluster.connect(dbname) as conn:
        stored = {
            str(row[0])
            for row in conn.execute(
                "SELECT reservation_id FROM ticketboss_reservation WHERE status = 'confirmed'"
            )
        }
    assert set(confirmed) <= stored  # every acknowledged reservation survived the crash
    check = manage("check_store", env=db_env)  # seats == confirmed reservations, per event
    assert "store is sound" in check.stdout


HOLD_CLIENTS = 100
LAST_SEATS = 20


def test_100_clients_hold_the_last_seats_on_two_nodes_then_half_confirm_as_the_rest_expire(
    start_node, db_env, postgres_cluster, tmp_path
):
    """CONTRACT.md "Holds" across nodes: exactly the last 20 seats are held, then half
    the holders confirm while time passes the others' expiresAt. Time is a stopped clock
    file both nodes read (reservations.clock); nothing sleeps."""
    time_now = StoppedClock(tmp_path / "clock")
    env = {**db_env, "TICKETBOSS_CLOCK_FILE": str(time_now.path)}
    manage("seed_event", EVENT, "--name", "Big on-sale", "--seats", str(SEATS), env=env)
    nodes = (start_node(env=env), start_node(env=env))
    for index in range((SEATS - LAST_SEATS) // 10):
        assert reserve(nodes[index % 2], f"early-{index}", seats=10).status_code == 201
    barrier = threading.Barrier(HOLD_CLIENTS)
    held: list[requests.Response | None] = [None] * HOLD_CLIENTS

    def client(index: int) -> None:
        node = nodes[index % 2]
        with requests.Session() as session:
            session.get(node.url("/reservations"), timeout=30)  # connect before the start
            barrier.wait(timeout=60)
            held[index] = session.post(
                node.url(f"/events/{EVENT}/holds"),
                json={"partnerId": f"buyer-{index}", "seats": 1, "holdSeconds": 60},
                timeout=60,
            )

    threads = [threading.Thread(target=client, args=(i,)) for i in range(HOLD_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert Counter(answer.status_code for answer in held if answer is not None) == {
        201: LAST_SEATS,
        409: HOLD_CLIENTS - LAST_SEATS,
    }
    holds = [answer.json()["reservationId"] for answer in held if answer is not None and answer.ok]
    for node in nodes:
        seen = summary(node)
        assert (seen["availableSeats"], seen["heldSeats"], seen["holdCount"]) == (0, 20, 20)

    confirming, walking_away = holds[: LAST_SEATS // 2], holds[LAST_SEATS // 2 :]
    for index, reservation_id in enumerate(confirming):
        answer = requests.post(
            nodes[index % 2].url(f"/reservations/{reservation_id}/confirm"), timeout=30
        )
        assert (answer.status_code, answer.json()["status"]) == (200, "confirmed")
    time_now.advance(61)  # past every other hold's expiresAt
    late = requests.post(nodes[1].url(f"/reservations/{walking_away[0]}/confirm"), timeout=30)
    assert (late.status_code, late.json()) == (409, {"error": "Hold expired"})

    for node in nodes:
        seen = summary(node)
        assert (seen["availableSeats"], seen["heldSeats"], seen["holdCount"]) == (10, 0, 0)
        assert seen["reservationCount"] == (SEATS - LAST_SEATS) // 10 + LAST_SEATS // 2
        for reservation_id in walking_away:
            status = requests.get(node.url(f"/reservations/{reservation_id}"), timeout=10)
            assert status.json()["status"] == "expired"
    with postgres_cluster.connect(env["DATABASE_URL"].rsplit("/", 1)[1]) as conn:
        booked = conn.execute(
            "SELECT count(*), sum(seats) FROM ticketboss_reservation "
            "WHERE event_id = %s AND status = 'confirmed'",
            [EVENT],
        ).fetchone()
    assert booked == ((SEATS - LAST_SEATS) // 10 + LAST_SEATS // 2, SEATS - LAST_SEATS // 2)
    assert manage("check_store", env=env).returncode == 0


@pytest.mark.parametrize(
    "app", [None, "ticketboss_site.wsgi:application"], ids=["production-server", "gunicorn"]
)
def test_a_stopping_node_announces_its_last_reservations_before_it_exits(
    app, start_node, db_env, postgres_cluster
):
    """A worker announces its batches at most once per TICKETBOSS_STREAM_MIN_INTERVAL and
    the rest after it: stopped in between, it must not take that announcement with it
    (streams on the other nodes would show the reservation only at their own timeout)."""
    manage("seed_event", EVENT, "--name", "Big on-sale", "--seats", str(SEATS), env=db_env)
    node = start_node(env={**db_env, "TICKETBOSS_STREAM_MIN_INTERVAL": "600"}, workers=1, app=app)
    database = db_env["DATABASE_URL"].rsplit("/", 1)[1]
    with postgres_cluster.connect(database) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        assert reserve(node, "first").status_code == 201
        assert len(list(listener.notifies(timeout=30, stop_after=1))) == 1  # with its commit
        assert reserve(node, "second").status_code == 201
        assert list(listener.notifies(timeout=0.5)) == []  # owed for the next ten minutes
        node.stop()
        assert node.process.returncode is not None
        assert len(list(listener.notifies(timeout=30, stop_after=1))) == 1
        booked = listener.execute(
            "SELECT partner_id FROM ticketboss_reservation WHERE event_id = %s ORDER BY id",
            [EVENT],
        ).fetchall()
    assert booked == [("first",), ("second",)]
