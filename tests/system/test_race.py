"""Many clients at once for the last seats, against gunicorn with 2 worker processes."""

from __future__ import annotations

import threading
from collections import Counter

import requests

DEFAULT = "node-meetup-2025"
CLIENTS = 200
LAST_SEATS = 50


def _summary(server) -> dict:
    return requests.get(server.url("/reservations"), timeout=10).json()


def _fill_until(server, seats_left: int) -> None:
    """Book the event down to `seats_left` (sequentially, 10 at a time)."""
    with requests.Session() as http:
        while (left := _summary(server)["availableSeats"]) > seats_left:
            body = {"partnerId": "filler", "seats": min(10, left - seats_left)}
            assert http.post(server.url("/reservations"), json=body, timeout=10).status_code == 201


def test_last_seats_race_exact_counts_across_workers_and_restart(server_factory) -> None:
    server = server_factory(workers=2)
    _fill_until(server, LAST_SEATS)
    barrier = threading.Barrier(CLIENTS)
    statuses: list[int] = []
    ids: list[str] = []
    lock = threading.Lock()

    def client(index: int) -> None:
        with requests.Session() as http:  # one connection per client
            barrier.wait()
            response = http.post(
                server.url("/reservations"),
                json={"partnerId": f"racer-{index}", "seats": 1},
                timeout=60,
            )
        with lock:
            statuses.append(response.status_code)
            if response.status_code == 201:
                ids.append(response.json()["reservationId"])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Counter(statuses) == {201: LAST_SEATS, 409: CLIENTS - LAST_SEATS}
    assert len(set(ids)) == LAST_SEATS
    after = _summary(server)
    assert after["availableSeats"] == 0
    assert after["reservedSeats"] == after["totalSeats"]

    server.stop()
    check = server.manage("check_store")
    assert check.returncode == 0, check.stderr
    server.start()
    assert _summary(server) == after
    for rid in ids:
        detail = requests.get(server.url(f"/reservations/{rid}"), timeout=10).json()
        assert detail["status"] == "confirmed"


def test_read_right_after_write_sees_it_from_any_worker(server_factory) -> None:
    """Each request on a fresh connection, so writes and reads land on either worker."""
    server = server_factory(workers=2)
    last_version = requests.get(server.url("/reservations"), timeout=10).json()["version"]
    for i in range(40):
        made = requests.post(
            server.url("/reservations"), json={"partnerId": f"rw{i}", "seats": 1}, timeout=10
        )
        assert made.status_code == 201
        rid = made.json()["reservationId"]
        assert requests.get(server.url(f"/reservations/{rid}"), timeout=10).status_code == 200
        summary = requests.get(server.url("/reservations"), timeout=10).json()
        assert summary["version"] == last_version + 1
        assert requests.delete(server.url(f"/reservations/{rid}"), timeout=10).status_code == 204
        assert requests.get(server.url(f"/reservations/{rid}"), timeout=10).json()["status"] == (
            "cancelled"
        )
        last_version = requests.get(server.url("/reservations"), timeout=10).json()["version"]
        assert last_version == summary["version"] + 1
