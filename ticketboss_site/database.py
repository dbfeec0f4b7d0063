"""The `db` store's database settings, built from DATABASE_URL (dj-database-url).

Kept apart from settings.py so the JSON store never imports a database driver.
"""

from __future__ import annotations

from typing import Any

import dj_database_url

CONNECT_TIMEOUT_S = 3


def database_from_url(url: str, *, lock_timeout_s: float, pool_size: int = 0) -> dict[str, Any]:
    """Django's DATABASES["default"] for `url`, with bounded waits.

    A request never hangs on the database: connecting gives up after
    CONNECT_TIMEOUT_S and waiting for an event's row lock after `lock_timeout_s`
    (both then answer 503, like the JSON store's lock timeout). Reservations go
    through each worker's committer, which keeps one connection of its own (outside the
    pool) and checks it before every batch (reservations.store.orm_committer).

    Reads and cancels take a connection from psycopg's pool of `pool_size` per worker
    process (PostgreSQL only; TICKETBOSS_DB_POOL, default 8). Why a bound: the
    production server's thread pool is shared with live streams and runs hundreds of
    requests at once under a surge; one connection each ran PostgreSQL out of
    max_connections (tests/postgres/test_connections.py). Opening a connection costs
    about 4 ms, a query 0.03 ms. Each is checked before use; the first call of a worker
    to find the database down waits up to CONNECT_TIMEOUT_S before its 503, the next are
    refused at once until a probe connects (reservations.store.outage), and the store
    replaces the pool after an outage (psycopg's own retries back off to seconds).
    `pool_size` 0 opens a connection per request instead (for a transaction-pooling
    proxy in front that does the bounding).
    """
    config: dict[str, Any] = dj_database_url.parse(url, conn_max_age=0)
    options = config.setdefault("OPTIONS", {})
    engine = config["ENGINE"]
    if engine.endswith("postgresql"):
        options.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
        if pool_size > 0:
            config["CONN_HEALTH_CHECKS"] = True
            options["pool"] = {
                "min_size": 1,
                "max_size": pool_size,
                "timeout": CONNECT_TIMEOUT_S,
                "max_idle": 60,
            }
        # synchronous_commit=on whatever the server's default: a 201 means the commit
        # is in the WAL on disk (with `off`, a database crash loses the last commits).
        options["options"] = (
            f"-c lock_timeout={max(1, int(lock_timeout_s * 1000))} -c synchronous_commit=on "
            "-c TimeZone=UTC"  # as Django expects: saves a SET TIME ZONE on every connection
        )
    elif engine.endswith("sqlite3"):
        # Take the write lock at BEGIN: SQLite then queues writers instead of
        # failing one of two transactions that both read before writing.
        options.setdefault("transaction_mode", "IMMEDIATE")
        options.setdefault("timeout", lock_timeout_s)
    return config
