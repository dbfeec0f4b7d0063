"""An event's snapshot: its whole state at one journal sequence number.

Readable by a person: a JSON document with one reservation per line. The last
line holds the CRC-32 of every byte before it, so a damaged snapshot is found
even where it still parses. Written only by atomic replace.

The header carries what reservations alone cannot rebuild: the sales window,
partners' allocations, and seats sold per minute (a confirm's time is in no
reservation). Partners' seat figures are rebuilt from the reservations. Snapshots
from before these fields load with no window, no allocations, and minute sales
rebuilt from the reservations (EventState.rebuild_minute_sales).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from reservations.domain import DEFAULT_HOLD_SECONDS, Reservation, StoreCorrupt
from reservations.event_state import EventState
from reservations.organizing import ALWAYS_OPEN, MinuteSales, PartnerFigures
from reservations.store.jsonfile.changes import window_fields, window_from_record
from reservations.store.jsonfile.durable import atomic_write
from reservations.store.jsonfile.records import reservation_from_json, reservation_to_json

FORMAT = 1
_CRC_LINE = b'\n"crc32": '
_RESERVATIONS_LINE = b'"reservations": [\n'
_END_LINE = b"],\n"


@dataclass(frozen=True, slots=True)
class SnapshotImage:
    """An event's state at one sequence number, ready to encode.

    Taking it costs copies of the state's tables (tens of milliseconds at a million
    reservations); encoding and writing it costs about 2 s there. So a compaction
    takes the image under the event's lock and writes it after letting go, while
    writers carry on (reservations.store.jsonfile.snapshot_child).
    """

    header: bytes
    reservations: Iterator[Reservation]  # over a copy: later writes do not show
    count: int


def snapshot_image(state: EventState, seq: int) -> SnapshotImage:
    header = {
        "format": FORMAT,
        "kind": "ticketboss-event-snapshot",
        "seq": seq,
        "event": {
            "eventId": state.event_id,
            "name": state.name,
            "totalSeats": state.total_seats,
            "version": state.version,
            "holdSeconds": state.hold_seconds,
            "confirmKeys": state.confirm_keys,
            **window_fields(state.window, changed_from=ALWAYS_OPEN),
            "allocations": allocations_to_json(state),
            "minuteSales": state.minute_sales.to_json(),
        },
    }
    return SnapshotImage(
        header=orjson.dumps(header)[:-1] + b",\n" + _RESERVATIONS_LINE[:-1],
        reservations=state.reservations.values(),
        count=len(state.reservations),
    )


def write_snapshot(path: Path, state: EventState, seq: int) -> None:
    write_snapshot_image(path, snapshot_image(state, seq))


def write_snapshot_image(path: Path, image: SnapshotImage) -> None:
    atomic_write(path, _snapshot_chunks(image))


def _snapshot_chunks(image: SnapshotImage) -> Iterator[bytes]:
    crc = zlib.crc32(image.header)
    yield image.header
    batch: list[bytes] = []
    for index, reservation in enumerate(image.reservations):
        sep = b"\n" if index == 0 else b",\n"
        batch.append(sep + orjson.dumps(reservation_to_json(reservation)))
        if len(batch) >= 4096:
            chunk = b"".join(batch)
            crc = zlib.crc32(chunk, crc)
            yield chunk
            batch = []
    batch.append(b"\n],")
    chunk = b"".join(batch)
    crc = zlib.crc32(chunk, crc)
    yield chunk
    yield b"%s%d}\n" % (_CRC_LINE, crc)


def read_snapshot(path: Path) -> tuple[EventState, int]:
    """The state and sequence number stored in `path`; StoreCorrupt naming the
    file when it fails its check or its rules.

    Read line by line (one reservation each), never as one document: parsed
    whole, a million-reservation snapshot took 1.1 GB at its peak, and the
    worker kept most of that memory long after the load.
    """
    try:
        with path.open("rb") as file:
            state, seq = _load_lines(path, file)
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreCorrupt(f"{path}: snapshot is missing or has a wrong field: {exc!r}.") from exc
    state.finish_load()
    return state, seq


def _load_lines(path: Path, file: BinaryIO) -> tuple[EventState, int]:
    header_line = file.readline()
    opener = file.readline()
    if not header_line.endswith(b",\n") or opener != _RESERVATIONS_LINE:
        raise StoreCorrupt(f"{path}: snapshot does not parse (its first two lines are not "
                           "a TicketBoss snapshot header).")  # fmt: skip
    document = _parse(path, header_line[:-2] + b"}")
    event = document["event"]
    state = EventState(
        event_id=event["eventId"],
        name=event["name"],
        total_seats=event["totalSeats"],
        version=event["version"],
        hold_seconds=event.get("holdSeconds", DEFAULT_HOLD_SECONDS),
        window=window_from_record(event, ALWAYS_OPEN),
    )
    state.confirm_keys = dict(event.get("confirmKeys", {}))
    crc = zlib.crc32(opener, zlib.crc32(header_line))
    load, event_id = state.load_reservation, state.event_id  # hot loop at 1M
    for line in file:
        if line == _END_LINE:
            crc = zlib.crc32(_END_LINE[:-1], crc)
            break
        crc = zlib.crc32(line, crc)
        body = line[:-2] if line.endswith(b",\n") else line[:-1]
        load(reservation_from_json(event_id, _parse(path, body)))
    else:
        raise StoreCorrupt(f"{path}: snapshot ends before its list of reservations does.")
    restore_organizer_figures(state, event)
    tail = file.read()
    if not tail.startswith(_CRC_LINE[1:]):
        raise StoreCorrupt(f"{path}: snapshot has no crc32 line (truncated or edited by hand).")
    try:
        stored_crc = int(tail[len(_CRC_LINE) - 1 :].strip().rstrip(b"}"))
    except ValueError as exc:
        raise StoreCorrupt(f"{path}: snapshot's crc32 line does not parse.") from exc
    if crc != stored_crc:
        raise StoreCorrupt(f"{path}: snapshot fails its CRC check (damaged somewhere in it).")
    return state, int(document["seq"])


def _parse(path: Path, data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise StoreCorrupt(f"{path}: snapshot does not parse: {exc}.") from exc


def allocations_to_json(state: EventState) -> dict[str, int]:
    """partner -> allocation, for the partners that have one."""
    return {
        partner_id: figures.allocation
        for partner_id, figures in sorted(state.partners.items())
        if figures.allocation is not None
    }


def restore_organizer_figures(state: EventState, event: dict[str, Any]) -> None:
    """Allocations and minute sales from a stored event (snapshot or dump) into a state
    whose reservations are loaded; ValueError when they do not read. Absent fields
    (data from before them): no allocations, minute sales rebuilt."""
    allocations = event.get("allocations", {})
    if not isinstance(allocations, dict):
        raise ValueError("allocations must be an object of partner -> seats")
    for partner_id, seats in allocations.items():
        if type(seats) is not int or seats < 0:
            raise ValueError(f"allocation of {partner_id!r} must be a whole number")
        figures = state.partners.get(partner_id)
        if figures is None:
            figures = state.partners[partner_id] = PartnerFigures(partner_id)
        figures.allocation = seats
    if "minuteSales" in event:
        state.minute_sales = MinuteSales.from_json(event["minuteSales"])
    else:
        state.rebuild_minute_sales()
