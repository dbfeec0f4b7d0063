"""Fixtures for the `db` store on a real PostgreSQL: databases, app nodes, manage.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from reservations.store.orm import OrmStore
from tests.support.postgres import PostgresCluster, orm_store_opener
from tests.support.server import ROOT, ServerProcess

EVENT = "big-on-sale"
SEATS = 100


@pytest.fixture
def database_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """DATABASE_URL of a fresh, migrated database, dropped after the test."""
    name = postgres_cluster.new_database()
    yield postgres_cluster.url(name)
    postgres_cluster.drop_database(name)


@pytest.fixture
def db_env(database_url: str) -> dict[str, str]:
    return {"TICKETBOSS_STORE": "db", "DATABASE_URL": database_url}


@pytest.fixture
def start_node(
    server_factory, db_env: dict[str, str], tmp_path: Path
) -> Callable[..., ServerProcess]:
    """Start one more app node (gunicorn, 2 workers) on the test's database."""
    count = 0

    def start(**kwargs) -> ServerProcess:
        nonlocal count
        count += 1
        kwargs.setdefault("env", db_env)
        return server_factory(data_dir=tmp_path / f"node{count}", **kwargs)

    return start


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `manage.py ARGS` as an operator would; fails the test with its output on error."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stderr}"
    return result


@pytest.fixture
def open_orm_store(postgres_store_access) -> Iterator[Callable[[], OrmStore]]:
    """Opens in-process OrmStores (each like another node) on one fresh database."""
    yield from orm_store_opener()


@pytest.fixture
def open_pooled_orm_store(postgres_store_access) -> Iterator[Callable[[], OrmStore]]:
    """As open_orm_store, reading through a pool of one connection per process."""
    yield from orm_store_opener(pool_size=1)


@pytest.fixture
def two_nodes(request, start_node, db_env) -> tuple[ServerProcess, ServerProcess]:
    """Two nodes on one database; parametrize indirectly with a TICKETBOSS_DB_POOL size."""
    pool = str(getattr(request, "param", 0))
    manage("seed_event", EVENT, "--name", "Big on-sale", "--seats", str(SEATS), env=db_env)
    node_env = {**db_env, "TICKETBOSS_DB_POOL": pool}
    return start_node(env=node_env), start_node(env=node_env)


def summaries(response: requests.Response) -> Iterator[tuple[float, dict[str, Any]]]:
    """(arrival time, summary) for every `summary` message of an SSE stream."""
    event_name = None
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("event:"):
            event_name = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and event_name == "summary":
            yield time.monotonic(), json.loads(line.split(":", 1)[1])
        elif not line:
            event_name = None
