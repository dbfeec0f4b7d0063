"""A throwaway PostgreSQL 15 cluster for tests: a temp folder, a free port, a unix socket.

PostgreSQL refuses to run as root, so initdb and pg_ctl run as the `postgres`
user (`runuser -u postgres --`) on a folder chowned to it. Only the unix socket
in that folder is listened on (no TCP), and trust authentication is used: no
password exists anywhere. The cluster is always stopped and its folder removed.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import psycopg
import pytest

from tests.support.server import free_port

if TYPE_CHECKING:
    from reservations.store.orm import OrmStore

PG_BIN = Path(os.environ.get("TICKETBOSS_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "postgres"
TEMPLATE_DB = "ticketboss_template"
_names = itertools.count(1)


def missing_requirement() -> str | None:
    """Why a cluster cannot be started here, or None when it can."""
    if os.geteuid() != 0:
        return "the PostgreSQL tests run as root (they start the cluster as the postgres user)"
    if not (PG_BIN / "initdb").exists():
        return f"PostgreSQL 15 binaries not found in {PG_BIN} (apt-get install postgresql-15)"
    if shutil.which("runuser") is None:
        return "runuser (util-linux) is not installed"
    try:
        subprocess.run(["id", PG_USER], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        return f"there is no {PG_USER!r} user"
    return None


class PostgresCluster:
    """initdb + pg_ctl in a temp folder; `stop()`/`start()` can also simulate an outage."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable  # fsync on: for benchmarks; tests trade it for speed
        # Not under pytest's tmp_path: its parents are root-only, and postgres must
        # reach the folder. A short path keeps the socket under the 107-byte limit.
        self.folder = Path(tempfile.mkdtemp(prefix="tb-pg-"))
        self.data_dir = self.folder / "data"
        self.socket_dir = self.folder
        self.port = free_port()
        self.log_path = self.folder / "postgres.log"
        shutil.chown(self.folder, PG_USER, PG_USER)

    def _as_postgres(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["runuser", "-u", PG_USER, "--", *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def init(self) -> PostgresCluster:
        self._as_postgres(
            str(PG_BIN / "initdb"),
            "--pgdata",
            str(self.data_dir),
            "--username",
            PG_USER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-sync",  # a test cluster: speed over crash safety of the cluster itself
        )
        return self

    def start(self) -> None:
        options = (
            f"-c listen_addresses='' -c port={self.port} "
            f"-c unix_socket_directories='{self.socket_dir}' "
            "-c max_connections=200 -c shared_buffers=128MB"
        )
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._as_postgres(
            str(PG_BIN / "pg_ctl"),
            "start",
            "--pgdata",
            str(self.data_dir),
            "--log",
            str(self.log_path),
            "--wait",
            "--timeout",
            "30",
            "-o",
            options,
        )

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends sessions cleanly; `immediate` is a crash (recovery at next start)."""
        if (self.data_dir / "postmaster.pid").exists():
            self._as_postgres(
                str(PG_BIN / "pg_ctl"), "stop", "--pgdata", str(self.data_dir), "-m", mode
            )

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    # ------------------------------------------------------------------ databases

    def url(self, dbname: str) -> str:
        """A DATABASE_URL (dj-database-url form) for a database of this cluster."""
        return f"postgres://{PG_USER}@{quote(str(self.socket_dir), safe='')}:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            dbname=dbname, user=PG_USER, host=str(self.socket_dir), port=self.port, autocommit=True
        )

    def create_template(self) -> None:
        """A migrated database to copy from: CREATE DATABASE ... TEMPLATE takes milliseconds."""
        with self.connect() as conn:
            conn.execute(f"CREATE DATABASE {TEMPLATE_DB}")
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "--skip-checks", "-v", "0"],
            cwd=Path(__file__).resolve().parents[2],
            env={**os.environ, "TICKETBOSS_STORE": "db", "DATABASE_URL": self.url(TEMPLATE_DB)},
            check=True,
            capture_output=True,
            timeout=120,
        )

    def new_database(self) -> str:
        """A fresh, migrated, empty database; its name."""
        name = f"tb_{os.getpid()}_{next(_names)}"
        with self.connect() as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
        return name

    def drop_database(self, name: str) -> None:
        with self.connect() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def running_cluster(*, durable: bool = False) -> Iterator[PostgresCluster]:
    cluster = PostgresCluster(durable=durable)
    try:
        cluster.init().start()
        cluster.create_template()
        yield cluster
    finally:
        cluster.destroy()


# ---------------------------------------------------------------------- pytest fixtures

_session_cluster: PostgresCluster | None = None


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One throwaway cluster for the whole session, always stopped at the end."""
    global _session_cluster
    reason = missing_requirement()
    if reason:
        from tests.conftest import skip_or_fail

        skip_or_fail(reason)
    with running_cluster() as cluster:
        _session_cluster = cluster
        try:
            yield cluster
        finally:
            _session_cluster = None


@pytest.fixture
def orm_store_access(django_db_blocker) -> Iterator[None]:
    """In-process OrmStores may query (pytest-django blocks the database by default)."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def postgres_store_access(postgres_cluster: PostgresCluster, orm_store_access) -> None:
    """The session cluster is up and in-process OrmStores may query it."""


def sqlite_store_opener(folder: Path) -> Iterator[Callable[[], OrmStore]]:
    """Opens OrmStores on a new SQLite file in `folder` (the development setup; needs
    `orm_store_access`)."""
    from django.core.management import call_command

    name = f"sqlite_{os.getpid()}_{next(_names)}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.sqlite3"
    yield from _registered_database(name, f"sqlite:///{path}", migrate=call_command)


def orm_store_opener(pool_size: int = 0) -> Iterator[Callable[[], OrmStore]]:
    """Opens OrmStores on a fresh database of the session cluster (needs
    `postgres_store_access`), reading through a pool of `pool_size` connections if
    not 0; every store is closed and the database dropped after."""
    cluster = _session_cluster
    assert cluster is not None, "request the postgres_store_access fixture first"
    name = cluster.new_database()
    try:
        yield from _registered_database(name, cluster.url(name), pool_size=pool_size)
    finally:
        cluster.drop_database(name)  # WITH (FORCE): also ends other threads' connections


def _registered_database(
    alias: str, url: str, migrate: Callable[..., object] | None = None, pool_size: int = 0
) -> Iterator[Callable[[], OrmStore]]:
    """Add `url` as Django database `alias` for the duration; stores opened on it are closed."""
    from django.db import connections

    from reservations.store.orm import OrmStore
    from ticketboss_site.database import database_from_url

    config = database_from_url(url, lock_timeout_s=5.0, pool_size=pool_size)
    connections.settings[alias] = connections.configure_settings({"default": config})["default"]
    opened: list[OrmStore] = []

    def open_store() -> OrmStore:
        store = OrmStore(using=alias)
        opened.append(store)
        return store

    try:
        if migrate is not None:
            migrate("migrate", database=alias, verbosity=0)
        yield open_store
    finally:
        for store in opened:
            store.close()
        connections[alias].close()
        if pool_size:
            connections[alias].close_pool()  # its threads, before the database is dropped
        del connections.settings[alias]
