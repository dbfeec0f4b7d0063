"""A node's PostgreSQL connections stay bounded under a surge of requests.

The production server runs a request on any of its pool's threads, and stream threads
share that pool (hundreds per worker), so "one connection per request" has no bound
of its own: a surge of readers opened one connection each until PostgreSQL's
max_connections refused the rest (measured: 600 clients, half the answers 503).
By default each worker takes its connections from a pool of TICKETBOSS_DB_POOL (8),
beside its committer's and its listener's.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.postgres.conftest import EVENT, SEATS, manage
from tests.support.postgres import PostgresCluster

pytestmark = pytest.mark.postgres

CLIENTS = 64
REQUESTS_EACH = 25
WORKERS = 2
DEFAULT_POOL = 8
PER_WORKER_BESIDES_POOL = 2  # the committer's connection and the listener's


def _client_backends(cluster: PostgresCluster, database: str) -> int:
    with cluster.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = %s AND backend_type = 'client backend'",
            (database,),
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_surge_of_readers_stays_within_the_nodes_connections(
    start_node, db_env, postgres_cluster
) -> None:
    manage("seed_event", EVENT, "--name", "Big on-sale", "--seats", str(SEATS), env=db_env)
    node = start_node(workers=WORKERS)  # TICKETBOSS_DB_POOL left at its default
    database = db_env["DATABASE_URL"].rsplit("/", 1)[1]
    done = threading.Event()
    peak = 0

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _client_backends(postgres_cluster, database))
            done.wait(0.01)  # a sampling interval, not a synchronisation

    def read_many(_: int) -> list[int]:
        with requests.Session() as session:
            return [
                session.get(node.url(f"/events/{EVENT}"), timeout=30).status_code
                for _ in range(REQUESTS_EACH)
            ]

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(CLIENTS) as clients:
            statuses = [
                status for batch in clients.map(read_many, range(CLIENTS)) for status in batch
            ]
    finally:
        done.set()
        watcher.join()
    assert statuses.count(200) == CLIENTS * REQUESTS_EACH, sorted(set(statuses))
    assert peak <= WORKERS * (DEFAULT_POOL + PER_WORKER_BESIDES_POOL), peak
