"""Non-API pages and Django's error handlers."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from reservations.errors import error_response


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response("Not found.", 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return error_response("Internal server error; nothing was changed.", 500)
