"""Live summaries: one change watcher per process, fanned out to Server-Sent Events streams.

Why this shape: a stream must cost next to nothing while it waits and no store call of
its own. One daemon thread per process blocks in `store.wait_for_change` (a stat poll
for the JSON store, LISTEN/NOTIFY for PostgreSQL: any worker's or node's write wakes
it), reads the new summary of each watched event once, encodes the message once, and
offers it to every subscriber. A subscriber keeps only the latest summary, so a slow
client gets merged updates instead of a growing queue.

Streams come in two kinds, picked by the server that runs the view:
- under WSGI (the production server, `ticketboss_site/serve.py`) a stream is a
  generator on one server thread, parked on a `Bell` while it waits; the number of
  such streams per worker is capped (`TICKETBOSS_STREAMS_PER_WORKER`) so they can
  never take every thread away from requests;
- under ASGI a stream is a coroutine on the event loop, woken with
  `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from django.conf import settings

from reservations.bell import Bell
from reservations.domain import DomainError, EventNotFound, StoreUnavailable, is_valid_event_id
from reservations.store import get_store

log = logging.getLogger(__name__)

WATCH_TIMEOUT_S = 5.0
ERROR_BACKOFF_S = 1.0
KEEP_ALIVE = b": keep-alive\n\n"

SummaryDict = dict[str, Any]


class StreamsFull(DomainError):
    """This worker already holds its maximum of open streams."""

    message = (
        "This server holds its maximum of live streams; poll GET /events/{eventId} "
        "until a stream is free."
    )


def newer(candidate: SummaryDict, current: SummaryDict | None) -> bool:
    """True when `candidate` should replace `current` (versions only grow; a rename keeps it)."""
    if current is None:
        return True
    if candidate["version"] != current["version"]:
        return candidate["version"] > current["version"]
    return candidate != current


class Subscriber:
    """One open stream: the latest unsent summary, and how to wake the stream's reader.

    `offer` and `close` run on the watcher (or a stopping) thread, `take` on the
    stream's own thread or loop; a small lock keeps the three consistent.
    """

    __slots__ = ("_latest", "_lock", "_message", "closing", "event_id", "sent", "wake")

    def __init__(self, event_id: str) -> None:
        self.event_id = event_id
        self.wake: Callable[[], None] = _nothing
        self._lock = threading.Lock()
        self._latest: SummaryDict | None = None
        self._message = b""
        self.sent: SummaryDict | None = None
        self.closing = False

    def close(self) -> None:
        """Ask the stream to finish (the server is stopping)."""
        self.closing = True
        self.wake()

    def offer(self, summary: SummaryDict, message: bytes) -> None:
        with self._lock:
            if not (newer(summary, self._latest) and newer(summary, self.sent)):
                return
            self._latest, self._message = summary, message
        self.wake()

    def take(self) -> bytes | None:
        """The encoded message to send now, or None when nothing new arrived (or the
        stream is closing)."""
        if self.closing:
            return None
        with self._lock:
            summary, self._latest = self._latest, None
            if summary is None or not newer(summary, self.sent):
                return None
            self.sent = summary
            return self._message


def _nothing() -> None:
    return None


class ChangeHub:
    """This process's subscribers and the one watcher thread that feeds them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._published: dict[str, SummaryDict] = {}
        self._count = 0
        self._thread: threading.Thread | None = None
        self._closing = False

    def subscribe(self, event_id: str, *, limit: int | None = None) -> Subscriber:
        """A new subscriber, or StreamsFull when `limit` streams are open already."""
        subscriber = Subscriber(event_id)
        with self._lock:
            if limit is not None and self._count >= limit:
                raise StreamsFull()
            subscriber.closing = self._closing
            self._subscribers.setdefault(event_id, set()).add(subscriber)
            self._count += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._watch, name="ticketboss-live-watcher", daemon=True
                )
                self._thread.start()
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            group = self._subscribers.get(subscriber.event_id)
            if group is None or subscriber not in group:
                return
            group.discard(subscriber)
            self._count -= 1
            if not group:
                del self._subscribers[subscriber.event_id]
                self._published.pop(subscriber.event_id, None)

    def close_all(self) -> None:
        """End every stream of this process after its current message, and any opened later.

        Called when the worker stops: a stream never ends by itself, so the server
        would otherwise wait for it and then kill the worker, breaking the response.
        Clients reconnect (EventSource retry) to a worker that is running.
        """
        with self._lock:
            self._closing = True
            subscribers = [item for group in self._subscribers.values() for item in group]
        for subscriber in subscribers:
            subscriber.close()

    def subscriber_count(self) -> int:
        with self._lock:
            return self._count

    # ------------------------------------------------------------------ watcher thread

    def _watch(self) -> None:
        stamp: object = None
        pause = threading.Event()  # never set: an interruptible sleep
        while True:
            with self._lock:
                if not self._subscribers:  # last stream gone: the next subscribe restarts us
                    self._thread = None
                    return
            try:
                stamp = get_store().wait_for_change(since=stamp, timeout=WATCH_TIMEOUT_S)
                published_at = time.monotonic()
                self._publish_changes()
            except Exception as exc:  # the watcher must outlive a store outage
                if not isinstance(exc, StoreUnavailable):  # an outage is the store's to log
                    log.exception("live watcher: store error; retrying in %ss", ERROR_BACKOFF_S)
                stamp = None
                pause.wait(ERROR_BACKOFF_S)
                continue
            # Under a burst of writes, merge what arrives in the next interval into one
            # message: the cost of fan-out stays bounded whatever the write rate.
            pause.wait(max(0.0, published_at + self.push_interval() - time.monotonic()))

    def push_interval(self) -> float:
        """Seconds between pushes: keeps this process under its message budget per second."""
        return max(
            settings.TICKETBOSS_STREAM_MIN_INTERVAL,
            self.subscriber_count() / settings.TICKETBOSS_STREAM_MESSAGES_PER_S,
        )

    def _publish_changes(self) -> None:
        with self._lock:
            watched = list(self._subscribers)
        store = get_store()
        for event_id in watched:
            try:
                summary = store.summary(event_id=event_id).as_dict()
            except EventNotFound:
                continue
            with self._lock:
                if not newer(summary, self._published.get(event_id)):
                    continue
                self._published[event_id] = summary
                subscribers = list(self._subscribers.get(event_id, ()))
            message = sse_message(summary).encode()  # once, for every subscriber
            for subscriber in subscribers:
                subscriber.offer(summary, message)


hub = ChangeHub()


# ---------------------------------------------------------------------- the SSE stream


def sse_message(summary: SummaryDict) -> str:
    """One `summary` event; compact JSON never contains a newline, so one data line."""
    return f"event: summary\ndata: {json.dumps(summary, separators=(',', ':'))}\n\n"


def _first_message(summary: SummaryDict) -> bytes:
    return f"retry: {settings.TICKETBOSS_STREAM_RETRY_MS}\n{sse_message(summary)}".encode()


def _subscribe_with_first(event_id: str, limit: int | None) -> tuple[Subscriber, SummaryDict]:
    """Subscribe, then read the current summary (so no change falls between the two).

    Raises EventNotFound, StreamsFull or another DomainError before anything is
    sent, so the caller can still answer 404/503 as JSON.
    """
    if not is_valid_event_id(event_id):
        raise EventNotFound()
    subscriber = hub.subscribe(event_id, limit=limit)
    try:
        first = get_store().summary(event_id=event_id).as_dict()
    except BaseException:
        hub.unsubscribe(subscriber)
        raise
    subscriber.sent = first
    return subscriber, first


def open_blocking_stream(event_id: str) -> Iterator[bytes]:
    """The stream as a generator for a WSGI server thread (at most
    TICKETBOSS_STREAMS_PER_WORKER of them per process)."""
    subscriber, first = _subscribe_with_first(event_id, settings.TICKETBOSS_STREAMS_PER_WORKER)
    bell = Bell()
    subscriber.wake = bell.ring
    if subscriber.closing:
        bell.ring()
    return _blocking_messages(subscriber, bell, first)


def _blocking_messages(subscriber: Subscriber, bell: Bell, first: SummaryDict) -> Iterator[bytes]:
    keepalive_s = settings.TICKETBOSS_STREAM_KEEPALIVE
    try:
        yield _first_message(first)
        while not subscriber.closing:
            if not bell.wait(keepalive_s):
                yield KEEP_ALIVE  # also how a gone client is noticed: the write fails
                continue
            message = subscriber.take()
            if message is not None:
                yield message
    finally:  # client gone (the server closes the generator) or server stopping
        hub.unsubscribe(subscriber)


async def open_async_stream(event_id: str) -> AsyncIterator[bytes]:
    """The stream as an async generator for an ASGI server (a coroutine per stream)."""
    from asgiref.sync import sync_to_async

    subscriber, first = await sync_to_async(_subscribe_with_first, thread_sensitive=False)(
        event_id, None
    )
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()

    def wake() -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(changed.set)

    subscriber.wake = wake
    if subscriber.closing:
        changed.set()
    return _async_messages(subscriber, changed, first)


async def _async_messages(
    subscriber: Subscriber, changed: asyncio.Event, first: SummaryDict
) -> AsyncIterator[bytes]:
    keepalive_s = settings.TICKETBOSS_STREAM_KEEPALIVE
    try:
        yield _first_message(first)
        while not subscriber.closing:
            try:
                async with asyncio.timeout(keepalive_s):
                    await changed.wait()
            except TimeoutError:
                yield KEEP_ALIVE
                continue
            changed.clear()
            message = subscriber.take()
            if message is not None:
                yield message
    finally:  # client gone (the ASGI handler cancels us) or server stopping
        hub.unsubscribe(subscriber)
