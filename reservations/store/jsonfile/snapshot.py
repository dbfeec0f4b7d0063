"""An event's snapshot: its whole state at one journal sequence number.

Readable by a person: a JSON document with one reservation per line. The last
line holds the CRC-32 of every byte before it, so a damaged snapshot is found
even where it still parses. Written only by atomic replace.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

import orjson

from reservations.domain import EventState, StoreCorrupt
from reservations.store.jsonfile.durable import atomic_write
from reservations.store.jsonfile.records import reservation_from_json, reservation_to_json

FORMAT = 1
_CRC_LINE = b'\n"crc32": '


def write_snapshot(path: Path, state: EventState, seq: int) -> None:
    atomic_write(path, _snapshot_chunks(state, seq))


def _snapshot_chunks(state: EventState, seq: int) -> Iterator[bytes]:
    crc = 0
    header = {
        "format": FORMAT,
        "kind": "ticketboss-event-snapshot",
        "seq": seq,
        "event": {
            "eventId": state.event_id,
            "name": state.name,
            "totalSeats": state.total_seats,
            "version": state.version,
        },
    }
    chunk = orjson.dumps(header)[:-1] + b',\n"reservations": ['
    crc = zlib.crc32(chunk, crc)
    yield chunk
    batch: list[bytes] = []
    for index, reservation in enumerate(state.reservations.values()):
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
    file when it fails its check or its rules."""
    data = path.read_bytes()
    mark = data.rfind(_CRC_LINE)
    if mark < 0:
        raise StoreCorrupt(f"{path}: snapshot has no crc32 line (truncated or edited by hand).")
    try:
        crc = int(data[mark + len(_CRC_LINE) :].strip().rstrip(b"}"))
        document = orjson.loads(data)
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise StoreCorrupt(f"{path}: snapshot does not parse: {exc}.") from exc
    if zlib.crc32(data[:mark]) != crc:
        line = data[:mark].count(b"\n") + 1
        raise StoreCorrupt(
            f"{path}: snapshot fails its CRC check (damaged somewhere in lines 1-{line})."
        )
    try:
        event = document["event"]
        state = EventState(
            event_id=event["eventId"],
            name=event["name"],
            total_seats=event["totalSeats"],
            version=event["version"],
        )
        load, event_id = state.load_reservation, state.event_id  # hot loop at 1M
        for item in document["reservations"]:
            load(reservation_from_json(event_id, item))
        state.finish_load()
        return state, int(document["seq"])
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreCorrupt(f"{path}: snapshot is missing or has a wrong field: {exc!r}.") from exc
