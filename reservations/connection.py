"""Asking the server to close a connection after this response (`Connection: close`).

Needed where the next request on a kept-alive connection would otherwise fail: a body
refused unread (granian then drops the connection without saying so, and a client
that reuses it gets "connection reset"), or a stream that ends only when the server
stops.
"""

from __future__ import annotations

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponseBase


def close_connection_after(request: HttpRequest, response: HttpResponseBase) -> None:
    """Add `Connection: close` where the server passes it on: granian and gunicorn do;
    `manage.py runserver` (wsgiref) refuses hop-by-hop headers from the app, and an
    ASGI server manages the connection itself."""
    if isinstance(request, ASGIRequest) or _is_wsgiref(request):
        return
    response["Connection"] = "close"


def _is_wsgiref(request: HttpRequest) -> bool:
    return request.META.get("SERVER_SOFTWARE", "").startswith("WSGIServer")
