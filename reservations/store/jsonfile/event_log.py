"""One event's folder on disk and the in-memory state kept in step with it.

Folder layout (all readable by a person):

    snapshot.json   whole state at journal sequence number S (may be absent)
    journal.jsonl   a `begin` line naming its base S, then one record per change
    .lock           flock target; holds no data
    .compact-lock   flock target of the one compaction at a time; holds no data

Writers take the event lock exclusively, catch up with the journal, check the
rules, append one record and fdatasync it *before* applying it in memory and
answering. Readers first compare the journal's inode and size with what they
have applied (one stat); only when it changed do they take the lock shared and
read the new lines, so a read from any worker sees every acknowledged write.
Under either lock no writer is mid-append, so everything readable is durable.

Compaction (a snapshot, then a new journal) keeps restarts short. For a big event
writing the snapshot takes seconds, so it runs apart: the state's image is taken under
the lock, written by a forked child process (snapshot_child.py) while writers carry on,
and the new journal (a `begin` at the snapshot's S, then every record after S copied over)
replaces the old one under the lock again. A crash at any point leaves a snapshot
and a journal that together hold every record: a journal that starts before its
snapshot has the records up to the snapshot skipped.

Holds expire by the clock: before a read is answered or a batch of writes is
checked, every hold whose expiry has come is expired by an appended, synced
`expire` record (one peek at the state's next expiry tells whether any is due).
So a reader in any worker sees a hold's seats free from its expiresAt on, and a
confirm racing the expiry has one winner: whichever reaches the lock first.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reservations import clock
from reservations.domain import (
    OPEN_ACTOR,
    DomainError,
    EventNotFound,
    Reservation,
    ReserveResult,
    StoreCorrupt,
    StoreUnavailable,
    Summary,
    new_confirmed_reservation,
    utc_now_iso,
)
from reservations.event_state import EventState
from reservations.organizing import (
    EventChanges,
    EventExists,
    EventStats,
    NewEvent,
    PageQuery,
    PageRow,
)
from reservations.store.jsonfile.changes import apply_record, event_record, settings_record
from reservations.store.jsonfile.durable import atomic_write, fsync_dir, write_all
from reservations.store.jsonfile.group_commit import GroupCommit, Pending, Staged
from reservations.store.jsonfile.lock import CompactionGuard, EventLock, busy_error
from reservations.store.jsonfile.records import (
    decode_record,
    encode_record,
    reservation_to_json,
)
from reservations.store.jsonfile.snapshot import (
    SnapshotImage,
    read_snapshot,
    snapshot_image,
    write_snapshot,
)
from reservations.store.jsonfile.snapshot_child import write_snapshot_in_child

log = logging.getLogger(__name__)

SNAPSHOT_NAME = "snapshot.json"
JOURNAL_NAME = "journal.jsonl"
LOCK_NAME = ".lock"
COMPACT_LOCK_NAME = ".compact-lock"
# A journal of this many records (or of as many as the snapshot holds, if more) is compacted.
COMPACT_MIN_RECORDS = 20_000
# From this many reservations on, a snapshot is written in the background (at 40,000 it
# takes about 0.1 s, which every writer would otherwise wait for); below, at once.
BACKGROUND_COMPACT_FROM = 20_000
# After a compaction failed (a full disk, say), the next try waits this long: every write
# past the threshold would otherwise try again, each paying a whole snapshot for nothing.
COMPACT_RETRY_S = 30.0


class EventLog:
    def __init__(
        self,
        folder: Path,
        *,
        lock_timeout_s: float,
        compact_min_records: int,
        background_compact_from: int = BACKGROUND_COMPACT_FROM,
    ) -> None:
        self.folder = folder
        self.event_id = folder.name
        self.snapshot_path = folder / SNAPSHOT_NAME
        self.journal_path = folder / JOURNAL_NAME
        self._lock = EventLock(folder / LOCK_NAME, lock_timeout_s)
        self._group = GroupCommit(self._run_batch, timeout_s=lock_timeout_s, busy=busy_error)
        self._compact_min_records = compact_min_records
        self._background_compact_from = background_compact_from
        self._compaction_guard = CompactionGuard(folder / COMPACT_LOCK_NAME)
        self._compaction: threading.Thread | None = None  # a background compaction running
        self.compactions = 0  # finished, since open: for tests and benchmarks
        self._compact_after = 0.0  # time.monotonic() before which no compaction is tried
        self._preloaded: tuple[EventState, int] | None = None  # a snapshot read before the lock
        self.state: EventState | None = None
        self._fd: int | None = None
        self._ino: int | None = None
        self._offset = 0  # journal bytes applied
        self._line_no = 0  # journal lines applied, for messages
        self._seq = 0  # sequence number of the last applied record
        self._records_in_journal = 0
        self._snapshot_reservations = 0  # reservations in the last snapshot written or read
        self.torn_tail_bytes = 0  # a dead writer's unfinished line, seen but not applied

    # ------------------------------------------------------------------ open / close

    def open(self) -> None:
        """Load from disk at start: drop a torn tail, refuse on corruption, clear temp files.

        The load itself runs under the shared lock, so all workers of a restart
        load at once (a million reservations take seconds); only a repair (a torn
        tail to cut off, temp files to remove) takes the lock exclusively.
        """
        self._preload_snapshot()
        try:
            with self._lock.shared():
                self._catch_up(exclusive=False)
        finally:
            self._preloaded = None
        if not self.torn_tail_bytes and not any(self.folder.glob("*.tmp")):
            return
        with self._lock.exclusive():
            self._catch_up(exclusive=True)
            # Another worker's compaction writes its snapshot's temp file without the lock.
            if not self._compaction_guard.try_acquire():
                return
            try:
                for leftover in self.folder.glob("*.tmp"):
                    log.warning(
                        "removing leftover temp file %s from an interrupted write", leftover
                    )
                    leftover.unlink(missing_ok=True)
            finally:
                self._compaction_guard.release()

    def close(self) -> None:
        compaction = self._compaction
        if compaction is not None:
            compaction.join()  # its snapshot finished and its journal in place, or given up
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._lock.close()
        self._compaction_guard.close()

    # ------------------------------------------------------------------ reads

    def current_state(self) -> EventState | None:
        """The state reflecting every acknowledged write and every expiry due by now,
        or None if the event does not exist (yet)."""
        if not self._is_fresh():
            with self._lock.shared():
                self._catch_up(exclusive=False)
        state = self.state
        if state is not None:
            due = state.next_expiry_us
            if due is not None and due <= clock.now_us():
                self.expire_due()
        return self.state

    def expire_due(self) -> None:
        """Record every hold expired by now (an empty batch: the batch does it first)."""
        self._group.submit(lambda state, staged: (None, _nothing))

    def summary(self) -> Summary:
        state = self.current_state()
        if state is None:
            raise EventNotFound()
        return state.summary

    def contents(self) -> tuple[Summary, list[Reservation]]:
        summary, rows, _stats = self.contents_with_stats()
        return summary, rows

    def contents_with_stats(self) -> tuple[Summary, list[Reservation], EventStats]:
        """Summary, reservations and organizer figures as of one instant. The copy is
        taken under the lock (no writer of any process is mid-change); the slow part,
        building Reservation values, runs after the lock is released."""
        self.current_state()  # due expiries recorded first
        with self._lock.shared():
            self._catch_up(exclusive=False)
            state = self.state
            if state is None:
                raise EventNotFound()
            summary, rows, stats = state.summary, state.reservations.values(), state.stats()
        return summary, list(rows), stats

    def stamp(self) -> tuple[int | None, int]:
        """A cheap token that changes whenever the journal does (for change watchers)."""
        try:
            st = os.stat(self.journal_path)
        except FileNotFoundError:
            return (None, 0)
        return (st.st_ino, st.st_size)

    def _is_fresh(self) -> bool:
        try:
            st = os.stat(self.journal_path)
        except FileNotFoundError:
            return self._fd is None
        return st.st_ino == self._ino and st.st_size == self._offset

    # ------------------------------------------------------------------ writes

    def ensure(self, *, name: str, total_seats: int, hold_seconds: int | None = None) -> Summary:
        with self._lock.exclusive():
            self._catch_up(exclusive=True)
            if self._fd is None:
                self._start_journal(base_seq=0)
            state = self.state
            change: dict[str, Any] = {"op": "event", "name": name, "totalSeats": total_seats}
            if hold_seconds is not None:  # records from before holds keep their shape
                change["holdSeconds"] = hold_seconds
            if state is None:
                self._commit(change)
            elif (
                state.name != name
                or state.total_seats != total_seats
                or hold_seconds not in (None, state.hold_seconds)
            ):
                self._record_due_expiries(state)
                state.check_resize(total_seats, explain=True)
                self._commit(change)
            assert self.state is not None
            return self.state.summary

    def create(self, event: NewEvent) -> Summary:
        """Create the event (EventExists when it is there already)."""
        with self._lock.exclusive():
            self._catch_up(exclusive=True)
            if self.state is not None:
                raise EventExists()
            if self._fd is None:
                self._start_journal(base_seq=0)
            self._commit(event_record(event))
            assert self.state is not None
            return self.state.summary

    def update(self, changes: EventChanges) -> Summary:
        """An organizer's change of settings, all or nothing. Runs under the exclusive
        lock, never in a batch, so every reserve is checked against one window, one
        allocation and one size: before the change or after it."""
        with self._lock.exclusive():
            state = self._writable_state()
            self._record_due_expiries(state)  # an expired hold takes no seats
            record = settings_record(state, changes)
            if record is not None:
                self._commit(record)
            return state.summary

    def set_allocation(self, partner_id: str, seats: int | None) -> None:
        with self._lock.exclusive():
            state = self._writable_state()
            figures = state.partners.get(partner_id)
            if (figures.allocation if figures else None) != seats:
                self._commit({"op": "allocation", "partnerId": partner_id, "seats": seats})

    def stats(self) -> EventStats:
        """The kept figures as of one instant: copied under the lock (no writer of this
        process is mid-change), O(partners + minutes)."""
        self.current_state()  # due expiries recorded first
        with self._lock.shared():
            self._catch_up(exclusive=False)
            if self.state is None:
                raise EventNotFound()
            return self.state.stats()

    def page(self, query: PageQuery) -> list[PageRow]:
        """One page by position (a reservation's position never changes, so paging while
        writes arrive shows each row once). Statuses as of now: due expiries first."""
        state = self.current_state()
        if state is None:
            raise EventNotFound()
        return state.page(query)

    def reserve(
        self,
        *,
        partner_id: str,
        seats: int,
        idempotency_key: str | None,
        fingerprint: str,
        new_id: Callable[[], str],
        created_by: str = OPEN_ACTOR,
        hold: bool = False,
        hold_seconds: int | None = None,
    ) -> ReserveResult:
        """Reserve, or with `hold` place a hold for `hold_seconds` (None: the event's)."""

        def plan(state: EventState, staged: Staged) -> tuple[dict[str, Any] | None, Any]:
            earlier = staged.find_replay(
                state, idempotency_key=idempotency_key, fingerprint=fingerprint
            )
            if earlier is not None:
                return None, lambda: ReserveResult(earlier, replayed=True)
            state.check_take(
                partner_id=partner_id,
                seats=seats,
                now_us=clock.now_us(),
                staged_seats=staged.seats,
                staged_partner_seats=staged.partner_seats.get(partner_id, 0),
            )
            reservation_id = new_id()
            while reservation_id in staged.ids:
                reservation_id = new_id()
            reservation = new_confirmed_reservation(
                reservation_id=reservation_id,
                event_id=self.event_id,
                partner_id=partner_id,
                seats=seats,
                idempotency_key=idempotency_key,
                fingerprint=fingerprint,
                created_by=created_by,
                hold_seconds=(hold_seconds or state.hold_seconds) if hold else None,
            )
            staged.add_reservation(reservation)
            change = {
                "op": "hold" if hold else "reserve",
                "reservation": reservation_to_json(reservation),
            }
            return change, lambda: ReserveResult(reservation)

        return self._group.submit(plan)

    def cancel(self, reservation_id: str, cancelled_by: str = OPEN_ACTOR) -> Reservation:
        """Cancel a confirmed reservation, or release a hold (its seats free at once)."""

        def plan(state: EventState, staged: Staged) -> tuple[dict[str, Any] | None, Any]:
            op = "release" if staged.check_cancel(state, reservation_id) else "cancel"
            change = {"op": op, "reservationId": reservation_id, "at": utc_now_iso()}
            if cancelled_by != OPEN_ACTOR:  # open-mode records keep their old shape
                change["by"] = cancelled_by
            return change, lambda: state.reservations[reservation_id]

        return self._group.submit(plan)

    def confirm(
        self,
        reservation_id: str,
        confirmed_by: str = OPEN_ACTOR,
        idempotency_key: str | None = None,
    ) -> Reservation:
        """Confirm a hold (a confirmed reservation: the same answer again). Due expiries
        are recorded before this is checked, so an expired hold is HoldExpired. A key
        that confirmed this reservation before answers it again, whatever happened since;
        a new key is remembered (on a reservation confirmed already, by a record that
        changes no seats and no version)."""

        def plan(state: EventState, staged: Staged) -> tuple[dict[str, Any] | None, Any]:
            answer = lambda: state.reservations[reservation_id]  # noqa: E731
            if staged.confirm_replay(state, idempotency_key, reservation_id):
                return None, answer
            change: dict[str, Any] = {"op": "confirm", "reservationId": reservation_id}
            if idempotency_key is not None:
                change["key"] = idempotency_key
            changes_seats = staged.check_confirm(state, reservation_id)
            staged.remember_confirm_key(idempotency_key, reservation_id)
            if not changes_seats:
                return (change if idempotency_key is not None else None), answer
            change["at"] = utc_now_iso()
            if confirmed_by != OPEN_ACTOR:
                change["by"] = confirmed_by
            return change, answer

        return self._group.submit(plan)

    def _run_batch(self, take: Callable[[], list[Pending]]) -> None:
        """Commit every queued write of this process with one append and one fdatasync.

        Each plan is checked against the state plus what the batch accepted before
        it; the accepted lines are appended and synced together, then applied, and
        only then is any writer answered (group commit; see group_commit.py).
        """
        with self._lock.exclusive():
            batch = take()
            try:
                self._commit_batch(batch)
            except BaseException as exc:
                for pending in batch:
                    if not pending.settled:
                        pending.settle(error=exc)

    def _commit_batch(self, batch: list[Pending]) -> None:
        state = self._writable_state()
        self._record_due_expiries(state)
        staged = Staged()
        accepted: list[tuple[Pending, dict[str, Any] | None, Any]] = []
        lines: list[bytes] = []
        for pending in batch:
            try:
                change, finish = pending.plan(state, staged)
            except DomainError as exc:
                pending.settle(error=exc)  # refused: writes nothing
                continue
            if change is not None:
                change = {"seq": self._seq + 1 + len(lines), **change}
                lines.append(encode_record(change))
            accepted.append((pending, change, finish))
        if lines:
            self._append_durably(b"".join(lines))
        for pending, change, finish in accepted:
            if change is not None:
                self._apply(change, where=f"{self.journal_path}:{self._line_no + 1}")
                self._line_no += 1
                self._records_in_journal += 1
            pending.settle(result=finish())
        if lines:
            self._maybe_compact()

    def _record_due_expiries(self, state: EventState) -> None:
        """Expire every hold due by now: append and sync one `expire` record each, then
        apply them. Caller holds the lock exclusively (no confirm can run meanwhile)."""
        due = state.due_holds(clock.now_us())
        if not due:
            return
        changes = [
            {"seq": self._seq + 1 + index, "op": "expire", "reservationId": reservation_id}
            for index, reservation_id in enumerate(due)
        ]
        self._append_durably(b"".join(encode_record(change) for change in changes))
        for change in changes:
            self._apply(change, where=f"{self.journal_path}:{self._line_no + 1}")
            self._line_no += 1
            self._records_in_journal += 1
        log.info("expired %d hold(s) in %s", len(due), self.event_id)

    def _writable_state(self) -> EventState:
        self._catch_up(exclusive=True)
        if self.state is None:
            raise EventNotFound()
        return self.state

    def _commit(self, change: dict[str, Any]) -> None:
        """Append one record durably, then apply it. Caller holds the lock exclusively."""
        seq = self._seq + 1
        line = encode_record({"seq": seq, **change})
        self._append_durably(line)
        self._apply({"seq": seq, **change}, where=f"{self.journal_path}:{self._line_no + 1}")
        self._line_no += 1
        self._records_in_journal += 1
        self._maybe_compact()

    def _append_durably(self, line: bytes) -> None:
        assert self._fd is not None
        start = self._offset
        try:
            write_all(self._fd, line)
            # Durability point: the answer is sent only after this returns.
            os.fdatasync(self._fd)
        except OSError as exc:
            self._undo_append(start)
            log.error("journal append to %s failed: %s", self.journal_path, exc)
            raise StoreUnavailable() from exc
        self._offset = start + len(line)

    def _undo_append(self, start: int) -> None:
        """Cut a failed append off again so the refused request leaves no trace."""
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, start)
            os.fdatasync(self._fd)
        except OSError as exc:  # pragma: no cover - needs a failing disk
            log.critical("could not cut a failed append off %s: %s", self.journal_path, exc)

    # ------------------------------------------------------------------ compaction

    def _maybe_compact(self) -> None:
        """Snapshot and start a new journal once the journal outgrows the snapshot.

        Compacting when the journal holds as many records as the last snapshot
        has reservations keeps the amortised cost per write constant and restarts
        reading at most about twice the live data (Redis's AOF rewrite rule).
        Caller holds the lock exclusively, caught up.
        """
        threshold = max(self._compact_min_records, self._snapshot_reservations)
        if self._records_in_journal < threshold or self._compaction is not None:
            return
        if time.monotonic() < self._compact_after:
            return  # the last try failed: not again yet
        assert self.state is not None
        if not self._compaction_guard.try_acquire():
            return  # another worker is compacting this event
        if len(self.state.reservations) < self._background_compact_from:
            try:
                self._compact_now()
            except OSError as exc:
                # The journal is still complete and durable; compaction retries later.
                self._postpone_compaction(exc)
            finally:
                self._compaction_guard.release()
            return
        start = self._here()
        try:
            self._compaction = threading.Thread(
                target=self._compact_in_background,
                args=(snapshot_image(self.state, self._seq), start),
                name=f"ticketboss-compact-{self.event_id}",
                daemon=True,
            )
            self._compaction.start()
        except BaseException:  # no thread to release the guard: the next write retries
            self._compaction = None
            self._compaction_guard.release()
            raise

    def compact(self) -> None:
        """Write the state as a snapshot and start an empty journal, now. Caller holds
        the lock; no other compaction of this event may be running."""
        if self._compaction is not None or not self._compaction_guard.try_acquire():
            raise StoreUnavailable("This event is being compacted; try again.")
        try:
            self._compact_now()
        finally:
            self._compaction_guard.release()

    def _compact_now(self) -> None:
        assert self.state is not None
        write_snapshot(self.snapshot_path, self.state, self._seq)
        self._snapshot_reservations = len(self.state.reservations)
        self._start_journal_after(self._here())  # nothing written since: an empty journal
        self.compactions += 1

    def _here(self) -> _JournalPoint:
        return _JournalPoint(self._ino, self._offset, self._seq)

    def _compact_in_background(self, image: SnapshotImage, start: _JournalPoint) -> None:
        """Have a child process write the snapshot without the lock, then swap journals
        under it. Runs in its own thread (waiting for the child), holding the compaction
        guard until it ends."""
        try:
            write_snapshot_in_child(
                self.snapshot_path, image, keep_fds=[self._compaction_guard.fileno()]
            )
            # From here the snapshot and the old journal hold everything (a load skips
            # the journal's records up to the snapshot): stopping now loses nothing.
            with self._lock.exclusive():
                self._catch_up(exclusive=True)
                self._start_journal_after(start)
                self._snapshot_reservations = image.count
            self.compactions += 1
        except (OSError, StoreUnavailable, StoreCorrupt) as exc:
            self._postpone_compaction(exc)
        finally:
            self._compaction_guard.release()  # first: a new compaction takes it afresh
            self._compaction = None

    def _postpone_compaction(self, exc: BaseException) -> None:
        self._compact_after = time.monotonic() + COMPACT_RETRY_S
        log.warning("compaction of %s postponed for %.0f s: %s", self.folder, COMPACT_RETRY_S, exc)

    def _start_journal_after(self, start: _JournalPoint) -> None:
        """Replace the journal by one based at the snapshot's point, holding every record
        written since (copied byte for byte, so other workers skip what they applied).
        Caller holds the lock exclusively, caught up."""
        if self._fd is None or self._ino != start.ino:
            return  # replaced meanwhile (cannot happen while the guard is held)
        tail = os.pread(self._fd, self._offset - start.offset, start.offset)
        header = encode_record({"seq": start.seq, "op": "begin", "format": 1})
        atomic_write(self.journal_path, [header, tail])
        old_fd = self._fd
        self._open_journal()
        os.close(old_fd)
        copied = tail.count(b"\n")
        self._offset = len(header) + len(tail)
        self._line_no = 1 + copied
        self._records_in_journal = copied

    def _start_journal(self, *, base_seq: int) -> None:
        header = encode_record({"seq": base_seq, "op": "begin", "format": 1})
        atomic_write(self.journal_path, [header])
        self._open_journal()
        self._offset = len(header)
        self._line_no = 1
        self._records_in_journal = 0

    def _open_journal(self) -> None:
        self._fd = os.open(self.journal_path, os.O_RDWR | os.O_APPEND)
        self._ino = os.fstat(self._fd).st_ino
        self._offset = 0
        self._line_no = 0

    # ------------------------------------------------------------------ catch-up

    def _catch_up(self, *, exclusive: bool) -> None:
        """Apply whatever other processes appended since we last looked. Caller
        holds the lock (shared or exclusive)."""
        try:
            ino = os.stat(self.journal_path).st_ino
        except FileNotFoundError:
            if self.snapshot_path.exists():
                raise StoreCorrupt(
                    f"{self.journal_path}: journal is missing beside {self.snapshot_path}."
                ) from None
            return
        if self._fd is None:
            self._load(exclusive=exclusive)
            return
        if ino != self._ino:
            # Another process compacted: finish the old journal through our open
            # descriptor, then continue with the new one if it starts where we are, or
            # before it with the records since copied over (a background compaction).
            self._read_new_lines(exclusive=False)
            old_fd = self._fd
            self._open_journal()
            os.close(old_fd)
            # Counted afresh, or this worker would compact again right behind the other.
            self._records_in_journal = 0
            if not self._read_new_lines(exclusive=exclusive, expect_base=self._seq, overlap=True):
                self._load(exclusive=exclusive)
            elif self.state is not None:
                self._snapshot_reservations = len(self.state.reservations)  # about its size
            return
        self._read_new_lines(exclusive=exclusive)

    def _preload_snapshot(self) -> None:
        """Read the snapshot before taking the lock, at start.

        At a million reservations reading it takes seconds, and under the shared lock
        every other worker's writes waited for it (a restart's first writes could even
        run out of TICKETBOSS_LOCK_TIMEOUT and answer 503). A snapshot is only ever
        replaced whole, by rename, so what was read is one consistent state; _load
        continues it with the journal under the lock, or reads the snapshot again there
        if a compaction replaced both meanwhile.
        """
        try:
            with _bulk_load():
                self._preloaded = read_snapshot(self.snapshot_path)
        except FileNotFoundError:
            self._preloaded = None

    def _load(self, *, exclusive: bool) -> None:
        """Read the snapshot (if any) and the whole journal from scratch."""
        with _bulk_load():
            preloaded, self._preloaded = self._preloaded, None
            if preloaded is not None and self._continue(*preloaded, exclusive=exclusive):
                return
            snapshot = read_snapshot(self.snapshot_path) if self.snapshot_path.exists() else None
            if not self._continue(*(snapshot or (None, 0)), exclusive=exclusive):
                raise StoreCorrupt(
                    f"{self.journal_path}:1: journal does not continue the snapshot."
                )

    def _continue(self, state: EventState | None, seq: int, *, exclusive: bool) -> bool:
        """Start from `state` at record `seq` (a snapshot's, or nothing at 0) and apply the
        journal after it; False, with nothing applied, when the journal does not continue it."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.state, self._seq = state, seq
        self._snapshot_reservations = len(state.reservations) if state is not None else 0
        self._open_journal()
        self._records_in_journal = 0
        return self._read_new_lines(exclusive=exclusive, expect_base=seq, overlap=True)

    def _read_new_lines(
        self, *, exclusive: bool, expect_base: int | None = None, overlap: bool = False
    ) -> bool:
        """Apply complete, valid lines after our offset. Returns False when the
        journal's `begin` line does not match `expect_base`. With `overlap`, a journal
        based before `expect_base` matches too when it holds the record numbered
        `expect_base` (its records up to there are skipped: we have them, from a snapshot
        or applied already).

        A bad last line, or an unterminated one, is a torn write: dropped
        (truncated) under the exclusive lock, ignored under the shared one.
        A bad line with anything valid after it is corruption.
        """
        assert self._fd is not None
        size = os.fstat(self._fd).st_size
        if size <= self._offset:
            return expect_base is None
        data = os.pread(self._fd, size - self._offset, self._offset)
        lines = data.split(b"\n")
        partial = lines.pop()  # b"" when the data ends with a newline
        consumed = 0
        skip_through = -1
        reached = True  # a journal based before expect_base must reach it
        for index, line in enumerate(lines):
            where = f"{self.journal_path}:{self._line_no + 1}"
            record = decode_record(line)
            if record is None:
                if index == len(lines) - 1 and not partial:
                    partial = line + b"\n"
                    break
                raise StoreCorrupt(
                    f"{where}: journal line fails its check and is followed by more data "
                    "(corruption, not a torn write); nothing was changed."
                )
            if expect_base is not None:
                if record.get("op") != "begin":
                    raise StoreCorrupt(f"{where}: journal does not start with a begin line.")
                base = record.get("seq")
                if (
                    not isinstance(base, int)
                    or base > expect_base
                    or (base < expect_base and not overlap)
                ):
                    return False
                skip_through, reached = expect_base, base == expect_base
                expect_base = None
            elif isinstance(record.get("seq"), int) and record["seq"] <= skip_through:
                reached = reached or record["seq"] == skip_through
                self._records_in_journal += 1
            else:
                if not reached:
                    return False  # a gap before the records we need: read it afresh
                skip_through = -1
                self._apply(record, where=where)
                self._records_in_journal += 1
            consumed += len(line) + 1
            self._line_no += 1
        self._offset += consumed
        self.torn_tail_bytes = len(partial)
        if partial and exclusive:
            self._drop_torn_tail(len(partial))
        return expect_base is None and reached

    def _drop_torn_tail(self, length: int) -> None:
        assert self._fd is not None
        log.warning(
            "dropping a torn last line (%d bytes) at %s:%d left by an interrupted write",
            length,
            self.journal_path,
            self._line_no + 1,
        )
        os.ftruncate(self._fd, self._offset)
        os.fdatasync(self._fd)
        self.torn_tail_bytes = 0

    def _apply(self, record: dict[str, Any], *, where: str) -> None:
        seq = record.get("seq")
        if seq != self._seq + 1:
            raise StoreCorrupt(f"{where}: record number {seq} where {self._seq + 1} was expected.")
        try:
            self.state = apply_record(self.state, self.event_id, record)
        except StoreCorrupt as exc:
            if exc.message.startswith(str(self.journal_path)):
                raise
            raise StoreCorrupt(f"{where}: {exc.message}") from exc
        except (DomainError, KeyError, TypeError, ValueError) as exc:
            raise StoreCorrupt(f"{where}: record cannot be applied: {exc!r}.") from exc
        self._seq = seq

    # ------------------------------------------------------------------ checks

    def verify(self) -> tuple[list[str], list[str]]:
        """(problems, warnings) found by reading this folder afresh, under the shared lock."""
        fresh = EventLog(self.folder, lock_timeout_s=30.0, compact_min_records=0)
        try:
            with fresh._lock.shared():
                fresh._catch_up(exclusive=False)
        except StoreCorrupt as exc:
            return [exc.message], []
        finally:
            fresh.close()
        warnings = []
        if fresh.torn_tail_bytes:
            warnings.append(
                f"{self.journal_path}: torn last line ({fresh.torn_tail_bytes} bytes) from an "
                "interrupted write; it is dropped at the next start."
            )
        if fresh.state is None:
            return [], [*warnings, f"{self.folder}: folder holds no event yet."]
        return fresh.state.invariant_problems(), warnings


@dataclass(frozen=True, slots=True)
class _JournalPoint:
    """Where a snapshot was taken: the journal (by inode), the byte after its record
    `seq`, and `seq`."""

    ino: int | None
    offset: int
    seq: int


def _nothing() -> None:
    return None


@contextlib.contextmanager
def _bulk_load() -> Iterator[None]:
    """Cyclic GC off while a whole event is read, then the result frozen out of it.

    Profiling a 1M-reservation load showed the collector re-scanning the growing
    heap over and over: half of the load time. The loaded objects hold no
    reference cycles (refcounting still frees them), so freezing them also spares
    every later full collection a pause proportional to the store's size.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def sync_new_folder(folder: Path) -> None:
    """mkdir durably: the new folder's entry is synced in its parent."""
    with contextlib.suppress(FileExistsError):
        folder.mkdir()
    fsync_dir(folder.parent)
