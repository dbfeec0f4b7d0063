"""`GET /events/{eventId}/stream` on a real server with several worker processes."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
import requests

from tests.support.server import ServerProcess

pytestmark = pytest.mark.system

EVENT = "node-meetup-2025"


@dataclass
class SseMessage:
    event: str | None = None
    data: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        assert self.event == "summary", self
        return json.loads(self.data or "")


class SseReader:
    """Reads one Server-Sent Events message at a time; a silent server fails the read."""

    def __init__(self, response: requests.Response) -> None:
        self.response = response
        self._lines = response.iter_lines(decode_unicode=True)

    def next_message(self) -> SseMessage:
        message = SseMessage()
        for line in self._lines:
            if line == "":
                return message
            if line.startswith(":"):
                message.comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "retry":
                message.retry = int(value)
            elif name in ("event", "data"):
                setattr(message, name, value)
        raise AssertionError("stream ended")

    def next_summary(self) -> dict:
        while True:
            message = self.next_message()
            if message.event is not None:
                return message.summary()


@contextmanager
def open_stream(server: ServerProcess, event_id: str = EVENT) -> Iterator[SseReader]:
    # The read timeout bounds every wait: a missing message fails instead of hanging.
    with requests.get(server.url(f"/events/{event_id}/stream"), stream=True, timeout=(5, 5)) as r:
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"].startswith("text/event-stream")
        assert "no-cache" in r.headers["Cache-Control"]
        yield SseReader(r)


def reserve(server: ServerProcess, seats: int = 1) -> None:
    response = requests.post(
        server.url("/reservations"), json={"partnerId": "stream-test", "seats": seats}, timeout=10
    )
    assert response.status_code == 201, response.text


@pytest.fixture
def stream_server(server_factory) -> ServerProcess:
    return server_factory(env={"TICKETBOSS_STREAM_KEEPALIVE": "0.5"}, workers=2)


def test_first_message_is_the_current_summary_with_a_retry(stream_server) -> None:
    reserve(stream_server, 2)
    with open_stream(stream_server) as stream:
        first = stream.next_message()
        assert first.retry is not None and first.retry > 0
        assert (
            first.summary() == requests.get(stream_server.url(f"/events/{EVENT}"), timeout=5).json()
        )
        assert first.summary()["availableSeats"] == 498


def test_every_change_reaches_streams_on_every_worker(stream_server) -> None:
    """Streams spread over both workers; reservations too. Each sees the final state."""
    readers = [open_stream(stream_server) for _ in range(6)]
    streams = [reader.__enter__() for reader in readers]
    try:
        for stream in streams:
            assert stream.next_summary()["version"] == 0
        for _ in range(5):
            reserve(stream_server)
        for stream in streams:
            versions = [stream.next_summary()["version"]]
            while versions[-1] < 5:  # several changes may be merged into one message
                versions.append(stream.next_summary()["version"])
            assert versions == sorted(versions) and versions[-1] == 5
    finally:
        for reader in readers:
            reader.__exit__(None, None, None)


def test_a_write_by_another_process_reaches_the_stream_within_a_second(stream_server) -> None:
    from reservations.store import build_store

    with open_stream(stream_server) as stream:
        assert stream.next_summary()["availableSeats"] == 500
        store = build_store("json", stream_server.data_dir)  # a process that is no worker
        try:
            store.reserve(event_id=EVENT, partner_id="side-door", seats=4)
            written = time.monotonic()
            summary = stream.next_summary()
            assert time.monotonic() - written < 1.0
        finally:
            store.close()
    assert summary["availableSeats"] == 496 and summary["reservationCount"] == 1


def test_an_idle_stream_gets_keep_alive_comments(stream_server) -> None:
    with open_stream(stream_server) as stream:
        stream.next_message()
        started = time.monotonic()
        message = stream.next_message()
        assert message.comments == ["keep-alive"] and message.event is None
        assert time.monotonic() - started < 2.0


def test_unknown_event_is_a_json_404(stream_server) -> None:
    response = requests.get(stream_server.url("/events/no-such-event/stream"), timeout=5)
    assert response.status_code == 404
    assert response.json() == {"error": "Event not found"}


def test_open_streams_do_not_starve_reservations(stream_server) -> None:
    readers = [open_stream(stream_server) for _ in range(100)]
    try:
        for reader in readers:
            reader.__enter__().next_message()
        started = time.monotonic()
        for _ in range(10):
            reserve(stream_server)
        assert time.monotonic() - started < 5.0
    finally:
        for reader in readers:
            reader.__exit__(None, None, None)


def test_streams_switched_off_answer_503_json(server_factory) -> None:
    server = server_factory(env={"TICKETBOSS_STREAMS": "off"}, workers=1)
    response = requests.get(server.url(f"/events/{EVENT}/stream"), timeout=5)
    assert response.status_code == 503
    assert "poll" in response.json()["error"]


@pytest.mark.parametrize("workers", [1, 2])
def test_stopping_the_server_ends_open_streams_cleanly(server_factory, workers) -> None:
    """A stop or reload must not wait for streams (they never end by themselves) and then
    kill the worker: each stream gets a clean end, and clients reconnect elsewhere."""
    server = server_factory(workers=workers)
    readers = [open_stream(server) for _ in range(4)]
    streams = [reader.__enter__() for reader in readers]
    try:
        for stream in streams:
            stream.next_summary()
        assert server.process is not None
        os.killpg(server.process.pid, signal.SIGTERM)
        for stream in streams:
            # A clean end of the response; a reset or the 5 s read timeout fails differently.
            with pytest.raises(AssertionError, match="stream ended"):
                stream.next_message()
        assert server.wait_exit(timeout=15) == 0
    finally:
        for reader in readers:
            reader.__exit__(None, None, None)
