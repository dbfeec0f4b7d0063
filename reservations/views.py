"""Non-API pages (the dashboard, the live stream) and Django's error handlers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from reservations import access, domain, live, services
from reservations.connection import close_connection_after
from reservations.errors import DOMAIN_STATUS, error_response
from reservations.store import get_store

log = logging.getLogger(__name__)


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """The single-page dashboard, with the current summaries for a first paint.

    Asset and API addresses are absolute, so the page saved to disk (`curl -o
    index.html`) still loads its modules from, and talks to, this server.
    """
    try:
        events = [summary.as_dict() for summary in get_store().events()]
    except domain.DomainError:
        events = []  # the page shows the store's own 503 on its first fetch
    context = {
        "api_root": request.build_absolute_uri("/"),
        "static_root": request.build_absolute_uri(static("ticketboss/")),
        "events": events,
        "default_event_id": services.default_event_id(),
        "poll_interval_ms": int(settings.TICKETBOSS_POLL_INTERVAL * 1000),
        "streams_enabled": settings.TICKETBOSS_STREAMS,
        "console_link": bool(request.user.is_authenticated and request.user.is_staff),
        **access.page_context(request),
    }
    return render(request, "dashboard.html", context)


@require_GET
def event_stream(request: HttpRequest, event_id: str) -> HttpResponse:
    """`GET /events/{eventId}/stream`: Server-Sent Events, see CONTRACT.md "Live stream".

    A generator on this server thread under WSGI (capped per worker), a coroutine under
    ASGI: Django would buffer a stream of the other kind whole, which never ends.
    """
    if not settings.TICKETBOSS_STREAMS:
        return error_response(
            "Live streams are switched off; poll GET /events/{eventId} instead.",
            503,
            **{"Retry-After": "60"},
        )
    try:
        if isinstance(request, ASGIRequest):
            messages: Iterator[bytes] | AsyncIterator[bytes] = async_to_sync(
                live.open_async_stream
            )(event_id)
        else:
            messages = live.open_blocking_stream(event_id)
    except live.StreamsFull as exc:
        return error_response(exc.message, 503, **{"Retry-After": "5"})
    except domain.DomainError as exc:
        return error_response(exc.message, DOMAIN_STATUS.get(type(exc), 400))
    response = StreamingHttpResponse(messages, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"  # proxies must not buffer the stream
    # When the stream ends (the server stops) the connection goes too, so a stop
    # need not wait for the client to hang up; EventSource reconnects anyway.
    close_connection_after(request, response)
    return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response("Not found.", 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return error_response("Internal server error; nothing was changed.", 500)
