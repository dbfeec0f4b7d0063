"""HTTP-level guards: body size limit and JSON-only error pages on API paths, and
per-caller answers kept out of shared caches."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control, patch_vary_headers

from reservations.connection import close_connection_after
from reservations.errors import error_response

log = logging.getLogger(__name__)

API_PREFIXES = ("/reservations", "/events", "/api/", "/partners", "/keys/")

# The reads whose answer is the same for every caller (CONTRACT.md "Access": anyone
# reads summaries, event lists, live streams and the API docs), by URL name.
PUBLIC_READS = frozenset({"reservations", "events", "event", "event-stream", "schema", "docs"})
# What makes an answer differ: a partner's key (either header) or a signed-in session.
CALLER_HEADERS = ("Authorization", "X-API-Key", "Cookie")
_CALLER_VARY = ", ".join(CALLER_HEADERS)


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES)


class ApiErrorMiddleware:
    """No HTML error page and no stack trace ever reaches an API client.

    Outermost middleware: turns any non-JSON 4xx/5xx on an API path (Django's
    404/405/500 pages, DEBUG pages, CSRF failures) and any uncaught exception
    into {"error": ...}.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and is_api_path(request.path)
            and not response.get("Content-Type", "").startswith("application/json")
            and not getattr(response, "streaming", False)
        ):
            return error_response(_reason(response.status_code), response.status_code)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            return _too_big()
        log.exception("unhandled error on %s %s", request.method, request.path)
        if is_api_path(request.path):
            return error_response("Internal server error; nothing was changed.", 500)
        return None


class CallerCachingMiddleware:
    """Answers that may depend on who asks never sit in a shared cache.

    A proxy or CDN that kept one partner's reservation, an organizer's page or list,
    or a freshly issued key could hand it to the next caller. Rather than trusting
    every view to remember, everything except the public reads (PUBLIC_READS, on GET
    and HEAD) and static files gets `Cache-Control: private` (a `no-store` a view set
    is kept) and `Vary` on the caller's credentials. Public reads keep their headers,
    so caches may still serve summaries. Cost: a name lookup and two headers, about 7 µs.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.static_prefix = settings.STATIC_URL or "/static/"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not self._is_public_read(request):
            _mark_private(response)
        return response

    def _is_public_read(self, request: HttpRequest) -> bool:
        if request.method not in ("GET", "HEAD"):
            return False
        match = request.resolver_match  # None when no route matched (or whitenoise answered)
        if match is not None:
            return match.url_name in PUBLIC_READS
        return request.path.startswith(self.static_prefix)


def _mark_private(response: HttpResponse) -> None:
    cache_control = response.get("Cache-Control")
    if cache_control is None:
        response["Cache-Control"] = "private"
    elif "no-store" not in cache_control and "private" not in cache_control:
        patch_cache_control(response, private=True)  # drops a `public`
    if response.has_header("Vary"):
        patch_vary_headers(response, CALLER_HEADERS)  # merged with what is there
    else:
        response["Vary"] = _CALLER_VARY  # the common case, without parsing


class BodySizeLimitMiddleware:
    """413 for bodies over MAX_BODY_BYTES, declared or chunked, before any parsing."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and is_api_path(request.path):
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return error_response("Content-Length is not a number.", 400)
            if declared > settings.MAX_BODY_BYTES:
                return _too_big(request)
            try:
                body = request.body  # read once, capped; DRF re-reads the cached copy
            except RequestDataTooBig:
                return _too_big(request)
            if len(body) > settings.MAX_BODY_BYTES:
                return _too_big(request)
        return self.get_response(request)


def _too_big(request: HttpRequest) -> HttpResponse:
    """The rest of the body is left unread, so the connection cannot carry another
    request: say so, or a keep-alive client's next request meets a dropped socket."""
    response = error_response(
        f"The request body is larger than {settings.MAX_BODY_BYTES // 1024} KiB.", 413
    )
    close_connection_after(request, response)
    return response


def _reason(status_code: int) -> str:
    try:
        phrase = HTTPStatus(status_code).phrase
    except ValueError:
        phrase = "Error"
    messages = {
        404: "Not found.",
        405: "Method not allowed.",
        500: "Internal server error; nothing was changed.",
    }
    return messages.get(status_code, f"{phrase}.")
