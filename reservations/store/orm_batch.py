"""One transaction for a batch of reservations and holds (the `db` store's group commit).

The batch's writers are checked one by one, in arrival order, against the event's
sales window, the partner's allocation and the seats left, each plus what the batch
already took, and against the Idempotency-Keys taken earlier in the batch (two
writers with one key: the second replays the first, or gets 422 for another body).
Everything accepted is written in one transaction, answered only after its COMMIT;
nothing refused is written. Partner figures and per-minute sales change in the same
transaction (reservations.store.orm_counters).

Fast path (PostgreSQL): one round trip. What the batch needs of an event (seats left,
window, default hold length, next expiry) comes from this process's last look at it
(a hint, never trusted for a refusal), and the batch is sent as one multi-statement
query of EXECUTEs (statements prepared once per connection: reservations.store.
orm_prepared), which PostgreSQL runs as one transaction and commits before answering: per
event (in id order, so batches never deadlock) one UPDATE taking all its seats, then
one INSERT of every accepted reservation, one upsert of the partners' figures and one
of the minute's sales, and a pg_notify when one is due (at most one per interval and
process: see ReserveBatches). The CHECK constraints are the
decision points: the event's (available_seats >= 0) refuses an oversell, and the
UPDATE sets -1 (so the same CHECK fails) when the window is shut at the batch's
instant, a hold is due to expire, or the event's hold length differs from the hint;
the figures' CHECK refuses a partner past its allocation; a stored Idempotency-Key
fails its unique index, and a key some confirm used sets -1 again. Any of these rolls
the whole transaction back, and the exact path decides instead, as it does for any
refusal and any event not seen before.

Exact path (and SQLite): a Django transaction that locks the events (SELECT ... FOR
NO KEY UPDATE, in id order), expires their due holds, reads the stored keys and the
partners' figures, then plans and writes. A unique-key clash with another node's
commit rolls back and plans again (the next read replays that key).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, ProgrammingError, connections, transaction
from django.db.models import F, Q

from reservations import clock, models, timestamps
from reservations.domain import (
    OPEN_ACTOR,
    EventNotFound,
    IdempotencyConflict,
    NotEnoughSeats,
    Reservation,
    ReserveResult,
    StoreUnavailable,
    new_confirmed_reservation,
    new_reservation_id,
)
from reservations.organizing import AllocationExhausted, SalesNotOpen, SalesWindow
from reservations.store import orm_counters, orm_prepared
from reservations.store.orm_committer import Pending
from reservations.store.orm_rows import to_reservation, to_row, to_time, to_us

RACE_RETRIES = 3
# Marks, among stored keys, one a confirm used: any reserve or hold with it is 422.
CONFIRM_KEY: Any = object()
_REFUSALS = (NotEnoughSeats, EventNotFound, SalesNotOpen, AllocationExhausted)


@dataclass(frozen=True, slots=True)
class ReserveRequest:
    """What one writer asks for (the arguments of OrmStore.reserve or OrmStore.hold)."""

    event_id: str
    partner_id: str
    seats: int
    idempotency_key: str | None
    fingerprint: str
    created_by: str = OPEN_ACTOR
    hold: bool = False
    hold_seconds: int | None = None  # a hold's length; None: the event's holdSeconds


@dataclass(slots=True)
class EventView:
    """What a batch needs of an event: read under its lock, or a process's last look."""

    seats_left: int
    hold_seconds: int
    window: SalesWindow
    next_expiry_us: int | None


class ReserveBatches:
    """Commits batches for one store, in that store's committer thread (a stopping process
    also sends the owed announcement from its stop thread: OrmStore.before_stop)."""

    def __init__(self, using: str, *, notify_every_s: float = 0.0) -> None:
        self.using = using
        # event -> what this process last saw of it, writing or reading under lock
        self._hints: dict[str, EventView] = {}
        self.fast_commits = 0  # batches committed by each path: for tests and benchmarks
        self.exact_commits = 0
        # A NOTIFY serializes every notifying commit of the cluster, fsync included (one
        # lock for all databases: PostgreSQL's async.c), so this process's batches
        # announce their changes at most once per notify_every_s: the first batch after
        # a quiet spell at once, later ones together once the interval is over.
        self._notify_every_s = notify_every_s
        self._notified_at = float("-inf")
        self._notify_owed = False
        self.notifying_commits = 0  # for tests and benchmarks

    def commit(self, batch: list[Pending[ReserveRequest]]) -> None:
        """Commit the batch's accepted reservations in one transaction, then settle each."""
        requests = [pending.request for pending in batch]
        outcomes = None
        if connections[self.using].vendor == "postgresql":
            outcomes = self._fast(requests)
        if outcomes is None:
            outcomes = self._exact(requests)
        # Committed (or nothing to write): only now may anybody be answered.
        for pending, outcome in zip(batch, outcomes, strict=True):
            pending.settle(outcome)

    def _fast(self, requests: list[ReserveRequest]) -> list[Any] | None:
        """One multi-statement round trip, or None when the exact path must decide."""
        now_us = clock.now_us()
        views = {
            event_id: EventView(view.seats_left, view.hold_seconds, view.window, None)
            for event_id, view in self._hints.items()
            if view.next_expiry_us is None or view.next_expiry_us > now_us
        }
        plan = _Plan(views, stored={}, figures=None, now_us=now_us)
        outcomes = [plan.decide(request) for request in requests]
        if any(isinstance(item, _REFUSALS) for item in outcomes) or not plan.accepted:
            return None  # a refusal is only ever decided on an exact count
        now = to_time(now_us)
        events = sorted(plan.taken)
        statements: list[str] = []
        params: list[Any] = []
        take_seats = orm_prepared.take_seats()
        for event_id in events:
            taken = plan.taken[event_id]
            hold_seconds = views[event_id].hold_seconds if taken.default_holds else None
            statements.append(take_seats.execute)
            params += [now, hold_seconds, taken.seats_taken, taken.confirmed, taken.held_seats]
            params += [taken.holds, to_time(taken.first_expiry_us), event_id]
        for event_id in events:
            keys = plan.keys_by_event.get(event_id)
            if keys:
                statements.append(orm_prepared.confirm_key_guard().execute)
                params += [event_id, keys]
        statements.append(orm_prepared.insert_reservations().execute)
        params.append(orm_prepared.reservation_rows(insert_order(plan.accepted)))
        figures, minutes = plan.counts()
        if figures:
            statements.append(orm_prepared.add_figures().execute)
            params.append(orm_prepared.figure_rows(figures))
        if minutes:
            statements.append(orm_prepared.add_minutes().execute)
            params.append(orm_prepared.minute_rows(minutes))
        notify = self._notify_due()
        if notify:
            statements.append(orm_prepared.NOTIFY)
        connection = connections[self.using]
        try:
            orm_prepared.ensure_prepared(connection)
            with connection.cursor() as cursor:
                cursor.execute("; ".join(statements), params)  # autocommit: returns once committed
                for index, event_id in enumerate(events):  # each found its row
                    if index:
                        cursor.nextset()
                    row = cursor.fetchone()
                    if row is None:  # gone meanwhile (never happens: events are kept)
                        raise IntegrityError(f"event {event_id} not found")
                    seats, hold_seconds, next_expiry, opens, closes = row
                    self._hints[event_id] = EventView(
                        seats,
                        hold_seconds,
                        SalesWindow(to_us(opens), to_us(closes)),
                        to_us(next_expiry),
                    )
        except IntegrityError:
            for event_id in events:
                self._hints.pop(event_id, None)
            return None
        except ProgrammingError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != orm_prepared.MISSING_STATEMENT:
                raise
            orm_prepared.forget(connection)  # reset under us: nothing ran; prepare again
            return None
        self.fast_commits += 1
        self._announced(notify)
        return outcomes

    def _exact(self, requests: list[ReserveRequest]) -> list[Any]:
        for _attempt in range(RACE_RETRIES):
            try:
                with transaction.atomic(using=self.using):
                    outcomes, changed, notify = self._plan_and_write(requests)
                self.exact_commits += 1
                if changed:
                    self._announced(notify)
                return outcomes
            except IntegrityError:
                # A key committed by another node after our read (the next pass replays
                # it), or, once in 2**122, a reservation id clashed.
                continue
        raise StoreUnavailable()

    def _plan_and_write(self, requests: list[ReserveRequest]) -> tuple[list[Any], bool, bool]:
        """The outcomes; whether anything changed; whether the change was announced."""
        now_us = clock.now_us()
        event_ids = sorted({request.event_id for request in requests})
        views, expired = locked_events(self.using, event_ids, now_us)
        pairs = {(request.event_id, request.partner_id) for request in requests}
        plan = _Plan(views, _stored_keys(self.using, requests), _figures(self.using, pairs), now_us)
        outcomes = [plan.decide(request) for request in requests]
        if plan.accepted:
            models.Reservation.objects.using(self.using).bulk_create(
                [to_row(reservation) for reservation in insert_order(plan.accepted)]
            )
            orm_counters.add_counts(self.using, *plan.counts())
            for event_id in sorted(plan.taken):
                taken = plan.taken[event_id]
                view = views[event_id]
                if taken.first_expiry_us is not None:
                    view.next_expiry_us = min(
                        view.next_expiry_us or taken.first_expiry_us, taken.first_expiry_us
                    )
                models.Event.objects.using(self.using).filter(pk=event_id).update(
                    available_seats=F("available_seats") - taken.seats_taken,
                    reservation_count=F("reservation_count") + taken.confirmed,
                    held_seats=F("held_seats") + taken.held_seats,
                    hold_count=F("hold_count") + taken.holds,
                    version=F("version") + taken.confirmed + taken.holds,
                    next_expiry=to_time(view.next_expiry_us),
                )
        changed = bool(plan.accepted) or expired
        notify = changed and self._notify_due()
        if notify:
            announce_changes(self.using)
        # Exact while we hold the locks; a hint once they are released.
        self._hints.update(views)
        return outcomes, changed, notify

    def idle_work(self) -> float | None:
        """In the committer thread when no batch came: announce the changes committed
        without a NOTIFY once the interval is over (a transaction of its own); seconds
        until then, or None when nothing is owed."""
        wait_s = self.announcement_in()
        if wait_s is None or wait_s > 0:
            return wait_s
        # Not owed from before the NOTIFY on: a commit flagged after this stays owed (the
        # flag is set only once a commit returned), one flagged before precedes the NOTIFY.
        self._notify_owed = False
        try:
            announce_changes(self.using)  # autocommit: delivered once this statement commits
        except BaseException:
            self._notify_owed = True
            raise
        self._notified_at = time.monotonic()
        self.notifying_commits += 1
        return None

    def announce_every_batch(self) -> None:
        """From now on every batch that changes something notifies in its own commit, and
        an owed announcement is due at once (a process about to stop)."""
        # A float store: the committer thread reads it after each batch.
        self._notify_every_s = 0.0

    def announcement_in(self) -> float | None:
        """Seconds until the owed announcement is due (<= 0: now); None when none is owed.
        No database work: it runs after every batch."""
        if not self._notify_owed:
            return None
        return self._notified_at + self._notify_every_s - time.monotonic()

    def _notify_due(self) -> bool:
        return time.monotonic() - self._notified_at >= self._notify_every_s

    def _announced(self, notified: bool) -> None:
        """After a commit that changed something, with a NOTIFY or without one."""
        if notified:
            self._notified_at = time.monotonic()
            self._notify_owed = False
            self.notifying_commits += 1
        else:
            self._notify_owed = True


@dataclass(slots=True)
class _Taken:
    """What a batch takes in one event."""

    seats_taken: int = 0
    confirmed: int = 0
    held_seats: int = 0
    holds: int = 0
    default_holds: bool = False  # a hold of the event's default length (the hint's)
    first_expiry_us: int | None = None


@dataclass(slots=True)
class _Plan:
    """Checks writers one by one against what was read plus what the batch took.
    `figures` None (the fast path): allocations are left to the figures' CHECK."""

    views: dict[str, EventView]
    stored: dict[tuple[str, str], Any]
    figures: dict[tuple[str, str], tuple[int, int | None]] | None
    now_us: int
    accepted: list[Reservation] = field(default_factory=list)
    taken: dict[str, _Taken] = field(default_factory=dict)
    partner_taken: dict[tuple[str, str], int] = field(default_factory=dict)
    keys_by_event: dict[str, list[str]] = field(default_factory=dict)

    def decide(self, request: ReserveRequest) -> ReserveResult | Exception:
        view = self.views.get(request.event_id)
        if view is None:
            return EventNotFound()
        key = request.idempotency_key
        if key is not None:
            earlier = self.stored.get((request.event_id, key))
            if earlier is CONFIRM_KEY:
                return IdempotencyConflict()
            if earlier is not None:
                if earlier.fingerprint != request.fingerprint:
                    return IdempotencyConflict()
                return ReserveResult(earlier, replayed=True)
        if not view.window.is_open(self.now_us):
            return SalesNotOpen()
        pair = (request.event_id, request.partner_id)
        if self.figures is not None:
            taken, allocation = self.figures.get(pair, (0, None))
            if allocation is not None and (
                taken + self.partner_taken.get(pair, 0) + request.seats > allocation
            ):
                return AllocationExhausted()
        if request.seats > view.seats_left:
            return NotEnoughSeats()
        hold_seconds = (request.hold_seconds or view.hold_seconds) if request.hold else None
        reservation = new_confirmed_reservation(
            reservation_id=new_reservation_id(),
            event_id=request.event_id,
            partner_id=request.partner_id,
            seats=request.seats,
            idempotency_key=key,
            fingerprint=request.fingerprint,
            created_by=request.created_by,
            hold_seconds=hold_seconds,
        )
        view.seats_left -= request.seats
        self.partner_taken[pair] = self.partner_taken.get(pair, 0) + request.seats
        taken = self.taken.setdefault(request.event_id, _Taken())
        taken.seats_taken += request.seats
        if request.hold:
            taken.held_seats += request.seats
            taken.holds += 1
            taken.default_holds |= request.hold_seconds is None
            assert reservation.expires_at is not None
            expiry = timestamps.from_text(reservation.expires_at)
            if taken.first_expiry_us is None or expiry < taken.first_expiry_us:
                taken.first_expiry_us = expiry
        else:
            taken.confirmed += 1
        self.accepted.append(reservation)
        if key is not None:
            self.stored[(request.event_id, key)] = reservation
            self.keys_by_event.setdefault(request.event_id, []).append(key)
        return ReserveResult(reservation)

    def counts(self) -> tuple[orm_counters.FigureChanges, orm_counters.MinuteChanges]:
        figures: orm_counters.FigureChanges = {}
        minutes: orm_counters.MinuteChanges = {}
        orm_counters.count_new(self.accepted, figures, minutes)
        return figures, minutes


def locked_events(
    using: str, event_ids: list[str], now_us: int
) -> tuple[dict[str, EventView], bool]:
    """Each existing event, its row locked until COMMIT (in id order, as the fast path's
    UPDATEs, so two transactions never wait on each other in a cycle) and its due holds
    expired; and whether any expired."""
    events = models.Event.objects.using(using)
    rows = list(events.filter(pk__in=event_ids).select_for_update(no_key=True).order_by("pk"))
    expired = False
    views = {}
    for row in rows:
        next_expiry = to_us(row.next_expiry)
        if next_expiry is not None and next_expiry <= now_us:
            expired |= orm_counters.expire_due(using, row.event_id, now_us) > 0
            row = events.get(pk=row.event_id)
            next_expiry = to_us(row.next_expiry)
        views[row.event_id] = EventView(
            row.available_seats,
            row.hold_seconds,
            SalesWindow(to_us(row.sales_open_at), to_us(row.sales_close_at)),
            next_expiry,
        )
    return views, expired


def _figures(
    using: str, pairs: set[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int, int | None]]:
    """(taken seats, allocation) of each partner of the batch that has a figures row."""
    match = Q()
    for event_id in {event_id for event_id, _partner in pairs}:
        partners = [partner for one_event, partner in pairs if one_event == event_id]
        match |= Q(event_id=event_id, partner_id__in=partners)
    rows = models.PartnerFigures.objects.using(using).filter(match)
    return {
        (row.event_id, row.partner_id): (row.confirmed_seats + row.held_seats, row.allocation)
        for row in rows
    }


def insert_order(accepted: list[Reservation]) -> list[Reservation]:
    """Keyed reservations first, by (event, key), then the rest as they came: two batches
    inserting the same keys (a client retrying on two nodes at once) then wait for each
    other in one order, never in a cycle (PostgreSQL would abort one: a 503)."""
    keyed = sorted(
        (item for item in accepted if item.idempotency_key is not None),
        key=lambda item: (item.event_id, item.idempotency_key),
    )
    return keyed + [item for item in accepted if item.idempotency_key is None]


def _stored_keys(using: str, requests: list[ReserveRequest]) -> dict[tuple[str, str], Any]:
    """Reservations already stored under the batch's Idempotency-Keys, and CONFIRM_KEY for
    keys a confirm used (two queries, only when the batch has keys)."""
    wanted = {(r.event_id, r.idempotency_key) for r in requests if r.idempotency_key is not None}
    if not wanted:
        return {}
    match = Q()
    for event_id in {event_id for event_id, _key in wanted}:
        keys = [key for one_event, key in wanted if one_event == event_id]
        match |= Q(event_id=event_id, idempotency_key__in=keys)
    rows = models.Reservation.objects.using(using).filter(match)
    stored: dict[tuple[str, str], Any] = {
        (row.event_id, row.idempotency_key): to_reservation(row) for row in rows
    }
    confirm_match = Q()
    for event_id in {event_id for event_id, _key in wanted}:
        keys = [key for one_event, key in wanted if one_event == event_id]
        confirm_match |= Q(event_id=event_id, key__in=keys)
    for event_id, key in (
        models.ConfirmKey.objects.using(using).filter(confirm_match).values_list("event_id", "key")
    ):
        stored[(event_id, key)] = CONFIRM_KEY
    return stored


def announce_changes(using: str) -> None:
    """Delivered to every node's listener once its transaction commits (the batch's, or its
    own in autocommit)."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(orm_prepared.NOTIFY)
