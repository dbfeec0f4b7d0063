"""Moving a whole store between backends (JSON files <-> database) without loss.

The dump is one JSON document: every event with its name, seats and version,
and every reservation, confirmed or cancelled, with its id, times,
Idempotency-Key and request fingerprint, oldest first; holds (held, or once
held) carry their status and expiresAt, and each event its holdSeconds, sales window
(`salesOpenAt`, `salesCloseAt`), partners' `allocations` and seats sold per minute
(`minuteSales`), each left out when unset so older dumps read the same; loading an
older dump gives no window, no allocations, and minute sales rebuilt from its
reservations. Loading rebuilds each
event through the domain's own rules (EventState, and the validators a live
request meets) and refuses a dump whose seat counts disagree with its
reservations or that names a reservation id twice, so a damaged file never
lands. Loading is all or nothing: a failure
part-way (a full disk, a database error) undoes the events already loaded.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reservations.domain import (
    DEFAULT_HOLD_SECONDS,
    InvalidRequest,
    Reservation,
    StoreCorrupt,
    StoreUnavailable,
    Summary,
    normalize_reservation_id,
    utc_now_iso,
    validate_event_id,
    validate_event_name,
    validate_hold_seconds,
    validate_idempotency_key,
    validate_partner_id,
    validate_seats,
    validate_total_seats,
)
from reservations.event_state import EventState
from reservations.organizing import (
    ALWAYS_OPEN,
    EventStats,
    SalesWindow,
    check_window_order,
    parse_instant,
)
from reservations.partners import (
    Partner,
    PartnerDirectory,
    directory_problems,
    partner_from_json,
    partner_to_json,
)
from reservations.store.jsonfile import JsonFileStore
from reservations.store.jsonfile.changes import window_fields
from reservations.store.jsonfile.durable import atomic_write, fsync_dir
from reservations.store.jsonfile.event_log import JOURNAL_NAME, SNAPSHOT_NAME, sync_new_folder
from reservations.store.jsonfile.records import (
    encode_record,
    reservation_from_json,
    reservation_to_json,
)
from reservations.store.jsonfile.snapshot import restore_organizer_figures, write_snapshot
from reservations.store.protocol import ReservationStore

DUMP_KIND = "ticketboss-store-dump"
DUMP_FORMAT = 1


class DumpError(ValueError):
    """The dump cannot be loaded; the message says why, and nothing was written."""


# ---------------------------------------------------------------------- export


def dump_store(
    store: ReservationStore, directory: PartnerDirectory | None = None
) -> dict[str, Any]:
    """Every event; with `directory`, also every partner and its keys (hashes only)."""
    document = {
        "kind": DUMP_KIND,
        "format": DUMP_FORMAT,
        "exportedAt": utc_now_iso(),
        "events": [dump_event(store, summary.event_id) for summary in store.events()],
    }
    if directory is not None:
        document["partners"] = [partner_to_json(item) for item in directory.partners()]
    return document


def partners_from_dump(document: dict[str, Any]) -> list[Partner]:
    """The dump's partners (none in a dump from before keys mode), checked as check_store
    checks them; DumpError naming the first problem."""
    try:
        partners = [partner_from_json(item) for item in document.get("partners", [])]
    except (AttributeError, KeyError, TypeError) as exc:
        raise DumpError(f"a partner cannot be read: {exc!r}") from exc
    problems = directory_problems(partners)
    ids = [item.partner_id for item in partners]
    if len(set(ids)) != len(ids):
        problems.append("the dump holds a partner twice")
    if problems:
        raise DumpError("; ".join(problems))
    return partners


def dump_event(store: ReservationStore, event_id: str) -> dict[str, Any]:
    """One event as of one instant, even while writes go on."""
    summary, reservations, stats = _event_at_one_instant(store, event_id)
    header = _event_header(summary)
    if stats is not None:
        header.update(
            window_fields(
                SalesWindow(stats.summary.sales_open_us, stats.summary.sales_close_us),
                changed_from=ALWAYS_OPEN,
            )
        )
        allocations = {
            p.partner_id: p.allocation
            for p in sorted(stats.partners, key=lambda p: p.partner_id)
            if p.allocation is not None
        }
        if allocations:
            header["allocations"] = allocations
        if stats.per_minute:
            header["minuteSales"] = {row["minute"]: row["seats"] for row in stats.per_minute}
    # Defaults are left out, so a dump of an event that never used holds reads the same
    # as one written before holds existed.
    hold_seconds = getattr(store, "hold_seconds", None)
    if hold_seconds is not None and hold_seconds(event_id=event_id) != DEFAULT_HOLD_SECONDS:
        header["holdSeconds"] = hold_seconds(event_id=event_id)
    confirm_keys = getattr(store, "confirm_keys", None)
    if confirm_keys is not None and confirm_keys(event_id=event_id):
        header["confirmKeys"] = confirm_keys(event_id=event_id)
    return {**header, "reservations": [reservation_to_json(r) for r in reservations]}


# Attempts at reading an event's reservations and figures at one version before giving up.
_CONSISTENT_READ_ATTEMPTS = 100


def _event_at_one_instant(
    store: ReservationStore, event_id: str
) -> tuple[Summary, list[Reservation], EventStats | None]:
    """Reservations and organizer figures (stats; None from a store without them) that
    agree: from one read when the store offers it (the JSON store, under its lock), else
    both read at the same version. Every change of seats or minute sales is a new
    version; an allocation or window changed in between is simply the newer one."""
    at_once = getattr(store, "event_contents_with_stats", None)
    if at_once is not None:
        return at_once(event_id=event_id)
    stats_of = getattr(store, "stats", None)
    for _ in range(_CONSISTENT_READ_ATTEMPTS):
        stats = stats_of(event_id=event_id) if stats_of is not None else None
        summary, reservations = store.event_contents(event_id=event_id)
        if stats is None or stats.summary.version == summary.version:
            return summary, reservations, stats
    raise StoreUnavailable(
        f"event {event_id} changed during every one of {_CONSISTENT_READ_ATTEMPTS} reads; "
        "try the dump again when writes slow down."
    )


def _event_header(summary: Summary) -> dict[str, Any]:
    return {
        "eventId": summary.event_id,
        "name": summary.name,
        "totalSeats": summary.total_seats,
        "availableSeats": summary.available_seats,
        "reservationCount": summary.reservation_count,
        "heldSeats": summary.held_seats,
        "holdCount": summary.hold_count,
        "version": summary.version,
    }


# ---------------------------------------------------------------------- import


def states_from_dump(document: Any) -> list[EventState]:
    """Every event of a dump, rebuilt and checked; DumpError naming the first problem."""
    if not isinstance(document, dict) or document.get("kind") != DUMP_KIND:
        raise DumpError(f"not a TicketBoss store dump (expected kind {DUMP_KIND!r}).")
    if document.get("format") != DUMP_FORMAT:
        raise DumpError(f"unsupported dump format {document.get('format')!r}.")
    states = [_state_from_event(item) for item in document.get("events", [])]
    ids = [state.event_id for state in states]
    if len(set(ids)) != len(ids):
        raise DumpError("the dump holds an event twice.")
    seen: set[str] = set()
    for state in states:
        for reservation_id in state.reservations.ids():
            if reservation_id in seen:
                raise DumpError(f"reservation {reservation_id} appears in two events.")
            seen.add(reservation_id)
    return states


def _state_from_event(event: dict[str, Any]) -> EventState:
    try:
        state = EventState(
            event_id=validate_event_id(event["eventId"]),
            name=validate_event_name(event["name"]),
            total_seats=validate_total_seats(event["totalSeats"]),
            version=event["version"],
            hold_seconds=validate_hold_seconds(
                event.get("holdSeconds", DEFAULT_HOLD_SECONDS), minimum=1
            ),
            window=_window(event),
        )
        for item in event["reservations"]:
            state.load_reservation(_checked(reservation_from_json(state.event_id, item)))
        for partner_id in event.get("allocations", {}):
            if validate_partner_id(partner_id) != partner_id:
                raise InvalidRequest(f"allocation of {partner_id!r}: partnerId has spaces.")
        restore_organizer_figures(state, event)
        state.confirm_keys = _confirm_keys(event.get("confirmKeys", {}), state)
        state.finish_load()
    except InvalidRequest as exc:
        raise DumpError(f"event {event.get('eventId')!r}: {exc.message}") from exc
    except (KeyError, TypeError, ValueError, StoreCorrupt) as exc:
        raise DumpError(f"event {event.get('eventId')!r} cannot be read: {exc!r}") from exc
    problems = state.invariant_problems()
    if state.available_seats != event.get("availableSeats"):
        problems.append(
            f"event {state.event_id}: availableSeats {event.get('availableSeats')} in the dump, "
            f"{state.available_seats} from its reservations"
        )
    if problems:
        raise DumpError("; ".join(problems))
    return state


def _window(event: dict[str, Any]) -> SalesWindow:
    """The dump's sales window, checked as a live request's (RFC 3339, close after open)."""
    window = SalesWindow(
        parse_instant(event.get("salesOpenAt"), "salesOpenAt"),
        parse_instant(event.get("salesCloseAt"), "salesCloseAt"),
    )
    check_window_order(window)
    return window


def _confirm_keys(keys: Any, state: EventState) -> dict[str, str]:
    """A dump's confirm keys, each a valid key naming one of the event's reservations."""
    if not isinstance(keys, dict):
        raise InvalidRequest("confirmKeys must be an object.")
    for key, reservation_id in keys.items():
        validate_idempotency_key(key)
        if reservation_id not in state.reservations:
            raise InvalidRequest(f"confirmKeys names an unknown reservation {reservation_id!r}.")
    return dict(keys)


def _checked(reservation: Reservation) -> Reservation:
    """Refuse what the API could never have stored: the same rules as a live request."""
    rid = reservation.reservation_id
    if normalize_reservation_id(rid) != rid:
        raise InvalidRequest(f"reservation id {rid!r} is not a canonical UUID.")
    try:
        if validate_partner_id(reservation.partner_id) != reservation.partner_id:
            raise InvalidRequest("partnerId has surrounding spaces.")
        validate_seats(reservation.seats)
        validate_idempotency_key(reservation.idempotency_key)
    except InvalidRequest as exc:
        raise InvalidRequest(f"reservation {rid}: {exc.message}") from exc
    return reservation


def existing_event_ids(store: ReservationStore, states: list[EventState]) -> list[str]:
    present = {summary.event_id for summary in store.events()}
    return [state.event_id for state in states if state.event_id in present]


def load_events(store: ReservationStore, states: list[EventState]) -> None:
    """Write every event exactly (ids, times, keys, version) into empty slots of `store`:
    all of them, or none when one fails."""
    if isinstance(store, JsonFileStore):
        _load_json_events(store, states)
        return
    loader = getattr(store, "load_events", None)
    if loader is None:
        raise DumpError(f"{type(store).__name__} cannot load events.")
    if not hasattr(store, "hold"):
        for state in states:
            if any(item.expires_at is not None for item in state.reservations.values()):
                raise DumpError(
                    f"event {state.event_id} has holds, which {type(store).__name__} "
                    "cannot keep yet."
                )
    loader(states)


def _load_json_events(store: JsonFileStore, states: list[EventState]) -> None:
    """One folder per event; on a failure the folders this call made are removed again."""
    made: list[Path] = []
    try:
        for state in states:
            folder = store.events_dir / state.event_id
            if (folder / JOURNAL_NAME).exists():
                raise DumpError(f"event {state.event_id} already exists in {store.events_dir}.")
            if not folder.exists():
                made.append(folder)
            _load_json_event(store, state)
    except BaseException:
        for folder in made:
            shutil.rmtree(folder, ignore_errors=True)
        fsync_dir(store.events_dir)
        raise


def _load_json_event(store: JsonFileStore, state: EventState) -> None:
    """A snapshot at sequence 0 plus an empty journal continuing it: the same files a
    compaction leaves. The journal is written first, so a crash in between leaves a
    folder that holds "no event yet", never a snapshot without its journal."""
    folder = store.events_dir / state.event_id
    sync_new_folder(folder)
    atomic_write(folder / JOURNAL_NAME, [encode_record({"seq": 0, "op": "begin", "format": 1})])
    write_snapshot(folder / SNAPSHOT_NAME, state, 0)


def iter_lines(document: dict[str, Any]) -> Iterator[str]:
    """Counts for a person: one line per event."""
    for event in document["events"]:
        yield (
            f"{event['eventId']}: {len(event['reservations'])} reservations, "
            f"{event['availableSeats']}/{event['totalSeats']} available, "
            f"version {event['version']}"
        )
