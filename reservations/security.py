"""Security headers on every response, including errors made by other middleware.

Django's SecurityMiddleware and XFrameOptionsMiddleware set these headers only on
responses that pass back through them; a JSON error built by an outer middleware
(ApiErrorMiddleware) would go out bare. This one sits outermost and fills in
whatever is still missing, from the same settings. The Content-Security-Policy
itself comes from django-csp (settings.CONTENT_SECURITY_POLICY), through the subclass
below that builds the site-wide header once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from inspect import iscoroutinefunction

from asgiref.sync import markcoroutinefunction
from csp.constants import HEADER as CSP_HEADER
from csp.constants import HEADER_REPORT_ONLY as CSP_HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.functional import cached_property


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


_PER_RESPONSE_CSP = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
    "_csp_exempt",
    "_csp_exempt_ro",
)


class CachedPolicyCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, with the site-wide policy built once per process.

    Why: django-csp rebuilds the same header from settings on every response, which
    profiling showed at about 5% of a reservation's CPU. A response that asks for
    its own policy (the docs page's `_csp_update`, a nonce, an exemption) still goes
    through django-csp's own code.
    """

    @cached_property
    def _site_policy(self) -> tuple[str, str]:
        return build_policy(), build_policy(report_only=True)

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if getattr(request, "_csp_nonce", None) is not None or any(
            hasattr(response, name) for name in _PER_RESPONSE_CSP
        ):
            return super().process_response(request, response)
        if settings.DEBUG and response.status_code in (500, 404):
            return response
        policy, report_only = self._site_policy
        if (
            policy
            and CSP_HEADER not in response
            and not _excluded(request, "CONTENT_SECURITY_POLICY")
        ):
            response[CSP_HEADER] = policy
        if (
            report_only
            and CSP_HEADER_REPORT_ONLY not in response
            and not _excluded(request, "CONTENT_SECURITY_POLICY_REPORT_ONLY")
        ):
            response[CSP_HEADER_REPORT_ONLY] = report_only
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # as django-csp
        return response


def _excluded(request: HttpRequest, setting: str) -> bool:
    prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
    return request.path_info.startswith(tuple(prefixes))
