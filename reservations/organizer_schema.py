"""The OpenAPI description of the organizer API (reservations.organizer_api).

Kept apart from reservations.schema (the partner-facing API) for size; it reuses
that module's error answers and parameters. `restrict_security` runs last in
schema.finish_schema: organizer operations list only the organizer's session
(the reservation list also a partner's key), and never "no credentials", in
either mode.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema

from reservations import domain, organizing, partners, schema_security
from reservations.organizer_serializers import (
    AllocationRequestSerializer,
    AllocationSerializer,
    EventChangesRequestSerializer,
    EventCreateRequestSerializer,
    EventStatsSerializer,
    IssuedKeySerializer,
    PartnerCreateRequestSerializer,
    PartnerSerializer,
    ReservationPageSerializer,
    ReservationQuerySerializer,
)
from reservations.schema import (
    _COMMON_ERRORS,
    _WRITE_ERRORS,
    BAD_REQUEST,
    EVENT_ID,
    EVENT_ID_PATTERN,
    NOT_FOUND_EVENT,
    PARTNER_ID_PATTERN,
    TOO_LARGE,
    UNSUPPORTED,
    _error,
)
from reservations.serializers import SummarySerializer

ORGANIZER_OPERATIONS = {
    ("/events", "post"),
    ("/events/{event_id}", "patch"),
    ("/events/{event_id}/allocations/{partner_id}", "put"),
    ("/events/{event_id}/stats", "get"),
    ("/events/{event_id}/export.csv", "get"),
    ("/partners", "get"),
    ("/partners", "post"),
    ("/partners/{partner_id}/keys", "post"),
    ("/keys/{prefix}", "delete"),
}
ORGANIZER_OR_PARTNER_OPERATIONS = {("/events/{event_id}/reservations", "get")}
_ORGANIZERS = (
    "Organizers only: a staff user signed in at /accounts/login/ (session cookie; writes "
    "also send the CSRF token as `X-CSRFToken`), in both TICKETBOSS_AUTH modes. A "
    "partner's key gets 403."
)


# --------------------------------------------------------------------------- field types


def _field(target: str, schema: dict[str, Any]) -> None:
    """Describe one serializer field class of organizer_serializers."""
    type(
        target + "Extension",
        (OpenApiSerializerFieldExtension,),
        {
            "target_class": f"reservations.organizer_serializers.{target}",
            "map_serializer_field": lambda self, auto_schema, direction: dict(schema),
        },
    )


_field("EventIdField", {"type": "string", "pattern": EVENT_ID_PATTERN, "example": "jazz-night"})
_field(
    "NameField",
    {
        "type": "string",
        "minLength": 1,
        "maxLength": domain.EVENT_NAME_MAX_LENGTH,
        "pattern": PARTNER_ID_PATTERN,
        "example": "Jazz Night",
    },
)
_field("TotalSeatsField", {"type": "integer", "minimum": 0, "maximum": domain.MAX_TOTAL_SEATS})
_field(
    "AllocationSeatsField",
    {"type": "integer", "minimum": 0, "maximum": organizing.MAX_ALLOCATION, "nullable": True},
)
_field("StatusFilterField", {"type": "string", "enum": list(organizing.STATUS_FILTERS)})
_field(
    "InstantField",
    {
        "type": "string",
        "format": "date-time",
        "nullable": True,
        "example": "2026-12-01T09:00:00Z",
    },
)


# --------------------------------------------------------------------------- answers

EVENT_EXISTS = _error("The eventId is taken", organizing.EventExists.message)
RESIZE_BELOW = _error(
    "totalSeats below the seats taken (confirmed and held)", domain.ResizeBelowReserved.message
)
PARTNER_EXISTS = _error("The partnerId is taken", partners.PartnerExists.message)
NO_PARTNER = _error("No such partner", partners.PartnerNotFound.message)
NO_KEY = _error("No key has this prefix", partners.KeyNotFound.message)
BAD_CURSOR = OpenApiResponse(
    BAD_REQUEST.response,
    description="A filter or `limit` out of range, or a cursor this server did not give out.",
)
_SUMMARY_ANSWER = {200: SummarySerializer}

PARTNER_ID = OpenApiParameter(
    "partner_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The partner's id, percent-encoded.",
    examples=[OpenApiExample("a partner", value="abc-corp")],
)
KEY_PREFIX = OpenApiParameter(
    "prefix",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The key's 8 letters or digits after `tb_`.",
    pattern=r"^[A-Za-z0-9]{8}$",
)
PAGE_PARAMETERS = [
    OpenApiParameter(
        "cursor",
        OpenApiTypes.STR,
        OpenApiParameter.QUERY,
        description="From a page's `next` or `previous` link, as given.",
    ),
    OpenApiParameter(
        "limit",
        OpenApiTypes.INT,
        OpenApiParameter.QUERY,
        description=f"Rows per page, 1 to {organizing.PAGE_LIMIT_MAX} "
        f"(default {organizing.PAGE_LIMIT_DEFAULT}).",
    ),
]


def _organizer(summary: str, *, description: str = "", tags: tuple[str, ...], **kwargs: Any) -> Any:
    responses = kwargs.pop("responses")
    return extend_schema(
        summary=summary,
        description=(description + "\n\n" if description else "") + _ORGANIZERS,
        responses={**responses, **_COMMON_ERRORS},
        tags=list(tags),
        **kwargs,
    )


CREATE_EVENT = _organizer(
    "Create an event",
    description="Answers the new event's summary. A refused request changes nothing.",
    request=EventCreateRequestSerializer,
    responses={
        201: SummarySerializer,
        400: BAD_REQUEST,
        409: EVENT_EXISTS,
        415: UNSUPPORTED,
        **_WRITE_ERRORS,
    },
    examples=[
        OpenApiExample(
            "an event with a sales window",
            value={
                "eventId": "jazz-night",
                "name": "Jazz Night",
                "totalSeats": 300,
                "holdSeconds": 300,
                "salesOpenAt": "2026-12-01T09:00:00Z",
                "salesCloseAt": "2026-12-24T18:00:00+01:00",
            },
            request_only=True,
        )
    ],
    tags=("events",),
)
UPDATE_EVENT = _organizer(
    "Change an event",
    description=(
        "Any of name, totalSeats, holdSeconds, salesOpenAt, salesCloseAt; all at once or "
        "none. A window side sent as null is cleared. totalSeats below the seats taken "
        "(confirmed and held) is 409; a change of seats grows `version` by one."
    ),
    parameters=[EVENT_ID],
    request=EventChangesRequestSerializer,
    responses={
        200: SummarySerializer,
        400: BAD_REQUEST,
        404: NOT_FOUND_EVENT,
        409: RESIZE_BELOW,
        415: UNSUPPORTED,
        **_WRITE_ERRORS,
    },
    examples=[
        OpenApiExample(
            "close sales at noon", value={"salesCloseAt": "2026-12-01T12:00:00Z"}, request_only=True
        ),
        OpenApiExample("grow", value={"totalSeats": 400}, request_only=True),
    ],
    tags=("events",),
)
SET_ALLOCATION = _organizer(
    "Set a partner's allocation in an event",
    description=(
        "Caps the partner's confirmed plus held seats in the event; a reserve or hold past "
        "it is 409 `Partner allocation exhausted`. Lowering it below what the partner has "
        "takes nothing away. `null` removes the limit. In keys mode the partner must be "
        "registered (400 otherwise)."
    ),
    parameters=[EVENT_ID, PARTNER_ID],
    request=AllocationRequestSerializer,
    responses={
        200: AllocationSerializer,
        400: BAD_REQUEST,
        404: NOT_FOUND_EVENT,
        415: UNSUPPORTED,
        **_WRITE_ERRORS,
    },
    examples=[OpenApiExample("fifty seats", value={"seats": 50}, request_only=True)],
    tags=("events",),
)
EVENT_RESERVATIONS = extend_schema(
    summary="An event's reservations, a page at a time",
    description=(
        "Oldest first. Cursor pagination: follow `next` (and `previous`) as given; pages "
        "stay stable while reservations arrive (no row twice, none skipped). Organizers "
        "see every partner's, with createdBy and cancelledBy. A partner's key sees its own "
        "only: a partnerId filter naming another partner is 403."
    ),
    parameters=[EVENT_ID, ReservationQuerySerializer, *PAGE_PARAMETERS],
    responses={
        200: ReservationPageSerializer,
        400: BAD_CURSOR,
        404: NOT_FOUND_EVENT,
        **_COMMON_ERRORS,
    },
    tags=["events"],
)
EVENT_STATS = _organizer(
    "An event's sales figures",
    description=(
        "Per partner: confirmed and held seats and counts, allocation, share of the "
        "event's seats. Per minute: seats confirmed (minus cancelled) and the running "
        "total. Read from counters, not by scanning reservations."
    ),
    parameters=[EVENT_ID],
    responses={200: EventStatsSerializer, 404: NOT_FOUND_EVENT},
    tags=("events",),
)
EXPORT_CSV = _organizer(
    "An event's reservations as CSV",
    description=(
        "The columns of `manage.py export_reservations`, oldest first, streamed as a "
        "download. A cell a spreadsheet would run as a formula starts with an apostrophe."
    ),
    parameters=[EVENT_ID],
    responses={
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV with a header row."),
        404: NOT_FOUND_EVENT,
    },
    tags=("events",),
)
PARTNERS = _organizer(
    "Partners and their keys",
    description="Keys by prefix with when they were issued and revoked; never a key or hash.",
    responses={200: PartnerSerializer(many=True)},
    tags=("partners",),
)
CREATE_PARTNER = _organizer(
    "Register a partner",
    request=PartnerCreateRequestSerializer,
    responses={
        201: PartnerSerializer,
        400: BAD_REQUEST,
        409: PARTNER_EXISTS,
        415: UNSUPPORTED,
        **_WRITE_ERRORS,
    },
    tags=("partners",),
)
ISSUE_KEY = _organizer(
    "Issue an API key",
    description=(
        "The key is in this answer only (`Cache-Control: no-store`); afterwards it is "
        "known by its prefix. Empty body."
    ),
    parameters=[PARTNER_ID],
    request=None,
    responses={201: IssuedKeySerializer, 400: BAD_REQUEST, 404: NO_PARTNER, **_WRITE_ERRORS},
    tags=("partners",),
)
REVOKE_KEY = _organizer(
    "Revoke an API key",
    description="Every worker and node refuses it within a second. Revoking again is 204.",
    parameters=[KEY_PREFIX],
    request=None,
    responses={
        204: OpenApiResponse(description="Revoked; empty body."),
        404: NO_KEY,
        413: TOO_LARGE,
        **_WRITE_ERRORS,
    },
    tags=("partners",),
)


def restrict_security(result: dict[str, Any]) -> None:
    """Organizer operations take an organizer's session only (the reservation list also
    a partner's key), never "no credentials", in either mode."""
    session = {schema_security.SESSION: []}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if (path, method) in ORGANIZER_OPERATIONS:
                operation["security"] = [session]
            elif (path, method) in ORGANIZER_OR_PARTNER_OPERATIONS:
                operation["security"] = [*schema_security.PARTNER, session]
