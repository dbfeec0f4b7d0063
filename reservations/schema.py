"""The OpenAPI description of the API (drf-spectacular), kept apart from the views.

api.py decorates each endpoint with one of the `extend_schema` objects below, so
a view stays one screen long and this file says, per endpoint, every body,
answer, error status and header a partner's code can meet. The schema is as
strict as the server: the fuzzer (tests/system/test_fuzz.py) checks that
whatever it accepts the server accepts, and the other way round.
"""

from __future__ import annotations

import hashlib
import re
from base64 import b64encode
from pathlib import Path
from typing import Any

import drf_spectacular
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.request import Request
from rest_framework.response import Response

from reservations import domain, schema_security, services
from reservations.serializers import (
    ErrorSerializer,
    HoldRequestSerializer,
    HoldResponseSerializer,
    ReservationSerializer,
    ReserveRequestSerializer,
    ReserveResponseSerializer,
    SummarySerializer,
)

_NOT_CONTROL = r"\x00-\x1f\x7f-\x9f"
PARTNER_ID_PATTERN = rf"^[^{_NOT_CONTROL}]*[^\s{_NOT_CONTROL}][^{_NOT_CONTROL}]*$"
EVENT_ID_PATTERN = domain.EVENT_ID_PATTERN
UUID_PATTERN = domain.RESERVATION_ID_PATTERN  # the server's own rule, not a copy
EXAMPLE_ID = "6e43b66b-5f0e-4a57-9a2c-3d1f0c2b7a10"


# --------------------------------------------------------------------------- field types


class PartnerIdFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "reservations.serializers.PartnerIdField"

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        return {
            "type": "string",
            "minLength": 1,
            "maxLength": domain.PARTNER_ID_MAX_LENGTH,
            "pattern": PARTNER_ID_PATTERN,
            "description": "Who books: 1-100 characters after trimming, no control characters.",
            "example": "abc-corp",
        }


class SeatsFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "reservations.serializers.SeatsField"

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        return {
            "type": "integer",
            "minimum": domain.MIN_SEATS,
            "maximum": domain.MAX_SEATS,
            "description": "A JSON integer from 1 to 10 (not a string, float, boolean or null).",
            "example": 3,
        }


class HoldSecondsFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "reservations.serializers.HoldSecondsField"

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        from django.conf import settings

        return {
            "type": "integer",
            "minimum": settings.TICKETBOSS_HOLD_MIN_SECONDS,
            "maximum": domain.MAX_HOLD_SECONDS,
            "description": "Seconds the seats are held: a JSON integer from "
            "TICKETBOSS_HOLD_MIN_SECONDS (on this server "
            f"{settings.TICKETBOSS_HOLD_MIN_SECONDS}) to {domain.MAX_HOLD_SECONDS}; "
            "default the event's holdSeconds.",
            "example": 300,
        }


# `GET /reservations` is a ViewSet "list" action that answers one summary, not a list.
extend_schema_serializer(many=False)(SummarySerializer)


def finish_schema(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """Postprocessing hook: what DRF views cannot say about themselves.

    Request bodies refuse unknown fields (as the server does), answers name their
    headers, and the live stream (a plain async Django view) is described too.
    """
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for code, response in operation.get("responses", {}).items():
                headers = _RESPONSE_HEADERS.get(code)
                if headers:
                    response.setdefault("headers", {}).update(headers)
    result.setdefault("paths", {})["/events/{event_id}/stream"] = {"get": _STREAM_OPERATION}
    schema_security.add_security(result)
    from reservations import organizer_schema  # imports this module

    organizer_schema.restrict_security(result)
    return result


_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
_RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "201": {
        "Idempotent-Replayed": {
            "description": "`true` when this is the stored first answer to an earlier "
            "request with the same Idempotency-Key.",
            "schema": {"type": "string", "enum": ["true"]},
        }
    },
    "429": _RETRY_AFTER,
    "503": _RETRY_AFTER,
}
_ERROR_JSON = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_STREAM_OPERATION: dict[str, Any] = {
    "operationId": "events_stream",
    "summary": "Live summary of an event (Server-Sent Events)",
    "description": (
        "Sends `event: summary` with the current summary at once, then one after every "
        "change (changes may be merged), and `: keep-alive` at least every 15 s. The "
        "response never ends by itself; EventSource reconnects on its own."
    ),
    "tags": ["events"],
    "parameters": [
        {
            "in": "path",
            "name": "event_id",
            "required": True,
            "schema": {"type": "string", "pattern": EVENT_ID_PATTERN},
        }
    ],
    "responses": {
        "200": {
            "description": "An endless text/event-stream.",
            "content": {
                "text/event-stream": {
                    "schema": {"type": "string"},
                    "example": 'event: summary\ndata: {"eventId": "node-meetup-2025", ...}\n\n',
                }
            },
        },
        "404": {"description": "No such event.", "content": _ERROR_JSON},
        "503": {
            "description": "Live streams are switched off; poll the summary instead.",
            "content": _ERROR_JSON,
            "headers": _RETRY_AFTER,
        },
    },
}


# --------------------------------------------------------------------------- errors


def _error(description: str, message: str) -> OpenApiResponse:
    return OpenApiResponse(
        ErrorSerializer,
        description=description,
        examples=[OpenApiExample(description, value={"error": message})],
    )


BAD_REQUEST = OpenApiResponse(
    ErrorSerializer,
    description="Invalid input; `details` names each bad field. Nothing was changed.",
    examples=[
        OpenApiExample(
            "seats as a string",
            value={
                "error": "seats must be a whole number from 1 to 10.",
                "details": {"seats": ["seats must be a whole number from 1 to 10."]},
            },
        )
    ],
)
NOT_FOUND_RESERVATION = _error("No such reservation", domain.ReservationNotFound.message)
NOT_FOUND_EVENT = _error("No such event", domain.EventNotFound.message)
# The default event is a setting (TICKETBOSS_DEFAULT_EVENT), read once when the server starts.
DEFAULT_EVENT_ID = services.default_event_id()
NOT_FOUND_DEFAULT_EVENT = _error(
    "The default event is not in the store",
    services.missing_default_event(DEFAULT_EVENT_ID).message,
)
_DEFAULT_EVENT_TEXT = (
    f"Acts on the default event: `{DEFAULT_EVENT_ID}` on this server (setting "
    "`TICKETBOSS_DEFAULT_EVENT`, default `node-meetup-2025`; created on first start when "
    "the store is empty). When the store has no such event, 404 names it and says how to "
    "create it."
)
CONFLICT = _error("Not enough seats", domain.NotEnoughSeats.message)
TOO_LARGE = _error("Body over 64 KiB", "The request body is larger than 64 KiB.")
UNSUPPORTED = _error("Body not JSON", "Send the body as JSON with Content-Type: application/json.")
IDEMPOTENCY_CONFLICT = _error(
    "Idempotency-Key reused with another body", domain.IdempotencyConflict.message
)
THROTTLED = _error(
    "Too many requests (see Retry-After)",
    "Request was throttled. Expected available in 7 seconds.",
)
UNAVAILABLE = _error(
    "Storage cannot take the change now (full disk, database down, busy event); "
    "nothing was changed. Retry after Retry-After seconds.",
    domain.StoreUnavailable.message,
)
NOT_ACCEPTABLE = _error("Accept names no JSON", "This endpoint answers with application/json.")

_COMMON_ERRORS = {406: NOT_ACCEPTABLE, 429: THROTTLED}
_WRITE_ERRORS = {413: TOO_LARGE, 503: UNAVAILABLE}


# --------------------------------------------------------------------------- parameters

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        "Optional, 1 to 200 printable ASCII characters. A retry with the same key and body "
        "(for the same event) gets the first answer again, with header "
        "`Idempotent-Replayed: true`, and takes seats once; the same key with another body "
        "gets 422."
    ),
    pattern=r"^[\x20-\x7e]{1,200}$",
    examples=[OpenApiExample("order number", value="order-42")],
)
RESERVATION_ID = OpenApiParameter(
    "reservation_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description=(
        "The reservationId returned by a reservation, exactly as returned: a UUID in "
        "lowercase with dashes. Other spellings of the same UUID (uppercase, braces, "
        "`urn:uuid:`, no dashes) answer 404."
    ),
    pattern=UUID_PATTERN,
    examples=[OpenApiExample("a reservation", value=EXAMPLE_ID)],
)
EVENT_ID = OpenApiParameter(
    "event_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The event's id, a slug.",
    pattern=EVENT_ID_PATTERN,
    examples=[OpenApiExample("the default event", value=DEFAULT_EVENT_ID)],
)


# --------------------------------------------------------------------------- endpoints

_SUMMARY_EXAMPLE = OpenApiExample(
    "summary",
    value={
        "eventId": domain.DEFAULT_EVENT_ID,
        "name": domain.DEFAULT_EVENT_NAME,
        "totalSeats": 500,
        "availableSeats": 497,
        "reservationCount": 1,
        "reservedSeats": 3,
        "heldSeats": 2,
        "holdCount": 1,
        "holdSeconds": 600,
        "salesOpenAt": "2026-12-01T09:00:00.000Z",
        "salesCloseAt": None,
        "version": 3,
    },
    response_only=True,
)
_RESERVE_EXAMPLES = [
    OpenApiExample("three seats", value={"partnerId": "abc-corp", "seats": 3}, request_only=True),
    OpenApiExample(
        "confirmed",
        value={"reservationId": EXAMPLE_ID, "seats": 3, "status": "confirmed"},
        response_only=True,
    ),
]


def _reserve(summary: str, *, event_errors: dict[int, OpenApiResponse], note: str = "") -> Any:
    return extend_schema(
        summary=summary,
        description=(
            "Hold seats for a partner. 201 means the reservation is on disk (fsync'd) or "
            "committed: a crash after the answer loses nothing. A refused request changes "
            "nothing." + (f"\n\n{note}" if note else "")
        ),
        request=ReserveRequestSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: ReserveResponseSerializer,
            400: BAD_REQUEST,
            **event_errors,
            409: CONFLICT,
            415: UNSUPPORTED,
            422: IDEMPOTENCY_CONFLICT,
            **_WRITE_ERRORS,
            **_COMMON_ERRORS,
        },
        examples=_RESERVE_EXAMPLES,
        tags=["reservations"],
    )


RESERVE = _reserve(
    "Reserve seats in the default event",
    event_errors={404: NOT_FOUND_DEFAULT_EVENT},
    note=_DEFAULT_EVENT_TEXT,
)
RESERVE_IN_EVENT = _reserve("Reserve seats in an event", event_errors={404: NOT_FOUND_EVENT})
DEFAULT_SUMMARY = extend_schema(
    summary="Summary of the default event",
    description=_DEFAULT_EVENT_TEXT,
    responses={200: SummarySerializer, 404: NOT_FOUND_DEFAULT_EVENT, **_COMMON_ERRORS},
    examples=[_SUMMARY_EXAMPLE],
    tags=["reservations"],
)
RESERVATION = extend_schema(
    summary="One reservation",
    parameters=[RESERVATION_ID],
    responses={200: ReservationSerializer, 404: NOT_FOUND_RESERVATION, **_COMMON_ERRORS},
    examples=[
        OpenApiExample(
            "cancelled",
            value={
                "reservationId": EXAMPLE_ID,
                "eventId": domain.DEFAULT_EVENT_ID,
                "partnerId": "abc-corp",
                "seats": 3,
                "status": "cancelled",
                "createdAt": "2025-06-01T09:00:00.000000Z",
                "cancelledAt": "2025-06-01T09:05:00.000000Z",
            },
            response_only=True,
        )
    ],
    tags=["reservations"],
)
CANCEL = extend_schema(
    summary="Cancel a reservation, or release a hold",
    description=(
        "204 means the cancellation is on disk; the seats are available again. On a hold "
        "this releases it; on an expired hold it is 404."
    ),
    parameters=[RESERVATION_ID],
    request=None,
    responses={
        204: OpenApiResponse(description="Cancelled; empty body."),
        404: NOT_FOUND_RESERVATION,
        **_WRITE_ERRORS,
        **_COMMON_ERRORS,
    },
    tags=["reservations"],
)
HOLD_EXPIRED = _error("The hold expired before the confirm", domain.HoldExpired.message)
_HOLD_TEXT = (
    "Hold seats while a buyer pays: they are taken until `expiresAt` (`holdSeconds` from "
    "now: a JSON integer from TICKETBOSS_HOLD_MIN_SECONDS, default 30, to 3600; default "
    "the event's holdSeconds, 600 unless set), then free by themselves. Confirm with "
    "`POST /reservations/{id}/confirm`, release with `DELETE /reservations/{id}`. 201 "
    "means the hold and its expiry are on disk or committed."
)


def _hold(summary: str, *, event_errors: dict[int, OpenApiResponse], note: str = "") -> Any:
    return extend_schema(
        summary=summary,
        description=_HOLD_TEXT + (f"\n\n{note}" if note else ""),
        request=HoldRequestSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: HoldResponseSerializer,
            400: BAD_REQUEST,
            **event_errors,
            409: CONFLICT,
            415: UNSUPPORTED,
            422: IDEMPOTENCY_CONFLICT,
            **_WRITE_ERRORS,
            **_COMMON_ERRORS,
        },
        examples=[
            OpenApiExample(
                "two seats for five minutes",
                value={"partnerId": "abc-corp", "seats": 2, "holdSeconds": 300},
                request_only=True,
            ),
            OpenApiExample(
                "held",
                value={
                    "reservationId": EXAMPLE_ID,
                    "seats": 2,
                    "status": "held",
                    "expiresAt": "2025-06-01T09:05:00.000Z",
                },
                response_only=True,
            ),
        ],
        tags=["holds"],
    )


HOLD = _hold(
    "Hold seats in the default event",
    event_errors={404: NOT_FOUND_DEFAULT_EVENT},
    note=_DEFAULT_EVENT_TEXT,
)
HOLD_IN_EVENT = _hold("Hold seats in an event", event_errors={404: NOT_FOUND_EVENT})
CONFIRM = extend_schema(
    summary="Confirm a hold",
    description=(
        "Makes a hold a confirmed reservation; 200 means the confirm is on disk or "
        "committed. A confirmed reservation answers the same 200 again, so a retry is "
        "safe. From the hold's expiresAt on: 409 `Hold expired`. Exactly one of a confirm "
        "and the expiry wins. Empty body. With an Idempotency-Key, a retry answers the "
        "first 200 again even after a cancel; the key used for anything else is 422."
    ),
    parameters=[RESERVATION_ID, IDEMPOTENCY_KEY],
    request=None,
    responses={
        200: ReserveResponseSerializer,
        400: BAD_REQUEST,
        404: NOT_FOUND_RESERVATION,
        409: HOLD_EXPIRED,
        415: UNSUPPORTED,
        422: IDEMPOTENCY_CONFLICT,
        **_WRITE_ERRORS,
        **_COMMON_ERRORS,
    },
    examples=[
        OpenApiExample(
            "confirmed",
            value={"reservationId": EXAMPLE_ID, "seats": 2, "status": "confirmed"},
            response_only=True,
        )
    ],
    tags=["holds"],
)
EVENTS = extend_schema(
    summary="All events",
    responses={200: SummarySerializer(many=True), **_COMMON_ERRORS},
    tags=["events"],
)
EVENT = extend_schema(
    summary="Summary of an event",
    parameters=[EVENT_ID],
    responses={200: SummarySerializer, 404: NOT_FOUND_EVENT, **_COMMON_ERRORS},
    examples=[_SUMMARY_EXAMPLE],
    tags=["events"],
)


# --------------------------------------------------------------------------- docs page


def _inline_style_hash() -> str:
    """CSP hash of the one inline <style> in drf-spectacular's Swagger UI template.

    Read from the installed template, so the policy follows the package's text
    exactly; every other style and script on the page comes from this origin.
    """
    template = Path(drf_spectacular.__file__).parent / "templates/drf_spectacular/swagger_ui.html"
    match = re.search(r"<style>(.*?)</style>", template.read_text(), re.DOTALL)
    if match is None:
        return ""
    digest = hashlib.sha256(match.group(1).encode()).digest()
    return f"'sha256-{b64encode(digest).decode()}'"


_DOCS_STYLE_HASH = _inline_style_hash()


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI from drf-spectacular-sidecar with its init script as a separate
    file: the page runs under the site's CSP with no inline script."""

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)
        if _DOCS_STYLE_HASH:
            response._csp_update = {"style-src": [_DOCS_STYLE_HASH]}  # read by django-csp
        return response
