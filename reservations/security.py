"""Security headers on every response, including errors made by other middleware.

Django's SecurityMiddleware and XFrameOptionsMiddleware set these headers only on
responses that pass back through them; a JSON error built by an outer middleware
(ApiErrorMiddleware) would go out bare. This one sits outermost and fills in
whatever is still missing, from the same settings. The Content-Security-Policy
itself comes from django-csp (settings.CONTENT_SECURITY_POLICY).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from inspect import iscoroutinefunction

from asgiref.sync import markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase


def _fill_in(response: HttpResponseBase) -> HttpResponseBase:
    headers = response.headers
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.setdefault("X-Content-Type-Options", "nosniff")
    if settings.SECURE_REFERRER_POLICY:
        headers.setdefault("Referrer-Policy", settings.SECURE_REFERRER_POLICY)
    headers.setdefault("X-Frame-Options", settings.X_FRAME_OPTIONS)
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    return response


class SecurityHeadersMiddleware:
    """Works in sync and async stacks alike, so it never forces a thread hop."""

    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponseBase]
        | Callable[[HttpRequest], Awaitable[HttpResponseBase]],
    ) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        if self._async:
            return self._acall(request)
        return _fill_in(self.get_response(request))  # type: ignore[arg-type]

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        return _fill_in(await self.get_response(request))  # type: ignore[misc]
