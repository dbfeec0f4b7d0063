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
- Holds go through the same batches; a hold's seats are free from its expiresAt on:
  every read or write that finds its event's `next_expiry` due (a lower bound of the
  earliest held expiry, on the event row it reads anyway) first expires the due holds
  in one short transaction under the event's row lock (version +1 each), and the live
  watcher does the same when a hold falls due, so streams carry it within a second.
  A confirm racing the expiry locks the same row: exactly one of them wins.
- Cancels, confirms and event changes are single transactions that lock the event row,
  then the reservation row (the batch takes event rows first too: no cycle).
- Sales windows and allocations are checked in the batch's transaction (orm_batch);
  per-partner figures and per-minute sales are counters kept in the same transactions
  as the seats (orm_counters), so stats read O(minutes + partners) rows.
- Any lost or refused connection (OperationalError, InterfaceError) rolls the
  transaction back, closes the connection and raises StoreUnavailable (503); from then
  on the process's gate (orm_outage) refuses calls at once until a probe connects, then
  the next call opens a fresh connection (or pool), so service resumes by itself.
- Every write also runs pg_notify inside its transaction (reservations.store.notify).
"""

from __future__ import annotations

import copy
import functools
import logging
import select
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, ParamSpec, TypeVar

import psycopg
from django.conf import settings
from django.db import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    connections,
    transaction,
)
from django.db.models import Count, F, Min, Sum
from psycopg_pool import PoolTimeout

from reservations import clock, models
from reservations.domain import (
    CANCELLED,
    CONFIRMED,
    DEFAULT_HOLD_SECONDS,
    EXPIRED,
    HELD,
    OPEN_ACTOR,
    EventNotFound,
    HoldExpired,
    IdempotencyConflict,
    Reservation,
    ReservationNotFound,
    ReserveResult,
    ResizeBelowReserved,
    StoreUnavailable,
    Summary,
    normalize_reservation_id,
    request_fingerprint,
)
from reservations.event_state import EventState
from reservations.organizing import (
    EventChanges,
    EventExists,
    EventStats,
    NewEvent,
    PageQuery,
    PageRow,
    SalesWindow,
    check_window_order,
)
from reservations.store import orm_checks, orm_counters, orm_reads, orm_transfer
from reservations.store.notify import CHANNEL, ChangeListener, listen_params
from reservations.store.orm_batch import ReserveBatches, ReserveRequest, locked_events
from reservations.store.orm_committer import Committer, Pending
from reservations.store.orm_outage import gate_for
from reservations.store.orm_rows import to_reservation, to_summary, to_time, to_us

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.05  # SQLite only: it has no LISTEN/NOTIFY
# While holds are open the watcher looks at the clock at least this often: an expiry
# reaches streams within it even when the clock is moved (tests) rather than waited for.
EXPIRY_LOOK_S = 0.5
RACE_RETRIES = 3
BATCH = 2000
UNDEFINED_TABLE = "42P01"
# Every pooled connection in use past the pool's timeout: the database is fine.
SERVICE_BUSY = "The service is busy; nothing was changed. Try again."
# A write not yet in a batch after this long (the committer stuck on a dead database
# beyond its connect and lock timeouts) is withdrawn and answered 503.
QUEUE_TIMEOUT_S = 15.0
# An owed announcement that failed is tried again after this.
ANNOUNCE_RETRY_S = 2.0

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
        store.gate.enter()  # a lost database: StoreUnavailable at once
        try:
            with _db_errors(store, method.__name__):
                try:
                    return method(*args, **kwargs)
                except (OperationalError, InterfaceError) as exc:
                    if (
                        not read_only
                        or connections[store.using].in_atomic_block
                        or _pool_timeout(exc)  # waited once already
                    ):
                        raise
                    store.drop_connection()
                    return method(*args, **kwargs)
        finally:
            store.release_pooled_connection()

    return wrapper


@contextmanager
def _db_errors(store: OrmStore, what: str) -> Iterator[None]:
    """A lost database or missing tables become StoreUnavailable (503); the broken
    connection is closed, so the next call opens a new one. A wait for a pooled
    connection that timed out while the pool holds connections is a 503 too, but the
    database is fine (every connection busy): the pool the other requests use is kept."""
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        if _pool_busy(store, exc):
            log.warning("no pooled connection free within its timeout in %s", what)
            raise StoreUnavailable(SERVICE_BUSY) from exc
        store.drop_connection()
        store.restart_pool()
        store.gate.lost(what, exc)  # logs the outage once, and closes the gate
        raise StoreUnavailable() from exc
    except ProgrammingError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != UNDEFINED_TABLE:
            raise
        log.error("database has no TicketBoss tables: run `manage.py migrate` (%s)", exc)
        raise StoreUnavailable() from exc


def _pool_busy(store: OrmStore, exc: BaseException) -> bool:
    """No pooled connection came free in time, and the database takes a connection:
    every pooled one is in use. (The pool times out too while the database is down;
    then the store starts a new pool, whose first connection is tried at once, not
    after psycopg's backoff.)"""
    return _pool_timeout(exc) and store.gate.reachable()


def _pool_timeout(exc: BaseException) -> bool:
    return isinstance(exc.__cause__ or exc, PoolTimeout)  # Django wraps psycopg's errors


def _unpooled_twin(using: str) -> str:
    """The alias of the committer's own connection: `using` itself, or, with a pool, a
    twin without one. Why: the committer keeps its connection for life (its prepared
    statements, no checkout per batch); taken from the pool, it left reads a connection
    short, and none at all with TICKETBOSS_DB_POOL=1 (every read then a 503 "busy")."""
    configured = connections.settings[using]
    if not configured.get("OPTIONS", {}).get("pool"):
        return using
    twin = f"{using}--committer"
    if twin not in connections.settings:
        unpooled = copy.deepcopy(configured)
        del unpooled["OPTIONS"]["pool"]
        connections.settings[twin] = unpooled
    return twin


class OrmStore:
    def __init__(self, *, using: str = "default") -> None:
        self.using = using
        self._listener: ChangeListener | None = None
        # Announcements of this process's batches merge as a stream's messages do.
        self._commit_using = _unpooled_twin(using)
        self._batches = ReserveBatches(
            self._commit_using, notify_every_s=settings.TICKETBOSS_STREAM_MIN_INTERVAL
        )
        # The live watcher's look at expiries (wait_for_change)
        self._looked_at = float("-inf")
        self._look_wanted = True
        self._next_due: int | None = None
        self._seen_stamp: object = None
        self.gate = gate_for(using)
        self.committer = Committer(
            self._commit_batch,
            queue_timeout_s=QUEUE_TIMEOUT_S,
            on_exit=self.drop_connection,
            on_idle=self._idle_work,
        )

    @property
    def _is_postgres(self) -> bool:
        return connections[self.using].vendor == "postgresql"

    # ------------------------------------------------------------------ events

    @_unavailable_on_db_errors
    def ensure_event(
        self, *, event_id: str, name: str, total_seats: int, hold_seconds: int | None = None
    ) -> Summary:
        for _attempt in range(RACE_RETRIES):
            try:
                return self._ensure_event(
                    event_id=event_id, name=name, total_seats=total_seats, hold_seconds=hold_seconds
                )
            except IntegrityError:  # another node created it at the same moment: look again
                continue
        raise StoreUnavailable()

    def _ensure_event(
        self, *, event_id: str, name: str, total_seats: int, hold_seconds: int | None
    ) -> Summary:
        with transaction.atomic(using=self.using):
            row = self._locked_event(event_id, missing_ok=True)
            if row is None:
                row = models.Event(
                    event_id=event_id,
                    name=name,
                    total_seats=total_seats,
                    available_seats=total_seats,
                    hold_seconds=hold_seconds or DEFAULT_HOLD_SECONDS,
                )
                row.save(using=self.using, force_insert=True)
                self._notify(event_id)
            elif (
                row.name != name
                or row.total_seats != total_seats
                or hold_seconds not in (None, row.hold_seconds)
            ):
                self._resize(row, total_seats, explain=True)
                row.name = name
                row.hold_seconds = hold_seconds or row.hold_seconds
                row.save(using=self.using)
                self._notify(event_id)
            return to_summary(row)

    @staticmethod
    def _resize(row: models.Event, total_seats: int, *, explain: bool = False) -> None:
        """New total seats (version +1), never below the seats confirmed or held; the
        contract's sentence, or with `explain` one naming the figures (for operators)."""
        if row.total_seats == total_seats:
            return
        taken = row.total_seats - row.available_seats
        if total_seats < taken:
            raise ResizeBelowReserved(
                f"Cannot resize to {total_seats} seats: {taken} are reserved." if explain else None
            )
        row.available_seats += total_seats - row.total_seats
        row.total_seats = total_seats
        row.version += 1

    @_unavailable_on_db_errors
    def create_event(self, *, event: NewEvent) -> Summary:
        check_window_order(event.window)
        try:
            with transaction.atomic(using=self.using):
                if self._events().filter(pk=event.event_id).exists():
                    raise EventExists()
                row = models.Event(
                    event_id=event.event_id,
                    name=event.name,
                    total_seats=event.total_seats,
                    available_seats=event.total_seats,
                    hold_seconds=event.hold_seconds or DEFAULT_HOLD_SECONDS,
                    sales_open_at=to_time(event.window.open_us),
                    sales_close_at=to_time(event.window.close_us),
                )
                row.save(using=self.using, force_insert=True)
                self._notify(event.event_id)
        except IntegrityError:  # created by another node at the same moment
            raise EventExists() from None
        return to_summary(row)

    @_unavailable_on_db_errors
    def update_event(self, *, event_id: str, changes: EventChanges) -> Summary:
        with transaction.atomic(using=self.using):
            row = self._locked_event(event_id)
            window = changes.merged_window(
                SalesWindow(to_us(row.sales_open_at), to_us(row.sales_close_at))
            )
            if isinstance(changes.total_seats, int):
                self._resize(row, changes.total_seats)
            if isinstance(changes.name, str):
                row.name = changes.name
            if isinstance(changes.hold_seconds, int):
                row.hold_seconds = changes.hold_seconds
            row.sales_open_at = to_time(window.open_us)
            row.sales_close_at = to_time(window.close_us)
            row.save(using=self.using)
            self._notify(event_id)
        return to_summary(row)

    @_unavailable_on_db_errors
    def set_allocation(self, *, event_id: str, partner_id: str, seats: int | None) -> None:
        with transaction.atomic(using=self.using):
            self._locked_event(event_id)
            orm_counters.set_allocation(self.using, event_id, partner_id, seats)
            self._notify(event_id)

    @_read_guard
    def summary(self, *, event_id: str) -> Summary:
        return to_summary(self._current_event(event_id))

    @_read_guard
    def events(self) -> list[Summary]:
        now_us = clock.now_us()
        rows = list(self._events().order_by("event_id"))
        return [
            to_summary(self._expired_event(row.event_id) if _due(row, now_us) else row)
            for row in rows
        ]

    @_read_guard
    def hold_seconds(self, *, event_id: str) -> int:
        return self.summary(event_id=event_id).hold_seconds

    @_read_guard
    def confirm_keys(self, *, event_id: str) -> dict[str, str]:
        """Idempotency-Keys of confirms -> reservation ids (exports carry them)."""
        rows = models.ConfirmKey.objects.using(self.using).filter(event_id=event_id)
        return {key: str(rid) for key, rid in rows.values_list("key", "reservation_id")}

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

    def hold(
        self,
        *,
        event_id: str,
        partner_id: str,
        seats: int,
        hold_seconds: int | None = None,
        idempotency_key: str | None = None,
        actor: str = OPEN_ACTOR,
    ) -> ReserveResult:
        """As reserve, through the same batches: held until its expiresAt."""
        request = ReserveRequest(
            event_id=event_id,
            partner_id=partner_id,
            seats=seats,
            idempotency_key=idempotency_key,
            fingerprint=request_fingerprint(
                partner_id=partner_id, seats=seats, hold=True, hold_seconds=hold_seconds
            ),
            created_by=actor,
            hold=True,
            hold_seconds=hold_seconds,
        )
        return self.committer.submit(request)

    def _commit_batch(self, batch: list[Pending[ReserveRequest]]) -> None:
        """In the committer thread, on its own connection (kept between batches)."""
        self.gate.enter()
        with _db_errors(self, "reserve"):
            self._drop_if_closed_by_server()
            self._batches.commit(batch)

    def _idle_work(self) -> float | None:
        """In the committer thread: the owed announcement of committed batches. After
        every batch, so nothing but a clock read until one is due."""
        wait_s = self._batches.announcement_in()
        if wait_s is None or wait_s > 0:
            return wait_s
        try:
            self.gate.enter()
            self._drop_if_closed_by_server()  # a restart ended it: reconnect, no error
            with _db_errors(self, "announce"):
                return self._batches.idle_work()
        except StoreUnavailable:
            # Still owed. Listeners re-read everything when they reconnect after an
            # outage, so this only matters when just this connection was lost.
            return ANNOUNCE_RETRY_S

    def _drop_if_closed_by_server(self) -> None:
        """A batch is never retried (its COMMIT may have happened before an error), so look
        first, without a round trip, whether the server ended this idle connection (a
        restart sends it a FATAL message and closes it): anything readable means so."""
        connection = connections[self._commit_using].connection
        if connection is None or connections[self._commit_using].vendor != "postgresql":
            return
        try:
            readable, _, _ = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError, psycopg.Error):
            readable = [True]
        if readable:
            self.drop_connection()

    @_unavailable_on_db_errors
    def cancel(self, *, reservation_id: str, actor: str = OPEN_ACTOR) -> Reservation:
        """Cancel a confirmed reservation, or release a hold (its seats free at once)."""
        key, event_id = self._event_of(reservation_id)
        with transaction.atomic(using=self.using):
            self._locked_event(event_id)  # lock order everywhere: event row, then reservation
            row = self._reservations().select_for_update().get(reservation_id=key)
            if row.status not in (CONFIRMED, HELD):
                raise ReservationNotFound()
            was_held = row.status == HELD
            now_us = clock.now_us()
            row.status = CANCELLED
            row.cancelled_at = to_time(now_us)
            row.cancelled_by = actor
            row.save(using=self.using, update_fields=["status", "cancelled_at", "cancelled_by"])
            self._events().filter(pk=event_id).update(
                available_seats=F("available_seats") + row.seats,
                reservation_count=F("reservation_count") - (0 if was_held else 1),
                held_seats=F("held_seats") - (row.seats if was_held else 0),
                hold_count=F("hold_count") - (1 if was_held else 0),
                version=F("version") + 1,
            )
            if was_held:
                orm_counters.give_back(
                    self.using, event_id, row.partner_id, held_seats=-row.seats, hold_count=-1
                )
            else:
                orm_counters.give_back(
                    self.using,
                    event_id,
                    row.partner_id,
                    confirmed_seats=-row.seats,
                    confirmed_count=-1,
                )
                orm_counters.add_minute(self.using, event_id, now_us, -row.seats)
            self._notify(event_id)
        return to_reservation(row)

    @_unavailable_on_db_errors
    def confirm(
        self,
        *,
        reservation_id: str,
        actor: str = OPEN_ACTOR,
        idempotency_key: str | None = None,
    ) -> Reservation:
        """Under the event's row lock, after its due expiries: so a confirm racing the
        expiry either comes first (200, for good) or finds the hold expired (409)."""
        key, event_id = self._event_of(reservation_id)
        with transaction.atomic(using=self.using):
            self._locked_event(event_id)  # its due holds expired and committed with us
            row = self._reservations().select_for_update().get(reservation_id=key)
            refusal = self._confirm_locked(row, event_id, idempotency_key)
        if refusal is not None:  # raised after COMMIT: the expiries found are kept
            raise refusal
        return to_reservation(row)

    def _confirm_locked(
        self, row: models.Reservation, event_id: str, idempotency_key: str | None
    ) -> Exception | None:
        confirm_keys = models.ConfirmKey.objects.using(self.using)
        if idempotency_key is not None:
            earlier = confirm_keys.filter(event_id=event_id, key=idempotency_key).first()
            if earlier is not None:
                if str(earlier.reservation_id) != str(row.reservation_id):
                    raise IdempotencyConflict()
                return None  # the first answer again, whatever happened since
            used = self._reservations().filter(event_id=event_id, idempotency_key=idempotency_key)
            if used.exists():
                raise IdempotencyConflict()
        if row.status == EXPIRED:
            return HoldExpired()
        if row.status not in (HELD, CONFIRMED):
            raise ReservationNotFound()
        if idempotency_key is not None:
            confirm_keys.create(
                event_id=event_id, key=idempotency_key, reservation_id=row.reservation_id
            )
        if row.status == CONFIRMED:
            return None  # confirmed already: the same answer, nothing changes
        row.status = CONFIRMED
        row.save(using=self.using, update_fields=["status"])
        self._events().filter(pk=event_id).update(
            held_seats=F("held_seats") - row.seats,
            hold_count=F("hold_count") - 1,
            reservation_count=F("reservation_count") + 1,
            version=F("version") + 1,
        )
        orm_counters.give_back(
            self.using,
            event_id,
            row.partner_id,
            confirmed_seats=row.seats,
            confirmed_count=1,
            held_seats=-row.seats,
            hold_count=-1,
        )
        orm_counters.add_minute(self.using, event_id, clock.now_us(), row.seats)
        self._notify(event_id)
        return None

    @_read_guard
    def get_reservation(self, *, reservation_id: str) -> Reservation:
        key = normalize_reservation_id(reservation_id)
        row = self._reservations().filter(reservation_id=key).first() if key else None
        if row is None:
            raise ReservationNotFound()
        if row.status == HELD and to_us(row.expires_at) <= clock.now_us():  # type: ignore[operator]
            self._expired_event(row.event_id)
            row = self._reservations().get(reservation_id=key)
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
        self._current_event(event_id)  # due expiries recorded first
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

    @_read_guard
    def list_reservations(self, *, query: PageQuery) -> list[PageRow]:
        self._current_event(query.event_id)  # EventNotFound; due holds expired first
        return orm_reads.page(self.using, query, clock.now_us())

    @_read_guard
    def stats(self, *, event_id: str) -> EventStats:
        """From the counter rows only (one per partner, one per minute with sales)."""
        with transaction.atomic(using=self.using):
            if self._is_postgres:  # the three reads from one snapshot
                with connections[self.using].cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            row = self._events().filter(pk=event_id).first()
            if row is None:
                raise EventNotFound()
            if _due(row, clock.now_us()):
                row = None
        if row is None:  # holds due: expire them first (in a transaction of their own)
            self._current_event(event_id)
            return self.stats(event_id=event_id)
        return orm_reads.stats_of(self.using, row)

    # ------------------------------------------------------------------ moving data

    @_unavailable_on_db_errors
    def load_events(self, states: list[EventState]) -> None:
        """Insert whole events exactly as given (ids, times, keys, version, holds, window,
        allocations, sales per minute), all in one transaction; refused with ValueError
        when an event already exists. Holds already due expire at the next look."""
        with transaction.atomic(using=self.using):
            for state in states:
                orm_transfer.load_event(self.using, state)
                self._notify(state.event_id)

    # ------------------------------------------------------------------ upkeep

    @_read_guard
    def verify(self) -> list[str]:
        self.expire_due_holds()
        return orm_checks.store_problems(self.using)

    def wait_for_change(self, *, since: object, timeout: float) -> object:
        """PostgreSQL: wait for a NOTIFY from any node (no queries while idle).
        SQLite: compare a one-row aggregate every POLL_INTERVAL_S.

        Holds: after a change (a hold may have been made, here or on another node), and
        then every EXPIRY_LOOK_S while any hold is open, one query finds the earliest
        expiry and due holds are expired here (a write like any other, so every stream
        sees it within a second, with no request arriving). With no hold open, an idle
        service still sends no query."""
        deadline = time.monotonic() + timeout
        while True:
            since_look = time.monotonic() - self._looked_at
            if since_look >= EXPIRY_LOOK_S and (self._look_wanted or self._next_due is not None):
                try:
                    self._next_due = self.expire_due_holds()
                    self._look_wanted = False
                except StoreUnavailable:  # database away: wait on, look again later
                    self._look_wanted = True
                self._looked_at, since_look = time.monotonic(), 0.0
            remaining = deadline - time.monotonic()
            if self._next_due is not None or self._look_wanted:
                remaining = min(remaining, EXPIRY_LOOK_S - since_look)
            if self._is_postgres:
                stamp = self._change_listener().wait(since=since, timeout=max(remaining, 0.0))
            else:
                stamp = self._version_stamp()
                if since is not None and stamp == since and remaining > 0:
                    time.sleep(min(remaining, POLL_INTERVAL_S))
                    stamp = self._version_stamp()
            if stamp != self._seen_stamp:
                self._seen_stamp, self._look_wanted = stamp, True
            if since is None or stamp != since or time.monotonic() >= deadline:
                return stamp

    @_read_guard
    def expire_due_holds(self) -> int | None:
        """Expire due holds in every event (one query when none is due); the earliest
        expiry left (us), or None when no hold is open."""
        now_us = clock.now_us()
        first = to_us(self._events().aggregate(at=Min("next_expiry"))["at"])
        if first is None or first > now_us:
            return first
        due = self._events().filter(next_expiry__lte=to_time(now_us))
        for event_id in due.values_list("event_id", flat=True):
            self._expired_event(event_id)
        return to_us(self._events().aggregate(at=Min("next_expiry"))["at"])

    @_read_guard
    def _version_stamp(self) -> tuple[Any, ...]:
        totals = self._events().aggregate(count=Count("event_id"), versions=Sum("version"))
        return (totals["count"], totals["versions"])

    def before_stop(self) -> None:
        """Batches announce themselves at most once per TICKETBOSS_STREAM_MIN_INTERVAL,
        the rest later from the committer's idle work, which a stopping process may not
        live to run: every batch from now on announces itself, and what is owed goes now,
        from this thread (on its own connection, closed after)."""
        self._batches.announce_every_batch()
        if self._batches.announcement_in() is None:
            return
        try:
            self.gate.enter()  # while the database is lost: at once, not after a timeout
            with _db_errors(self, "announce"):
                self._batches.idle_work()  # due now: the interval is 0
        finally:
            self.drop_connection()

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
        """Close this thread's connections (broken or not); the next query opens a new one."""
        for alias in {self.using, self._commit_using}:
            with suppress(Exception):
                connections[alias].close()

    # ------------------------------------------------------------------ internals

    def _current_event(self, event_id: str) -> models.Event:
        """The event's row with every hold due by now expired; EventNotFound."""
        row = self._events().filter(pk=event_id).first()
        if row is None:
            raise EventNotFound()
        return self._expired_event(event_id) if _due(row, clock.now_us()) else row

    def _expired_event(self, event_id: str) -> models.Event:
        """Expire the event's due holds in one short transaction; its row after."""
        with transaction.atomic(using=self.using):
            return self._locked_event(event_id)

    def _locked_event(self, event_id: str, *, missing_ok: bool = False) -> Any:
        """Lock the event's row (inside a transaction), its due holds expired first."""
        views, expired = locked_events(self.using, [event_id], clock.now_us())
        if event_id not in views:
            if missing_ok:
                return None
            raise EventNotFound()
        if expired:
            self._notify(event_id)
        return self._events().get(pk=event_id)

    def _event_of(self, reservation_id: str) -> tuple[str, str]:
        """(the id's one spelling, its event); ReservationNotFound. Read without a lock:
        a reservation's event never changes."""
        key = normalize_reservation_id(reservation_id)
        row = (
            self._reservations().filter(reservation_id=key).values("event_id").first()
            if key
            else None
        )
        if key is None or row is None:
            raise ReservationNotFound()
        return key, row["event_id"]

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


def _due(row: models.Event, now_us: int) -> bool:
    return row.next_expiry is not None and to_us(row.next_expiry) <= now_us  # type: ignore[operator]
