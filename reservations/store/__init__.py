"""Picks the storage backend from settings and keeps one store per process."""

from __future__ import annotations

import threading
from pathlib import Path

from django.conf import settings

from reservations.partners import PartnerDirectory
from reservations.store.protocol import ReservationStore

_store: ReservationStore | None = None
_store_lock = threading.Lock()
_directory: PartnerDirectory | None = None


def build_store(backend: str | None = None, data_dir: Path | None = None) -> ReservationStore:
    """A new store for `backend` (default: settings.TICKETBOSS_STORE)."""
    backend = backend or settings.TICKETBOSS_STORE
    if backend == "json":
        from reservations.store.jsonfile import JsonFileStore

        return JsonFileStore(
            data_dir or settings.TICKETBOSS_DATA_DIR,
            lock_timeout_s=settings.TICKETBOSS_LOCK_TIMEOUT,
            compact_min_records=settings.TICKETBOSS_COMPACT_MIN_RECORDS,
            background_compact_from=settings.TICKETBOSS_BACKGROUND_COMPACT_FROM,
        )
    if backend == "db":
        from reservations.store.orm import OrmStore

        return OrmStore()
    raise ValueError(f"TICKETBOSS_STORE must be 'json' or 'db', not {backend!r}")


def get_store() -> ReservationStore:
    """This process's store, opened (and the default event created) on first use."""
    global _store
    if _store is None:
        with _store_lock:
            if _store is None:
                from reservations.services import bootstrap_default_event

                store = build_store()
                bootstrap_default_event(store)
                _store = store
    return _store


def build_directory(backend: str | None = None, data_dir: Path | None = None) -> PartnerDirectory:
    """The partner directory that lives with `backend`'s data (files, or tables)."""
    backend = backend or settings.TICKETBOSS_STORE
    if backend == "json":
        from reservations.store.jsonfile.partners import JsonPartnerDirectory

        return JsonPartnerDirectory(data_dir or settings.TICKETBOSS_DATA_DIR)
    if backend == "db":
        from reservations.store.orm_partners import OrmPartnerDirectory

        return OrmPartnerDirectory()
    raise ValueError(f"TICKETBOSS_STORE must be 'json' or 'db', not {backend!r}")


def get_directory() -> PartnerDirectory:
    """This process's partner directory (keys mode checks every request against it)."""
    global _directory
    if _directory is None:
        with _store_lock:
            if _directory is None:
                _directory = build_directory()
    return _directory


def before_stop() -> None:
    """The process is stopping: see ReservationStore.before_stop. A process that never
    opened its store owes nothing."""
    store = _store
    if store is not None:
        store.before_stop()


def reset_store() -> None:
    """Close this process's store (tests and commands that switch data folders)."""
    global _store, _directory
    with _store_lock:
        if _store is not None:
            _store.close()
        _store = None
        if _directory is not None:
            _directory.close()
        _directory = None
