"""How the OpenAPI document says who may call what (CONTRACT.md "Access").

Three security schemes: a partner's key as `Authorization: Bearer` or as
`X-API-Key`, and an organizer's session cookie. Every operation lists them;
the ones anyone may call also list `{}` (no credentials), and so does every
operation when the server runs in open mode. Swagger UI shows an "Authorize"
button for them, so a person can paste a key and try the API from /api/docs/.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension

BEARER, HEADER, SESSION = "partnerKey", "partnerKeyHeader", "organizerSession"
PARTNER = [{BEARER: []}, {HEADER: []}]
# Anyone may call these (CONTRACT.md "Access", first row).
PUBLIC = {
    ("/reservations", "get"),
    ("/events", "get"),
    ("/events/{event_id}", "get"),
    ("/events/{event_id}/stream", "get"),
}
_KEY_HELP = (
    "A partner's API key, `tb_<prefix>_<secret>` (from `manage.py issue_key`). Keys travel "
    "in headers only: one in the address is refused."
)
_ERROR_JSON = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "reservations.access.ApiKeyAuthentication"
    name = [BEARER, HEADER]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[str]]]:
        return PARTNER

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "tb_<prefix>_<secret>",
                "description": _KEY_HELP,
            },
            {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": _KEY_HELP},
        ]


class OrganizerSessionScheme(OpenApiAuthenticationExtension):
    target_class = "reservations.access.OrganizerSessionAuthentication"
    name = SESSION

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": (
                "An organizer signed in at /accounts/login/; every write also sends the "
                "page's CSRF token as `X-CSRFToken`."
            ),
        }


def add_security(result: dict[str, Any]) -> None:
    """Every operation lists the schemes, and public ones (all, in open mode) also `{}`;
    every API operation documents 401, the non-public ones 403 too."""
    is_open = settings.TICKETBOSS_AUTH == "open"
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            public = (path, method) in PUBLIC
            security = [*PARTNER, {SESSION: []}]
            if public or is_open:
                security.append({})
            operation["security"] = security
            if path.endswith("/stream"):
                continue  # a plain page for EventSource: no credentials are looked at
            responses = operation.setdefault("responses", {})
            responses.setdefault(
                "401",
                {
                    "description": "Keys mode: an unknown, revoked or malformed key (also "
                    "where none is needed), or none where one is; with "
                    "`WWW-Authenticate: Bearer`.",
                    "content": _ERROR_JSON,
                },
            )
            if public:
                continue
            responses.setdefault(
                "403",
                {
                    "description": "Signed in but not an organizer, a CSRF token missing, or "
                    "a partner's body naming another partner (keys mode).",
                    "content": _ERROR_JSON,
                },
            )
