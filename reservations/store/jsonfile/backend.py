"""The JSON-file store: one folder per event under `<data dir>/events/`.

Implements ReservationStore (reservations.store.protocol): the reservation and hold
writes, organizers' event settings and allocations, paging and stats.

Safe across threads and worker processes on one machine (per-event flock),
durable (fdatasync before every acknowledgement), and cheap per request (one
appended line; reads are served from memory after a single stat).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from reservations import clock
from reservations.domain import (
    OPEN_ACTOR,
    DomainError,
    EventNotFound,
    Reservation,
    ReservationNotFound,
    ReserveResult,
    StoreUnavailable,
    Summary,
    is_valid_event_id,
    new_reservation_id,
    normalize_reservation_id,
    request_fingerprint,
    validate_event_id,
)
from reservations.event_state import EventState
from reservations.organizing import (
    EventChanges,
    EventStats,
    NewEvent,
    PageQuery,
    PageRow,
    check_window_order,
)
from reservations.store.jsonfile.event_log import (
    BACKGROUND_COMPACT_FROM,
    COMPACT_MIN_RECORDS,
    EventLog,
    sync_new_folder,
)

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 0.05


class JsonFileStore:
    def __init__(
        self,
        data_dir: Path,
        *,
        lock_timeout_s: float = 5.0,
        compact_min_records: int = COMPACT_MIN_RECORDS,
        background_compact_from: int = BACKGROUND_COMPACT_FROM,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.events_dir = self.data_dir / "events"
        self._lock_timeout_s = lock_timeout_s
        self._compact_min_records = compact_min_records
        self._background_compact_from = background_compact_from
        self._logs: dict[str, EventLog] = {}
        self._logs_mutex = threading.Lock()
        self.events_dir.mkdir(parents=True, exist_ok=True)
        self._discover()

    # ------------------------------------------------------------------ events

    def ensure_event(
        self, *, event_id: str, name: str, total_seats: int, hold_seconds: int | None = None
    ) -> Summary:
        event_log = self._event_log(event_id, create=True)
        assert event_log is not None
        return event_log.ensure(name=name, total_seats=total_seats, hold_seconds=hold_seconds)

    def summary(self, *, event_id: str) -> Summary:
        return self._existing_log(event_id).summary()

    def hold_seconds(self, *, event_id: str) -> int:
        return self._state(event_id).hold_seconds

    def confirm_keys(self, *, event_id: str) -> dict[str, str]:
        """Idempotency-Keys of confirms -> reservation ids (exports carry them)."""
        return dict(self._state(event_id).confirm_keys)

    def _state(self, event_id: str) -> EventState:
        state = self._existing_log(event_id).current_state()
        if state is None:
            raise EventNotFound()
        return state

    # ------------------------------------------------------------------ organizers

    def create_event(self, *, event: NewEvent) -> Summary:
        validate_event_id(event.event_id)
        check_window_order(event.window)
        event_log = self._event_log(event.event_id, create=True)
        assert event_log is not None
        return event_log.create(event)

    def update_event(self, *, event_id: str, changes: EventChanges) -> Summary:
        return self._existing_log(event_id).update(changes)

    def set_allocation(self, *, event_id: str, partner_id: str, seats: int | None) -> None:
        self._existing_log(event_id).set_allocation(partner_id, seats)

    def list_reservations(self, *, query: PageQuery) -> list[PageRow]:
        return self._existing_log(query.event_id).page(query)

    def stats(self, *, event_id: str) -> EventStats:
        return self._existing_log(event_id).stats()

    def events(self) -> list[Summary]:
        self._discover()
        summaries = []
        for event_log in sorted(self._logs.values(), key=lambda item: item.event_id):
            state = event_log.current_state()
            if state is not None:
                summaries.append(state.summary)
        return summaries

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
        return self._existing_log(event_id).reserve(
            partner_id=partner_id,
            seats=seats,
            idempotency_key=idempotency_key,
            fingerprint=request_fingerprint(partner_id=partner_id, seats=seats),
            new_id=self._unused_reservation_id,
            created_by=actor,
        )

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
        return self._existing_log(event_id).reserve(
            partner_id=partner_id,
            seats=seats,
            idempotency_key=idempotency_key,
            fingerprint=request_fingerprint(
                partner_id=partner_id, seats=seats, hold=True, hold_seconds=hold_seconds
            ),
            new_id=self._unused_reservation_id,
            created_by=actor,
            hold=True,
            hold_seconds=hold_seconds,
        )

    def confirm(
        self,
        *,
        reservation_id: str,
        actor: str = OPEN_ACTOR,
        idempotency_key: str | None = None,
    ) -> Reservation:
        key, event_log = self._existing_reservation(reservation_id)
        return event_log.confirm(key, confirmed_by=actor, idempotency_key=idempotency_key)

    def cancel(self, *, reservation_id: str, actor: str = OPEN_ACTOR) -> Reservation:
        key, event_log = self._existing_reservation(reservation_id)
        return event_log.cancel(key, cancelled_by=actor)

    def get_reservation(self, *, reservation_id: str) -> Reservation:
        key = normalize_reservation_id(reservation_id)
        event_log = self._log_holding(key) if key else None
        state = event_log.current_state() if event_log else None
        if state is None or key is None:
            raise ReservationNotFound()
        return state.reservations[key]

    def reservations(self, *, event_id: str | None = None) -> Iterator[Reservation]:
        if event_id is not None:
            logs = [self._existing_log(event_id)]
        else:
            self._discover()
            logs = sorted(self._logs.values(), key=lambda item: item.event_id)
        for event_log in logs:
            state = event_log.current_state()
            if state is not None:
                yield from state.reservations.values()

    def event_contents(self, *, event_id: str) -> tuple[Summary, list[Reservation]]:
        return self._existing_log(event_id).contents()

    def event_contents_with_stats(
        self, *, event_id: str
    ) -> tuple[Summary, list[Reservation], EventStats]:
        """event_contents and stats as of the same instant (dumps carry both)."""
        return self._existing_log(event_id).contents_with_stats()

    # ------------------------------------------------------------------ upkeep

    def verify(self) -> list[str]:
        problems, _warnings = self.verify_with_warnings()
        return problems

    def verify_with_warnings(self) -> tuple[list[str], list[str]]:
        self._discover()
        problems: list[str] = []
        warnings: list[str] = []
        for event_log in sorted(self._logs.values(), key=lambda item: item.event_id):
            found, notes = event_log.verify()
            problems += found
            warnings += notes
        return problems, warnings

    def change_stamp(self) -> tuple[tuple[str, tuple[int | None, int]], ...]:
        """Changes whenever any event's journal changes: one stat per event, no reads."""
        self._discover()
        return tuple((event_id, item.stamp()) for event_id, item in sorted(self._logs.items()))

    def wait_for_change(self, *, since: object, timeout: float) -> object:
        """Poll the journals' stamps (a stat each) every WATCH_INTERVAL_S.

        Writes from any worker process change a journal's size, so this sees
        them all without reading data; the latency it adds is at most one interval.
        A hold whose expiry has come is expired here (recorded like any write), so
        streams carry an expiry even when no request arrives.
        """
        deadline = time.monotonic() + timeout
        while True:
            self._expire_due_holds()
            stamp = self.change_stamp()
            if since is None or stamp != since or time.monotonic() >= deadline:
                return stamp
            time.sleep(WATCH_INTERVAL_S)

    def _expire_due_holds(self) -> None:
        now = clock.now_us()
        for event_log in list(self._logs.values()):
            state = event_log.state
            due = state.next_expiry_us if state is not None else None
            if due is not None and due <= now:
                try:
                    event_log.current_state()  # records the expiries (or sees another's)
                except DomainError as exc:  # busy or full disk: the next poll retries
                    log.warning("expiring holds in %s postponed: %s", event_log.event_id, exc)

    def before_stop(self) -> None:
        """Nothing owed: other processes' watchers see a write by its journal's size
        (wait_for_change) once it returns."""

    def close(self) -> None:
        with self._logs_mutex:
            for event_log in self._logs.values():
                event_log.close()
            self._logs.clear()

    # ------------------------------------------------------------------ internals

    def _existing_log(self, event_id: str) -> EventLog:
        event_log = self._event_log(event_id, create=False)
        if event_log is None:
            raise EventNotFound()
        return event_log

    def _event_log(self, event_id: str, *, create: bool) -> EventLog | None:
        event_log = self._logs.get(event_id)
        if event_log is not None:
            return event_log
        if not is_valid_event_id(event_id):
            return None
        folder = self.events_dir / event_id
        if create:
            try:
                sync_new_folder(folder)
            except OSError as exc:
                raise StoreUnavailable() from exc
        elif not folder.is_dir():
            return None
        return self._register(folder)

    def _register(self, folder: Path) -> EventLog:
        with self._logs_mutex:
            event_log = self._logs.get(folder.name)
            if event_log is None:
                event_log = EventLog(
                    folder,
                    lock_timeout_s=self._lock_timeout_s,
                    compact_min_records=self._compact_min_records,
                    background_compact_from=self._background_compact_from,
                )
                event_log.open()
                self._logs[folder.name] = event_log
            return event_log

    def _discover(self) -> None:
        """Pick up event folders created by other processes."""
        for entry in os.scandir(self.events_dir):
            if entry.is_dir() and entry.name not in self._logs and is_valid_event_id(entry.name):
                self._register(Path(entry.path))

    def _existing_reservation(self, reservation_id: str) -> tuple[str, EventLog]:
        """(the id's one spelling, the log of its event), or ReservationNotFound."""
        key = normalize_reservation_id(reservation_id)
        event_log = self._log_holding(key) if key else None
        if event_log is None or key is None:
            raise ReservationNotFound()
        return key, event_log

    def _log_holding(self, reservation_id: str) -> EventLog | None:
        """The event log that holds this reservation, looking again on disk if needed."""
        for event_log in list(self._logs.values()):
            state = event_log.state
            if state is not None and reservation_id in state.reservations:
                return event_log
        self._discover()
        for event_log in list(self._logs.values()):
            state = event_log.current_state()
            if state is not None and reservation_id in state.reservations:
                return event_log
        return None

    def _unused_reservation_id(self) -> str:
        while True:
            candidate = new_reservation_id()
            if not any(
                item.state is not None and candidate in item.state.reservations
                for item in self._logs.values()
            ):
                return candidate
