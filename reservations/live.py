"""Live summaries: one change watcher per process, fanned out to Server-Sent Events streams.

Why this shape: a stream must cost next to nothing while it waits, so each one is a
coroutine on the ASGI event loop (no thread, no store call of its own). One daemon
thread per process blocks in `store.wait_for_change` (a stat poll for the JSON store,
LISTEN/NOTIFY for PostgreSQL: any worker's or node's write wakes it), reads the new
summary of each watched event once, and hands it to every subscriber's loop with one
`call_soon_threadsafe` per loop. A subscriber keeps only the latest summary, so a slow
client gets merged updates instead of a growing queue.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

from reservations.domain import EventNotFound, is_valid_event_id
from reservations.store import get_store

log = logging.getLogger(__name__)

WATCH_TIMEOUT_S = 5.0
ERROR_BACKOFF_S = 1.0
KEEP_ALIVE = b": keep-alive\n\n"
DELIVERY_BATCH = 50

SummaryDict = dict[str, Any]


def newer(candidate: SummaryDict, current: SummaryDict | None) -> bool:
    """True when `candidate` should replace `current` (versions only grow; a rename keeps it)."""
    if current is None:
        return True
    if candidate["version"] != current["version"]:
        return candidate["version"] > current["version"]
    return candidate != current


class Subscriber:
    """One open stream: the latest unsent summary and a flag to wake its coroutine.

    Touched only on its own event loop (the watcher goes through call_soon_threadsafe).
    """

    __slots__ = ("changed", "closing", "event_id", "latest", "loop", "message", "sent")

    def __init__(self, event_id: str, loop: asyncio.AbstractEventLoop) -> None:
        self.event_id = event_id
        self.loop = loop
        self.changed = asyncio.Event()
        self.latest: SummaryDict | None = None
        self.message = b""
        self.sent: SummaryDict | None = None
        self.closing = False

    def close(self) -> None:
        """Ask the stream to finish (the server is stopping)."""
        self.closing = True
        self.changed.set()

    def offer(self, summary: SummaryDict, message: bytes) -> None:
        if newer(summary, self.latest) and newer(summary, self.sent):
            self.latest = summary
            self.message = message
            self.changed.set()

    def take(self) -> bytes | None:
        """The encoded message to send now, or None when nothing new arrived."""
        self.changed.clear()
        summary, self.latest = self.latest, None
        if summary is None or not newer(summary, self.sent):
            return None
        self.sent = summary
        return self.message


class ChangeHub:
    """This process's subscribers and the one watcher thread that feeds them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._published: dict[str, SummaryDict] = {}
        self._thread: threading.Thread | None = None
        self._closing = False

    def subscribe(self, event_id: str) -> Subscriber:
        subscriber = Subscriber(event_id, asyncio.get_running_loop())
        subscriber.closing = self._closing
        with self._lock:
            self._subscribers.setdefault(event_id, set()).add(subscriber)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._watch, name="ticketboss-live-watcher", daemon=True
                )
                self._thread.start()
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            group = self._subscribers.get(subscriber.event_id)
            if group is None:
                return
            group.discard(subscriber)
            if not group:
                del self._subscribers[subscriber.event_id]
                self._published.pop(subscriber.event_id, None)

    def close_all(self) -> None:
        """End every stream of this process after its current message, and any opened later.

        Called when the worker stops: a stream never ends by itself, so the server
        would otherwise wait for it until its graceful timeout and then kill the
        worker. Clients reconnect (EventSource retry) to a worker that is running.
        """
        with self._lock:
            self._closing = True
            subscribers = [item for group in self._subscribers.values() for item in group]
        for subscriber in subscribers:
            if not subscriber.loop.is_closed():
                subscriber.loop.call_soon_threadsafe(subscriber.close)

    def subscriber_count(self) -> int:
        with self._lock:
            return sum(len(group) for group in self._subscribers.values())

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
            except Exception:  # the watcher must outlive a store outage
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
                by_loop: dict[asyncio.AbstractEventLoop, list[Subscriber]] = {}
                for subscriber in self._subscribers.get(event_id, ()):
                    by_loop.setdefault(subscriber.loop, []).append(subscriber)
            message = sse_message(summary).encode()  # once, for every subscriber
            for loop, subscribers in by_loop.items():
                if not loop.is_closed():
                    loop.call_soon_threadsafe(_deliver, subscribers, summary, message)


def _deliver(subscribers: list[Subscriber], summary: SummaryDict, message: bytes) -> None:
    """Wake DELIVERY_BATCH streams per loop turn: requests' I/O runs between batches, so a
    fan-out to hundreds of streams never holds up reservations for long."""
    for subscriber in subscribers[:DELIVERY_BATCH]:
        subscriber.offer(summary, message)
    if len(subscribers) > DELIVERY_BATCH:
        asyncio.get_running_loop().call_soon(
            _deliver, subscribers[DELIVERY_BATCH:], summary, message
        )


hub = ChangeHub()


# ---------------------------------------------------------------------- the SSE stream


def sse_message(summary: SummaryDict) -> str:
    """One `summary` event; compact JSON never contains a newline, so one data line."""
    return f"event: summary\ndata: {json.dumps(summary, separators=(',', ':'))}\n\n"


async def current_summary(event_id: str) -> SummaryDict:
    """The event's summary, read in a worker thread (the store may block on a lock)."""
    if not is_valid_event_id(event_id):
        raise EventNotFound()
    summary = await sync_to_async(get_store().summary, thread_sensitive=False)(event_id=event_id)
    return summary.as_dict()


async def open_stream(event_id: str) -> AsyncIterator[bytes]:
    """Subscribe, then read the current summary (so no change falls between the two).

    Raises EventNotFound (or another DomainError) before anything is sent, so the
    caller can still answer 404/503 as JSON.
    """
    subscriber = hub.subscribe(event_id)
    try:
        first = await current_summary(event_id)
    except BaseException:
        hub.unsubscribe(subscriber)
        raise
    subscriber.sent = first
    return _messages(subscriber, first)


async def _messages(subscriber: Subscriber, first: SummaryDict) -> AsyncIterator[bytes]:
    keepalive_s = settings.TICKETBOSS_STREAM_KEEPALIVE
    try:
        yield f"retry: {settings.TICKETBOSS_STREAM_RETRY_MS}\n{sse_message(first)}".encode()
        while not subscriber.closing:
            try:
                async with asyncio.timeout(keepalive_s):
                    await subscriber.changed.wait()
            except TimeoutError:
                yield KEEP_ALIVE
                continue
            if subscriber.closing:
                break
            message = subscriber.take()
            if message is not None:
                yield message
    finally:  # client gone (the ASGI handler cancels us) or server stopping
        hub.unsubscribe(subscriber)
