"""The `db` store: the storage protocol on the Django ORM (PostgreSQL, or SQLite in development).

Safe across any number of worker processes and nodes sharing one database:

- Reservations are group-committed: each worker process has one committer thread
  (orm_committer) that takes every reservation waiting in the process and commits
  them as one transaction (orm_batch), answering each only after that COMMIT. Seats
  are taken per event by one UPDATE for the whole batch; the event's CHECK
  constraint (0 <= available_seats <= total_seats) makes an oversell roll the whole
  transaction back, so a seat is never sold twice across nodes. Waiting for an
  event's row lock is bounded by PostgreSQL's lock_timeout (ticketboss_site.database).
- An Idempotency-Key is unique per event by a unique index: a key committed by
  another node makes the batch roll back and replay it.
- Cancels and event changes are single transactions that lock the reservation row,
  then its event row (the batch never locks existing reservation rows: no cycle).
- Any lost or refused connection (OperationalError, InterfaceError) rolls the
  transaction back, closes the connection and raises StoreUnavailable (503); the
  next call opens a fresh connection (or pool), so service resumes by itself.
- Every write also runs pg_notify inside its transaction (reservations.store.notify).
"""

from __future__ import annotations

import functools
import logging
import select
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, ParamSpec, TypeVar

import psycopg
from django.db import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    connections,
    transaction,
)
from django.db.models import Count, F, Sum

from reservations import models, timestamps
from reservations.domain import (
    CANCELLED,
    CONFIRMED,
    OPEN_ACTOR,
    EventNotFound,
    Reservation,
    ReservationNotFound,
    ReserveResult,
    ResizeBelowReserved,
    StoreUnavailable,
    Summary,
    normalize_reservation_id,
    request_fingerprint,
    seat_invariant_problems,
)
from reservations.event_state import EventState
from reservations.store.notify import CHANNEL, ChangeListener, listen_params
from reservations.store.orm_batch import ReserveBatches, ReserveRequest
from reservations.store.orm_committer import Committer, Pending
from reservations.store.orm_rows import to_reservation, to_row, to_summary

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.05  # SQLite only: it has no LISTEN/NOTIFY
RACE_RETRIES = 3
BATCH = 2000
UNDEFINED_TABLE = "42P01"
# A write not yet in a batch after this long (the committer stuck on a dead database
# beyond its connect and lock timeouts) is withdrawn and answered 503.
QUEUE_TIMEOUT_S = 15.0

P = ParamSpec("P")
T = TypeVar("T")


def _unavailable_on_db_errors(method: Callable[P, T]) -> Callable[P, T]:
    """Turn a lost database into StoreUnavailable, after dropping the broken connection."""
    return _guard(method, read_only=False)


def _read_guard(method: Callable[P, T]) -> Callable[P, T]:
    """As above, but a read is tried once more on a new connection first: a thread
    outside the request cycle (the live watcher) may hold one broken by a restart."""
    return _guard(method, read_only=True)


def _guard(method: Callable[P, T], *, read_only: bool) -> Callable[P, T]:
    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        store = args[0]
        assert isinstance(store, OrmStore)
        try:
            with _db_errors(store, method.__name__):
                try:
                    return method(*args, **kwargs)
                except (OperationalError, InterfaceError):
                    if not read_only or connections[store.using].in_atomic_block:
                        raise
                    store.drop_connection()
                    return method(*args, **kwargs)
        finally:
            store.release_pooled_connection()

    return wrapper


@contextmanager
def _db_errors(store: OrmStore, what: str) -> Iterator[None]:
    """A lost database or missing tables become StoreUnavailable (503); the broken
    connection is closed, so the next call opens a new one."""
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        store.drop_connection()
        store.restart_pool()
        log.error("database unavailable in %s: %s", what, exc)
        raise StoreUnavailable() from exc
    except ProgrammingError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != UNDEFINED_TABLE:
            raise
        log.error("database has no TicketBoss tables: run `manage.py migrate` (%s)", exc)
        raise StoreUnavailable() from exc


class OrmStore:
    def __init__(self, *, using: str = "default") -> None:
        self.using = using
        self._listener: ChangeListener | None = None
        self._batches = ReserveBatches(using)
        self.committer = Committer(
            self._commit_batch, queue_timeout_s=QUEUE_TIMEOUT_S, on_exit=self.drop_connection
        )

    @property
    def _is_postgres(self) -> bool:
        return connections[self.using].vendor == "postgresql"

    # ------------------------------------------------------------------ events

    @_unavailable_on_db_errors
    def ensure_event(self, *, event_id: str, name: str, total_seats: int) -> Summary:
        for _attempt in range(RACE_RETRIES):
            try:
                return self._ensure_event(event_id=event_id, name=name, total_seats=total_seats)
            except IntegrityError:  # another node created it at the same moment: look again
                continue
        raise StoreUnavailable()

    def _ensure_event(self, *, event_id: str, name: str, total_seats: int) -> Summary:
        with transaction.atomic(using=self.using):
            row = self._events().select_for_update().filter(pk=event_id).first()
            if row is None:
                row = models.Event(
                    event_id=event_id,
                    name=name,
                    total_seats=total_seats,
                    available_seats=total_seats,
                )
                row.save(using=self.using, force_insert=True)
                self._notify(event_id)
            elif row.name != name or row.total_seats != total_seats:
                if row.total_seats != total_seats:
                    reserved = row.total_seats - row.available_seats
                    if total_seats < reserved:
                        raise ResizeBelowReserved(
                            f"Cannot resize to {total_seats} seats: {reserved} are reserved."
                        )
                    row.available_seats += total_seats - row.total_seats
                    row.total_seats = total_seats
                    row.version += 1
                row.name = name
                row.save(using=self.using)
                self._notify(event_id)
            return to_summary(row)

    @_read_guard
    def summary(self, *, event_id: str) -> Summary:
        row = self._events().filter(pk=event_id).first()
        if row is None:
            raise EventNotFound()
        return to_summary(row)

    @_read_guard
    def events(self) -> list[Summary]:
        return [to_summary(row) for row in self._events().order_by("event_id")]

    # ------------------------------------------------------------------ reservations

    def reserve(
        self,
        *,
        event_id: str,
        partner_id: str,
        seats: int,
        idempotency_key: str | None = None,
        actor: str = OPEN_ACTOR,
    ) -> ReserveResult:
        """Queued for this process's committer: answered once its batch committed."""
        request = ReserveRequest(
            event_id=event_id,
            partner_id=partner_id,
            seats=seats,
            idempotency_key=idempotency_key,
            fingerprint=request_fingerprint(partner_id=partner_id, seats=seats),
            created_by=actor,
        )
        return self.committer.submit(request)

    def _commit_batch(self, batch: list[Pending[ReserveRequest]]) -> None:
        """In the committer thread, on its own connection (kept between batches)."""
        with _db_errors(self, "reserve"):
            self._drop_if_closed_by_server()
            self._batches.commit(batch)

    def _drop_if_closed_by_server(self) -> None:
        """A batch is never retried (its COMMIT may have happened before an error), so look
        first, without a round trip, whether the server ended this idle connection (a
        restart sends it a FATAL message and closes it): anything readable means so."""
        connection = connections[self.using].connection
        if connection is None or connections[self.using].vendor != "postgresql":
            return
        try:
            readable, _, _ = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError, psycopg.Error):
            readable = [True]
        if readable:
            self.drop_connection()

    def cancel(self, *, reservation_id: str, actor: str = OPEN_ACTOR) -> Reservation:
        key = normalize_reservation_id(reservation_id)
        if key is None:
            raise ReservationNotFound()
        with transaction.atomic(using=self.using):
            # Lock order everywhere: reservation row, then its event row.
            row = self._reservations().select_for_update().filter(reservation_id=key).first()
            if row is None or row.status != CONFIRMED:
                raise ReservationNotFound()
            row.status = CANCELLED
            row.cancelled_at = timestamps.to_datetime(timestamps.now_us())
            row.cancelled_by = actor
            row.save(using=self.using, update_fields=["status", "cancelled_at", "cancelled_by"])
            self._events().filter(pk=row.event_id).update(
                available_seats=F("available_seats") + row.seats,
                reservation_count=F("reservation_count") - 1,
                version=F("version") + 1,
            )
            self._notify(row.event_id)
        return to_reservation(row)

    @_read_guard
    def get_reservation(self, *, reservation_id: str) -> Reservation:
        key = normalize_reservation_id(reservation_id)
        row = self._reservations().filter(reservation_id=key).first() if key else None
        if row is None:
            raise ReservationNotFound()
        return to_reservation(row)

    def reservations(self, *, event_id: str | None = None) -> Iterator[Reservation]:
        if event_id is None:
            event_ids = [summary.event_id for summary in self.events()]
        else:
            event_ids = [self.summary(event_id=event_id).event_id]
        for one_event in event_ids:
            after = 0
            while True:
                batch = self._reservation_batch(one_event, after)
                yield from (to_reservation(row) for row in batch)
                if len(batch) < BATCH:
                    break
                after = batch[-1].id

    @_read_guard
    def event_contents(self, *, event_id: str) -> tuple[Summary, list[Reservation]]:
        """One transaction that reads from one snapshot (REPEATABLE READ on PostgreSQL;
        SQLite's read transactions already do), so writers are never blocked."""
        with transaction.atomic(using=self.using):
            if self._is_postgres:
                with connections[self.using].cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            row = self._events().filter(pk=event_id).first()
            if row is None:
                raise EventNotFound()
            rows = self._reservations().filter(event_id=event_id).order_by("id")
            return to_summary(row), [to_reservation(item) for item in rows.iterator(BATCH)]

    @_read_guard
    def _reservation_batch(self, event_id: str, after: int) -> list[models.Reservation]:
        """Keyset pages (oldest first), so a long export holds no cursor or transaction open."""
        rows = self._reservations().filter(event_id=event_id, id__gt=after).order_by("id")
        return list(rows[:BATCH])

    # ------------------------------------------------------------------ moving data

    @_unavailable_on_db_errors
    def load_events(self, states: list[EventState]) -> None:
        """Insert whole events exactly as given (ids, times, keys, version), all in one
        transaction; refused with ValueError when an event already exists."""
        with transaction.atomic(using=self.using):
            for state in states:
                self._load_event(state)

    def _load_event(self, state: EventState) -> None:
        if self._events().filter(pk=state.event_id).exists():
            raise ValueError(f"event {state.event_id} already exists in the database")
        models.Event(
            event_id=state.event_id,
            name=state.name,
            total_seats=state.total_seats,
            available_seats=state.available_seats,
            reservation_count=state.reservation_count,
            version=state.version,
        ).save(using=self.using, force_insert=True)
        self._reservations().bulk_create(
            (to_row(item) for item in state.reservations.values()), batch_size=BATCH
        )
        self._notify(state.event_id)

    # ------------------------------------------------------------------ upkeep

    @_read_guard
    def verify(self) -> list[str]:
        confirmed = {
            item["event_id"]: item
            for item in self._reservations()
            .filter(status=CONFIRMED)
            .values("event_id")
            .annotate(seats=Sum("seats"), count=Count("id"))
        }
        problems = []
        for row in self._events().order_by("event_id"):
            booked = confirmed.get(row.event_id, {})
            problems += seat_invariant_problems(
                event_id=row.event_id,
                total_seats=row.total_seats,
                available_seats=row.available_seats,
                reservation_count=row.reservation_count,
                confirmed_seats=booked.get("seats") or 0,
                confirmed_count=booked.get("count") or 0,
            )
        bad_status = self._reservations().exclude(status__in=(CONFIRMED, CANCELLED)).count()
        if bad_status:
            problems.append(f"{bad_status} reservations have an unknown status")
        return problems

    def wait_for_change(self, *, since: object, timeout: float) -> object:
        """PostgreSQL: wait for a NOTIFY from any node (no queries while idle).
        SQLite: compare a one-row aggregate every POLL_INTERVAL_S."""
        if self._is_postgres:
            return self._change_listener().wait(since=since, timeout=timeout)
        deadline = time.monotonic() + timeout
        while True:
            stamp = self._version_stamp()
            if since is None or stamp != since or time.monotonic() >= deadline:
                return stamp
            time.sleep(POLL_INTERVAL_S)

    @_read_guard
    def _version_stamp(self) -> tuple[Any, ...]:
        totals = self._events().aggregate(count=Count("event_id"), versions=Sum("version"))
        return (totals["count"], totals["versions"])

    def close(self) -> None:
        self.committer.close()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self.drop_connection()

    def release_pooled_connection(self) -> None:
        """With a pool, hand the connection back after every call: threads outside the
        request cycle (the live watcher, stream executors) must not keep one checked out."""
        connection = connections[self.using]
        if connection.settings_dict["OPTIONS"].get("pool") and not connection.in_atomic_block:
            self.drop_connection()

    def restart_pool(self) -> None:
        """After a lost database, a new pool: psycopg's pool retries its connections with
        exponential backoff (seen: 7 s to the first 201 after a 20 s outage), a new one
        connects at once, so service resumes with the first request after recovery."""
        connection = connections[self.using]
        if connection.settings_dict["OPTIONS"].get("pool"):
            with suppress(Exception):
                connection.close_pool()

    def drop_connection(self) -> None:
        """Close this thread's connection (broken or not); the next query opens a new one."""
        with suppress(Exception):
            connections[self.using].close()

    # ------------------------------------------------------------------ internals

    def _events(self) -> Any:
        return models.Event.objects.using(self.using)

    def _reservations(self) -> Any:
        return models.Reservation.objects.using(self.using)

    def _notify(self, event_id: str) -> None:
        """Inside the writing transaction: delivered to listeners only if it commits."""
        if self._is_postgres:
            with connections[self.using].cursor() as cursor:
                cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, event_id])

    def _change_listener(self) -> ChangeListener:
        if self._listener is None:
            params = connections[self.using].get_connection_params()
            self._listener = ChangeListener(listen_params(params))
        return self._listener
