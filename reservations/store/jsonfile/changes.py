"""What each journal record does to an event's state, and the records organizers write.

Live writes (after their record is durable) and replay at start or catch-up both go
through `apply_record`, so a replayed event is exactly the event that answered.
Records are one JSON object per line, readable by a person:

    event       name, totalSeats, holdSeconds?, salesOpenAt?, salesCloseAt?: creates
                the event; on an existing one renames or resizes it (seed_event)
    settings    any of name, totalSeats, holdSeconds, salesOpenAt, salesCloseAt (null
                clears a side of the window): an organizer's change
    allocation  partnerId, seats (null: no cap)
    reserve, hold       reservation (its stored shape, records.reservation_to_json)
    cancel, release     reservationId, at, by?
    confirm     reservationId, key?, at? (the minute it counts in), by?
    expire      reservationId
"""

from __future__ import annotations

from typing import Any

from reservations import timestamps
from reservations.domain import HELD, OPEN_ACTOR, StoreCorrupt
from reservations.event_state import EventState
from reservations.organizing import (
    UNSET,
    EventChanges,
    NewEvent,
    SalesWindow,
)
from reservations.store.jsonfile.records import reservation_from_json

_WINDOW_FIELDS = ("salesOpenAt", "salesCloseAt")


def apply_record(state: EventState | None, event_id: str, record: dict[str, Any]) -> EventState:
    """The state after `record`; StoreCorrupt (without a location) when it cannot apply."""
    op = record["op"]
    if op == "event":
        hold_seconds = record.get("holdSeconds")
        if state is None:
            state = EventState(
                event_id=event_id,
                name=record["name"],
                total_seats=record["totalSeats"],
                window=window_from_record(record, SalesWindow()),
            )
            if hold_seconds is not None:
                state.hold_seconds = hold_seconds
            state.finish_load()
        else:
            state.apply_resize(
                total_seats=record["totalSeats"], name=record["name"], hold_seconds=hold_seconds
            )
        return state
    if state is None:
        raise StoreCorrupt(f"'{op}' record before the event was created.")
    if op == "reserve":
        state.apply_reserve(reservation_from_json(event_id, record["reservation"]))
    elif op == "hold":
        reservation = reservation_from_json(event_id, record["reservation"])
        if reservation.status != HELD:
            raise StoreCorrupt("a hold record whose status is not held.")
        state.apply_reserve(reservation)
    elif op in ("cancel", "release"):
        if (op == "release") != state.reservations.is_held(record["reservationId"]):
            raise StoreCorrupt(f"'{op}' of a reservation that is not so.")
        state.apply_cancel(record["reservationId"], record["at"], record.get("by", OPEN_ACTOR))
    elif op == "confirm":
        at = record.get("at")
        state.apply_confirm(
            record["reservationId"],
            record.get("key"),
            None if at is None else timestamps.from_text(at),
        )
    elif op == "expire":
        state.apply_expire(record["reservationId"])
    elif op == "settings":
        state.apply_settings(
            name=record.get("name"),
            total_seats=record.get("totalSeats"),
            hold_seconds=record.get("holdSeconds"),
            window=window_from_record(record, state.window)
            if any(name in record for name in _WINDOW_FIELDS)
            else None,
        )
    elif op == "allocation":
        seats = record["seats"]
        if seats is not None and (type(seats) is not int or seats < 0):
            raise StoreCorrupt(f"allocation of {seats!r} seats.")
        state.apply_allocation(record["partnerId"], seats)
    else:
        raise StoreCorrupt(f"unknown record type {op!r}.")
    return state


def event_record(event: NewEvent) -> dict[str, Any]:
    """The record creating `event` (fields left at their defaults are left out)."""
    record: dict[str, Any] = {"op": "event", "name": event.name, "totalSeats": event.total_seats}
    if event.hold_seconds is not None:
        record["holdSeconds"] = event.hold_seconds
    record.update(window_fields(event.window, changed_from=SalesWindow()))
    return record


def settings_record(state: EventState, changes: EventChanges) -> dict[str, Any] | None:
    """The record of an organizer's change, with only the fields that differ from now;
    None when nothing would change. Refuses (InvalidRequest, ResizeBelowReserved)
    before anything is written; due expiries must be recorded first."""
    window = changes.merged_window(state.window)
    record: dict[str, Any] = {"op": "settings"}
    if changes.name is not UNSET and changes.name != state.name:
        record["name"] = changes.name
    if changes.total_seats is not UNSET and changes.total_seats != state.total_seats:
        state.check_resize(changes.total_seats)
        record["totalSeats"] = changes.total_seats
    if changes.hold_seconds is not UNSET and changes.hold_seconds != state.hold_seconds:
        record["holdSeconds"] = changes.hold_seconds
    record.update(window_fields(window, changed_from=state.window))
    return record if len(record) > 1 else None


def window_fields(window: SalesWindow, *, changed_from: SalesWindow) -> dict[str, str | None]:
    """The window's sides that differ from `changed_from`, as RFC 3339 text or null."""
    fields: dict[str, str | None] = {}
    for name, now, before in (
        ("salesOpenAt", window.open_us, changed_from.open_us),
        ("salesCloseAt", window.close_us, changed_from.close_us),
    ):
        if now != before:
            fields[name] = None if now is None else timestamps.to_text(now)
    return fields


def window_from_record(record: dict[str, Any], current: SalesWindow) -> SalesWindow:
    """`current` with the sides `record` names (text, or null to clear)."""

    def side(name: str, now: int | None) -> int | None:
        if name not in record:
            return now
        text = record[name]
        return None if text is None else timestamps.from_text(text)

    return SalesWindow(side("salesOpenAt", current.open_us), side("salesCloseAt", current.close_us))
