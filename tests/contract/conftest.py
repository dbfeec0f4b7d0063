"""The store contract suite runs once per backend: add a backend to STORE_BACKENDS."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reservations.store.jsonfile import JsonFileStore
from reservations.store.protocol import ReservationStore
from tests.support.postgres import orm_store_opener, sqlite_store_opener

StoreOpener = Callable[[], ReservationStore]


def _json_backend(tmp_path: Path, *, background_compact_from: int) -> Iterator[StoreOpener]:
    """Each call opens a new store on the same folder (a restart, or another worker)."""
    opened: list[JsonFileStore] = []

    def open_store() -> ReservationStore:
        # Compacting every few records writes and reads snapshots throughout the suite.
        store = JsonFileStore(
            tmp_path / "store",
            compact_min_records=4,
            background_compact_from=background_compact_from,
        )
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()


def _json_compacting_now(tmp_path: Path) -> Iterator[StoreOpener]:
    """Snapshots written under the event's lock (small events)."""
    yield from _json_backend(tmp_path, background_compact_from=1_000_000)


def _json_compacting_behind(tmp_path: Path) -> Iterator[StoreOpener]:
    """Snapshots written by a forked child while writes go on (big events)."""
    yield from _json_backend(tmp_path, background_compact_from=0)


def _db_backend(tmp_path: Path) -> Iterator[StoreOpener]:
    """OrmStores on a fresh database of the session's throwaway PostgreSQL cluster."""
    yield from orm_store_opener()


def _sqlite_backend(tmp_path: Path) -> Iterator[StoreOpener]:
    """OrmStores on a SQLite file: the `db` store's development setup."""
    yield from sqlite_store_opener(tmp_path)


STORE_BACKENDS: dict[str, Callable[[Path], Iterator[StoreOpener]]] = {
    "json": _json_compacting_now,
    "json-background": _json_compacting_behind,
    "db": _db_backend,
    "db-sqlite": _sqlite_backend,
}
# Fixtures a backend needs before it can open (started only for that backend's tests).
BACKEND_FIXTURES: dict[str, tuple[str, ...]] = {
    "db": ("postgres_store_access",),
    "db-sqlite": ("orm_store_access",),
}


@pytest.fixture(params=sorted(STORE_BACKENDS))
def open_store(request, tmp_path: Path) -> Iterator[StoreOpener]:
    """A function that opens the backend under test; several calls share its data."""
    for name in BACKEND_FIXTURES.get(request.param, ()):
        request.getfixturevalue(name)
    yield from STORE_BACKENDS[request.param](tmp_path)


@pytest.fixture
def store(open_store: StoreOpener) -> ReservationStore:
    return open_store()
