"""Group commit: the writers of one process waiting on an event share one fdatasync.

Profiling the reservation path showed the fdatasync, made while holding the
event's lock, to be most of a reservation's wall time, and the lock serialises
every writer of both workers behind it. Here one thread (the leader) takes the
lock for everybody queued in this process, plans their changes one after the
other against the state plus what the batch already accepted, appends all
accepted lines in one write and one fdatasync, applies them, and only then
wakes each writer with its own answer, and the first writer queued since to lead
the next batch. Nothing is answered before its line is
on disk, a refused change writes nothing, and a failed append fails (and
undoes) every change of its batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reservations.bell import Bell
from reservations.domain import (
    IdempotencyConflict,
    Reservation,
    ReservationNotFound,
    StoreUnavailable,
)
from reservations.event_state import EventState


@dataclass(slots=True)
class Staged:
    """What a batch accepted but has not yet made durable: checks must count it too."""

    seats: int = 0
    partner_seats: dict[str, int] = field(default_factory=dict)  # seats taken by partner
    by_key: dict[str, Reservation] = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)
    cancelled: set[str] = field(default_factory=set)
    confirmed: set[str] = field(default_factory=set)
    confirm_keys: dict[str, str] = field(default_factory=dict)

    def find_replay(
        self, state: EventState, *, idempotency_key: str | None, fingerprint: str
    ) -> Reservation | None:
        """As EventState.find_replay, seeing the batch's own reservations as well."""
        staged = self.by_key.get(idempotency_key) if idempotency_key is not None else None
        if staged is None:
            return state.find_replay(idempotency_key=idempotency_key, fingerprint=fingerprint)
        if staged.fingerprint != fingerprint:
            raise IdempotencyConflict()
        return staged

    def add_reservation(self, reservation: Reservation) -> None:
        self.seats += reservation.seats
        partner = reservation.partner_id
        self.partner_seats[partner] = self.partner_seats.get(partner, 0) + reservation.seats
        self.ids.add(reservation.reservation_id)
        if reservation.idempotency_key is not None:
            self.by_key[reservation.idempotency_key] = reservation

    def check_cancel(self, state: EventState, reservation_id: str) -> bool:
        """As EventState.check_cancel; True when it releases a hold (not confirmed in
        this batch)."""
        if reservation_id in self.cancelled:
            raise ReservationNotFound()
        state.check_cancel(reservation_id)
        self.cancelled.add(reservation_id)
        return reservation_id not in self.confirmed and state.reservations.is_held(reservation_id)

    def confirm_replay(
        self, state: EventState, idempotency_key: str | None, reservation_id: str
    ) -> bool:
        """As EventState.confirm_replay, seeing the batch's own confirm keys."""
        staged = self.confirm_keys.get(idempotency_key) if idempotency_key else None
        if staged is not None:
            if staged != reservation_id:
                raise IdempotencyConflict()
            return True
        return state.confirm_replay(idempotency_key, reservation_id)

    def remember_confirm_key(self, idempotency_key: str | None, reservation_id: str) -> None:
        """After a confirm passed its checks: its key is taken for the rest of the batch."""
        if idempotency_key is not None:
            self.confirm_keys[idempotency_key] = reservation_id

    def check_confirm(self, state: EventState, reservation_id: str) -> bool:
        """As EventState.check_confirm, seeing the batch's own confirms and cancels."""
        if reservation_id in self.cancelled:
            raise ReservationNotFound()
        if reservation_id in self.confirmed:
            return False
        if state.check_confirm(reservation_id):
            self.confirmed.add(reservation_id)
            return True
        return False


# A plan checks one write against (state, staged): it raises a DomainError to refuse,
# or records what it takes in `staged` and returns (journal change or None, finish);
# `finish()` runs after the batch is durable and applied and gives the writer's answer.
Plan = Callable[[EventState, Staged], tuple[dict[str, Any] | None, Callable[[], Any]]]


@dataclass(slots=True, eq=False)
class Pending:
    plan: Plan
    bell: Bell = field(default_factory=Bell)  # rung once: answered, or made the leader
    taken: bool = False
    leads: bool = False
    settled: bool = False
    result: Any = None
    error: BaseException | None = None

    def settle(self, *, result: Any = None, error: BaseException | None = None) -> None:
        self.result, self.error, self.settled = result, error, True


class GroupCommit:
    """Queue of one event's writers in this process; one leader at a time commits them all.

    Every thread is woken at most once, and only when it has something to do: a writer
    when its answer is ready, the next leader when the batch before it is done. Waking
    every waiting writer after each batch (a `Condition.notify_all`) measured 6% of a
    worker's GIL time under load, most of it for threads that went back to sleep.
    """

    def __init__(
        self,
        run_batch: Callable[[Callable[[], list[Pending]]], None],
        *,
        timeout_s: float,
        busy: Callable[[], StoreUnavailable],
    ) -> None:
        self._run_batch = run_batch
        self._timeout_s = timeout_s
        self._busy = busy
        self._mutex = threading.Lock()
        self._queue: list[Pending] = []
        self._leading = False

    def submit(self, plan: Plan) -> Any:
        """Run `plan` in the next batch and return its answer once durable (or raise)."""
        pending = Pending(plan)
        with self._mutex:
            self._queue.append(pending)
            if not self._leading:
                self._leading = pending.leads = True
        if not pending.leads:
            self._wait_for_turn(pending)
        if pending.leads and not pending.settled:
            self._lead(pending)
        if pending.error is not None:
            raise pending.error
        return pending.result

    def _wait_for_turn(self, pending: Pending) -> None:
        """Until this writer is answered or made the leader; 503 if neither comes in
        time (it then leaves the queue, never having been in a batch)."""
        if pending.bell.wait(self._timeout_s):
            return
        with self._mutex:
            if not (pending.taken or pending.leads):
                self._queue.remove(pending)
                raise self._busy()
        pending.bell.wait()  # bounded: its batch is running, or it was just made leader

    def _lead(self, pending: Pending) -> None:
        batch: list[Pending] = []

        def take_queue() -> list[Pending]:
            with self._mutex:
                batch.extend(self._queue)
                self._queue = []
                for queued in batch:
                    queued.taken = True
            return batch

        try:
            # run_batch takes the event lock (bounded wait), then the queue; it settles
            # every writer it took, with an answer or the batch's error.
            self._run_batch(take_queue)
        except BaseException:
            if not pending.taken:
                with self._mutex:
                    self._queue.remove(pending)
                raise
        finally:
            for writer in batch:
                if writer is not pending:
                    writer.bell.ring()
            self._hand_over()

    def _hand_over(self) -> None:
        """The first writer still queued leads next; with none, the next to come does."""
        with self._mutex:
            if self._queue:
                successor = self._queue[0]
                successor.leads = True
                successor.bell.ring()
            else:
                self._leading = False
