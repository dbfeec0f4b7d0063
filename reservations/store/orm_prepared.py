"""The fast path's statements, prepared once per connection (PostgreSQL only).

Why: sent as plain text, a batch had PostgreSQL parse, analyse and plan its four or
five statements at every commit, about 40% of the primary's CPU per batch (perf, two
nodes of two workers, 2026-11-27), a cost paid per batch however few writers it
carries. Prepared once on the committer's connection, a batch is a few EXECUTEs of
cached plans, still sent as one multi-statement message: one round trip, one implicit
transaction that commits before PostgreSQL answers, or rolls back whole.

The statement texts are built from the models, so a column added to them is written
here too; the batch's rows travel as one JSON text typed by the table's own columns.
"""

from __future__ import annotations

import functools
import json
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from reservations import models
from reservations.domain import Reservation
from reservations.store import orm_counters
from reservations.store.notify import CHANNEL

# Listeners only count notifications (then re-read what they watch), and PostgreSQL
# folds identical ones of a transaction into one: with one payload for all, a batch
# costs one delivery per listening worker, however many events it changed.
BATCH_PAYLOAD = ""
# The batch's announcement, when one is due (ReserveBatches): too rare to prepare.
NOTIFY = f"SELECT pg_notify('{CHANNEL}', '{BATCH_PAYLOAD}')"
# PostgreSQL's SQLSTATE for "prepared statement does not exist" (a connection reset).
MISSING_STATEMENT = "26000"


@dataclass(frozen=True, slots=True)
class Statement:
    name: str
    types: str  # the parameters' types, as PREPARE takes them
    text: str  # with $1, $2, ... for the parameters
    execute: str = ""  # EXECUTE name(%s, ...): one placeholder per type, for the batch

    def __post_init__(self) -> None:
        placeholders = ", ".join(["%s"] * len(self.types.split(",")))
        object.__setattr__(self, "execute", f"EXECUTE {self.name}({placeholders})")


def _event_table() -> str:
    return models.Event._meta.db_table


@functools.cache
def take_seats() -> Statement:
    """Per event: take the batch's seats, or set -1 (so the CHECK refuses, and the batch
    rolls back to the exact path) when the window is shut at $1, a hold is due, or the
    event's hold length differs from the hint ($2). Returns what the next hint needs."""
    table = _event_table()
    return Statement(
        "ticketboss_take_seats",
        "timestamptz, int, int, int, int, int, timestamptz, varchar",
        f"UPDATE {table} SET available_seats = CASE WHEN "
        "(sales_open_at IS NULL OR sales_open_at <= $1) "
        "AND (sales_close_at IS NULL OR sales_close_at > $1) "
        "AND (next_expiry IS NULL OR next_expiry > $1) "
        "AND ($2 IS NULL OR hold_seconds = $2) "
        "THEN available_seats - $3 ELSE -1 END, "
        "reservation_count = reservation_count + $4, held_seats = held_seats + $5, "
        "hold_count = hold_count + $6, version = version + $4 + $6, "
        "next_expiry = LEAST(next_expiry, $7) "
        "WHERE event_id = $8 RETURNING available_seats, hold_seconds, next_expiry, "
        "sales_open_at, sales_close_at",
    )


@functools.cache
def confirm_key_guard() -> Statement:
    """Sets the event's seats to -1 (a rollback) when a key of the batch is a confirm's."""
    table = _event_table()
    keys = models.ConfirmKey._meta.db_table
    return Statement(
        "ticketboss_confirm_key_guard",
        "varchar, varchar[]",
        f"UPDATE {table} SET available_seats = -1 WHERE event_id = $1 AND EXISTS "
        f"(SELECT 1 FROM {keys} WHERE event_id = $1 AND key = ANY($2))",
    )


def _from_json(model: type[Any], columns: Sequence[str]) -> str:
    """`INSERT INTO table (columns) SELECT columns FROM` the JSON rows in $1."""
    table = model._meta.db_table
    names = ", ".join(columns)
    return (
        f"INSERT INTO {table} ({names}) "
        f"SELECT {names} FROM json_populate_recordset(NULL::{table}, $1)"
    )


@functools.cache
def reservation_columns() -> tuple[tuple[str, str], ...]:
    """(column, Reservation field) for every column the domain value has (a column it
    lacks gets its database default)."""
    return tuple(
        (field.column, field.attname)
        for field in models.Reservation._meta.concrete_fields
        if not field.primary_key and field.attname in Reservation._fields
    )


@functools.cache
def insert_reservations() -> Statement:
    columns = [column for column, _attname in reservation_columns()]
    return Statement(
        "ticketboss_insert_reservations", "json", _from_json(models.Reservation, columns)
    )


@functools.cache
def add_figures() -> Statement:
    """Increases only (the cap is left as it is), rows in (event, partner) order so two
    batches lock them in one order."""
    columns = ["event_id", "partner_id", *orm_counters.FIGURE_COLUMNS]
    return Statement(
        "ticketboss_add_figures",
        "json",
        f"{_from_json(models.PartnerFigures, columns)} ORDER BY event_id, partner_id "
        f"{orm_counters.FIGURES_ON_CONFLICT}",
    )


@functools.cache
def add_minutes() -> Statement:
    return Statement(
        "ticketboss_add_minutes",
        "json",
        f"{_from_json(models.MinuteSales, ['event_id', 'minute_us', 'seats'])} "
        f"ORDER BY event_id, minute_us {orm_counters.MINUTES_ON_CONFLICT}",
    )


def all_statements() -> list[Statement]:
    return [take_seats(), confirm_key_guard(), insert_reservations(), add_figures(), add_minutes()]


# The psycopg connections these statements were prepared on (gone with the connection).
_prepared_on: weakref.WeakSet[Any] = weakref.WeakSet()


def ensure_prepared(connection: BaseDatabaseWrapper) -> None:
    """Prepare every statement on this thread's connection, once per connection: after a
    reconnect, a pool's other connection, or a reset (see forget)."""
    raw = connection.connection  # None before the first connect
    if raw is not None and raw in _prepared_on:
        return
    with connection.cursor() as cursor:  # connects if need be
        cursor.execute("SELECT name FROM pg_prepared_statements")
        present = {name for (name,) in cursor.fetchall()}
        missing = [item for item in all_statements() if item.name not in present]
        if missing:
            cursor.execute(
                "; ".join(f"PREPARE {item.name} ({item.types}) AS {item.text}" for item in missing)
            )
    _prepared_on.add(connection.connection)


def forget(connection: BaseDatabaseWrapper) -> None:
    """The server no longer has them (DISCARD, a reset): prepare again before the next use."""
    if connection.connection is not None:
        _prepared_on.discard(connection.connection)


def reservation_rows(ordered: list[Reservation]) -> str:
    """The INSERT's parameter: the batch's reservations as one JSON text."""
    columns = reservation_columns()
    return json.dumps(
        [{column: getattr(item, attname) for column, attname in columns} for item in ordered]
    )


def figure_rows(figures: orm_counters.FigureChanges) -> str:
    return json.dumps(
        [
            {
                "event_id": event_id,
                "partner_id": partner_id,
                **dict(zip(orm_counters.FIGURE_COLUMNS, changes, strict=True)),
            }
            for (event_id, partner_id), changes in figures.items()
        ]
    )


def minute_rows(minutes: orm_counters.MinuteChanges) -> str:
    return json.dumps(
        [
            {"event_id": event_id, "minute_us": minute, "seats": seats}
            for (event_id, minute), seats in minutes.items()
        ]
    )
