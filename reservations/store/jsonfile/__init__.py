"""The embedded JSON-file store (snapshot + journal per event)."""

from reservations.store.jsonfile.backend import JsonFileStore

__all__ = ["JsonFileStore"]
