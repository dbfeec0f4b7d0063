"""Every error answer on an API path is JSON {"error": "<one sentence>"}.

Domain errors are mapped to a status here, once; DRF's own exceptions keep
their status with a sentence of ours.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from reservations import domain, organizing, partners

log = logging.getLogger(__name__)

RETRY_AFTER_UNAVAILABLE_S = 1

DOMAIN_STATUS: dict[type[domain.DomainError], int] = {
    domain.InvalidRequest: status.HTTP_400_BAD_REQUEST,
    domain.EventNotFound: status.HTTP_404_NOT_FOUND,
    domain.ReservationNotFound: status.HTTP_404_NOT_FOUND,
    domain.NotEnoughSeats: status.HTTP_409_CONFLICT,
    domain.ResizeBelowReserved: status.HTTP_409_CONFLICT,
    domain.HoldExpired: status.HTTP_409_CONFLICT,
    domain.IdempotencyConflict: status.HTTP_422_UNPROCESSABLE_ENTITY,
    domain.StoreUnavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
    domain.StoreCorrupt: status.HTTP_503_SERVICE_UNAVAILABLE,
    # organizers (CONTRACT.md "Events and partners"); UnknownPartner is an InvalidRequest: 400
    organizing.SalesNotOpen: status.HTTP_409_CONFLICT,
    organizing.AllocationExhausted: status.HTTP_409_CONFLICT,
    organizing.EventExists: status.HTTP_409_CONFLICT,
    partners.PartnerExists: status.HTTP_409_CONFLICT,
    partners.PartnerNotFound: status.HTTP_404_NOT_FOUND,
    partners.KeyNotFound: status.HTTP_404_NOT_FOUND,
}

_DRF_MESSAGES: dict[type[exceptions.APIException], str] = {
    exceptions.NotFound: "Not found.",
    exceptions.UnsupportedMediaType: "Send the body as JSON with Content-Type: application/json.",
    exceptions.NotAcceptable: "This endpoint answers with application/json.",
}


def error_body(message: str, details: dict[str, list[str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": message}
    if details:
        body["details"] = details
    return body


def error_response(message: str, status_code: int, **extra: Any) -> JsonResponse:
    """A plain Django JSON error (for middleware and Django's own handlers)."""
    response = JsonResponse(error_body(message, extra.pop("details", None)), status=status_code)
    for header, value in extra.items():
        response[header] = value
    return response


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, domain.DomainError):
        code = _status_of(exc)
        details = exc.details if isinstance(exc, domain.InvalidRequest) else None
        response = Response(error_body(exc.message, details), status=code)
        if code == status.HTTP_503_SERVICE_UNAVAILABLE:
            if isinstance(exc, domain.StoreCorrupt):
                log.critical("store corrupt while serving: %s", exc.message)
                response.data = error_body(domain.StoreUnavailable.message)
            response["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE_S)
        return response
    if isinstance(exc, exceptions.ValidationError):
        details = _flatten_details(exc.detail)
        first = next(iter(details.values()), ["Invalid request."])[0]
        return Response(error_body(first, details), status=exc.status_code)
    if isinstance(exc, exceptions.APIException):
        message = _DRF_MESSAGES.get(type(exc)) or _sentence(exc.detail)
        response = Response(error_body(message), status=exc.status_code)
        wait = getattr(exc, "wait", None)
        if wait is not None:
            response["Retry-After"] = str(max(1, int(wait + 0.999)))
        auth_header = getattr(exc, "auth_header", None)  # set by DRF on a 401
        if auth_header:
            response["WWW-Authenticate"] = auth_header
        return response
    return None  # anything else is a bug: ApiErrorMiddleware answers 500 JSON


def _status_of(exc: domain.DomainError) -> int:
    """The status of the error's class, or of the nearest base class listed (an
    UnknownPartner is an InvalidRequest); 400 for anything unlisted."""
    for kind in type(exc).__mro__:
        code = DOMAIN_STATUS.get(kind)
        if code is not None:
            return code
    return status.HTTP_400_BAD_REQUEST


def _flatten_details(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            str(field): [str(item) for item in (value if isinstance(value, list) else [value])]
            for field, value in detail.items()
        }
    if isinstance(detail, list):
        return {"non_field_errors": [str(item) for item in detail]}
    return {"non_field_errors": [str(detail)]}


def _sentence(detail: Any) -> str:
    text = str(detail)
    return text if text.endswith((".", "!", "?")) else text + "."
