"""Journal records check themselves: any damaged byte is detected."""

from __future__ import annotations

from reservations.store.jsonfile.records import decode_record, encode_record


def test_round_trip_keeps_the_record() -> None:
    record = {"seq": 7, "op": "reserve", "reservation": {"partnerId": 'Zoë "x" }', "seats": 2}}
    line = encode_record(record)
    assert line.endswith(b"}\n") and line.count(b"\n") == 1
    assert decode_record(line[:-1]) == record


def test_every_single_byte_change_is_detected() -> None:
    line = encode_record({"seq": 1, "op": "cancel", "reservationId": "abc", "at": "t"})[:-1]
    for index in range(len(line)):
        damaged = bytearray(line)
        damaged[index] ^= 0x01
        assert decode_record(bytes(damaged)) is None, f"byte {index} flip went unnoticed"


def test_truncated_lines_are_rejected() -> None:
    line = encode_record({"seq": 1, "op": "event", "name": "n", "totalSeats": 5})[:-1]
    for cut in range(len(line)):
        assert decode_record(line[:cut]) is None
