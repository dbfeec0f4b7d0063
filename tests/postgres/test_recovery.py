"""After a database outage both nodes serve at once, with or without a connection pool.

psycopg's pool alone retries with exponential backoff (7 s to the first 201 after
a 20 s outage was measured); the store starts a new pool on a lost database, and
the committer checks its idle connection before a batch and reconnects.
"""

from __future__ import annotations

import time

import pytest
import requests

from tests.postgres.conftest import EVENT
from tests.support.postgres import PostgresCluster

pytestmark = [pytest.mark.postgres, pytest.mark.system]

OUTAGE_ROUNDS = 3  # 503s per node while the database is down: the pool's backoff grows
RECOVERY_LIMIT_S = 2.0


def reserve(node, seats: int = 1) -> requests.Response:
    return requests.post(
        node.url(f"/events/{EVENT}/reservations"),
        json={"partnerId": "p", "seats": seats},
        timeout=30,
    )


@pytest.mark.parametrize(
    "two_nodes", [0, 8], indirect=True, ids=["connection-per-request", "pool-of-8"]
)
def test_every_request_after_an_outage_is_served(
    two_nodes, postgres_cluster: PostgresCluster
) -> None:
    made = [reserve(node, seats=2) for node in two_nodes]
    assert [answer.status_code for answer in made] == [201, 201]
    logged_before = [node.log_path.stat().st_size for node in two_nodes]
    waits: list[float] = []
    postgres_cluster.stop()
    try:
        for _ in range(OUTAGE_ROUNDS):
            for node in two_nodes:
                started = time.monotonic()
                assert requests.get(node.url(f"/events/{EVENT}"), timeout=30).status_code == 503
                waits.append(time.monotonic() - started)
                started = time.monotonic()
                assert reserve(node).status_code == 503
                waits.append(time.monotonic() - started)
    finally:
        postgres_cluster.start()
    # Each worker waits once, to find the database lost; after that it refuses at once
    # (with a pool, every 503 came after the pool's 3 s connect timeout before).
    workers = sum(node.workers for node in two_nodes)
    assert len([wait for wait in waits if wait > 1.0]) <= workers, waits

    back = time.monotonic()
    for node, earlier in zip(two_nodes, made, strict=True):
        for _ in range(2):  # both workers of the node, most likely
            assert requests.get(node.url(f"/events/{EVENT}"), timeout=30).status_code == 200
            assert reserve(node).status_code == 201
        cancel = requests.delete(node.url(f"/reservations/{earlier.json()['reservationId']}"))
        assert cancel.status_code == 204
    assert time.monotonic() - back < RECOVERY_LIMIT_S

    summary = requests.get(two_nodes[1].url(f"/events/{EVENT}"), timeout=30).json()
    assert summary["reservationCount"] == 4  # the two "after" per node; nothing "during"

    # The outage in the log: once when a worker found it, once when it saw it end; not an
    # ERROR line per refused request.
    for node, offset in zip(two_nodes, logged_before, strict=True):
        with node.log_path.open("rb") as log:
            log.seek(offset)
            lines = log.read().decode().splitlines()
        assert not [line for line in lines if "ERROR django.request" in line], lines
        lost = [line for line in lines if "store.orm: database unavailable in" in line]
        back = [line for line in lines if "store.orm: database back: " in line]
        assert 1 <= len(lost) <= node.workers, lines
        assert len(back) <= len(lost), lines  # a worker with no call since has not looked
