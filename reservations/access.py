"""Who the caller is and what they may do: CONTRACT.md, "Access: who may do what".

Two modes (settings.TICKETBOSS_AUTH). `open`: the classic contract, anyone
books for any partnerId; these classes then step aside entirely, so answers
are byte for byte what they were. `keys`: a partner proves itself with an API
key in a header and acts as itself only; an organizer (a Django user with
is_staff) signs in with a session and acts for anyone; everyone else may read
summaries. DRF runs these classes before any view code, so a refused request
has touched nothing. Views ask only `actor_for`, `owner_for`,
`booking_partner` and `sees_actors`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from reservations import domain, keys
from reservations.partners import ApiKeyRecord
from reservations.store import get_directory

OPEN = "open"
KEYS = "keys"
MODES = (OPEN, KEYS)
KEY_HEADER = "X-API-Key"
# Query parameters a client might put a key in: refused, since addresses end up in logs.
QUERY_KEY_NAMES = frozenset(
    {"key", "api_key", "apikey", "api-key", "x-api-key", "access_token", "token", "auth"}
)
NOT_AUTHENTICATED = (
    "Send your API key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>' "
    "(organizers: sign in at /accounts/login/)."
)
KEY_IN_ADDRESS = (
    "API keys travel in the Authorization or X-API-Key header, never in the address; "
    "a key sent there may be in logs now, so revoke it and issue a new one."
)
MALFORMED_KEY = "The API key is malformed: a key looks like tb_<8 letters or digits>_<secret>."
BAD_KEY = "The API key is unknown or revoked."
TWO_KEYS = (
    "Two different API keys were sent, in Authorization and in X-API-Key; send one key, "
    "in one of them."
)
VERIFIED_CACHE_SIZE = 10_000
# presented key -> (the directory record it matched, its principal): this worker only.
_verified: dict[str, tuple[ApiKeyRecord, PartnerPrincipal]] = {}


def keys_mode() -> bool:
    return settings.TICKETBOSS_AUTH == KEYS


@dataclass(frozen=True, slots=True)
class PartnerPrincipal:
    """`request.user` for a request made with a partner's key."""

    partner_id: str
    key_prefix: str
    is_authenticated: ClassVar[bool] = True
    is_active: ClassVar[bool] = True
    is_staff: ClassVar[bool] = False

    @property
    def actor(self) -> str:
        return f"partner:{self.partner_id}/{self.key_prefix}"


# ---------------------------------------------------------------------- authentication


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer <key>` or `X-API-Key: <key>`, checked against the partner
    directory's in-memory copy (reservations.partners: kept fresh by a stat or a timed
    refresh). A key that is present but wrong is a 401, never anonymous access.

    A key seen before is answered from this worker's cache of verified keys, valid for
    as long as the directory still holds the very record it was verified against: any
    change to the directory (a revocation) builds new records, so the next request
    checks again. A key not in the cache gets the full check: format, SHA-256 and a
    constant-time comparison, the same work for an unknown prefix as for a wrong secret.
    """

    def authenticate(self, request: Request) -> tuple[PartnerPrincipal, str] | None:
        if not keys_mode():
            return None
        meta = request._request.META
        if meta.get("QUERY_STRING"):
            _refuse_key_in_address(request)
        presented = _presented_key(meta)
        if presented is None:
            return None
        directory = get_directory()
        cached = _verified.get(presented)
        if cached is not None:
            record, principal = cached
            if directory.key(principal.key_prefix) is record and record.active:
                return principal, principal.key_prefix
        prefix = keys.prefix_of(presented)
        if prefix is None:
            raise exceptions.AuthenticationFailed(MALFORMED_KEY)
        record = directory.key(prefix)
        if not keys.matches(presented, record.key_hash if record else None):
            raise exceptions.AuthenticationFailed(BAD_KEY)
        assert record is not None
        if not record.active:
            _verified.pop(presented, None)
            raise exceptions.AuthenticationFailed(BAD_KEY)
        principal = PartnerPrincipal(record.partner_id, prefix)
        if len(_verified) >= VERIFIED_CACHE_SIZE:
            _verified.clear()  # bounded; refilled by the next requests
        _verified[presented] = (record, principal)
        return principal, prefix

    def authenticate_header(self, request: Request) -> str | None:
        # Open mode has no keys to ask for: a refused anonymous caller gets 403, not 401.
        return "Bearer" if keys_mode() else None


class OrganizerSessionAuthentication(SessionAuthentication):
    """Django's signed-in user, with DRF's CSRF check on every write: in keys mode on
    every endpoint; in open mode only on organizer actions (`in_both_modes`), which need
    an organizer even when the classic contract is open to anyone."""

    def __init__(self, *, in_both_modes: bool = False) -> None:
        self.in_both_modes = in_both_modes

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        if not (self.in_both_modes or keys_mode()):
            return None
        return super().authenticate(request)


def _presented_key(meta: dict[str, Any]) -> str | None:
    """The key in `Authorization: Bearer` or `X-API-Key`. Two different keys are
    refused: which partner books must not depend on which header a proxy or client
    library in front reads first."""
    bearer = None
    header = meta.get("HTTP_AUTHORIZATION")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            bearer = value.strip()
    other = meta.get("HTTP_X_API_KEY")
    other = other.strip() if other else None
    if bearer and other and bearer != other:
        raise exceptions.AuthenticationFailed(TWO_KEYS)
    return bearer or other


def _refuse_key_in_address(request: Request) -> None:
    for name, values in request.query_params.lists():
        if name.lower() in QUERY_KEY_NAMES or any(keys.prefix_of(v) for v in values):
            raise exceptions.AuthenticationFailed(KEY_IN_ADDRESS)


# ---------------------------------------------------------------------- permission


class ReservationAccess(BasePermission):
    """Keys mode: a view's `public_actions` are for anyone; every other action needs a
    partner's key (scoped to its own reservations by the view) or a signed-in organizer."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not keys_mode() or getattr(view, "action", None) in getattr(view, "public_actions", ()):
            return True
        user = request.user
        if isinstance(user, PartnerPrincipal):
            return True
        if user is not None and user.is_authenticated:
            if user.is_staff:
                return True
            raise exceptions.PermissionDenied("Signed in, but only organizers may do this.")
        raise exceptions.NotAuthenticated(NOT_AUTHENTICATED)


ORGANIZERS_ONLY = "Only organizers may do this: sign in at /accounts/login/."
KEYS_NOT_FOR_ORGANIZER_ACTIONS = "API keys may not do this; organizers sign in at /accounts/login/."


class _SignedInAccess(BasePermission):
    """Shared refusals, in both modes: a partner's key is 403 unless `partners_allowed`,
    a signed-in non-organizer is 403, nobody at all is 401 (keys mode) or 403 (open)."""

    partners_allowed: ClassVar[bool] = False

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if isinstance(user, PartnerPrincipal):
            if self.partners_allowed:
                return True
            raise exceptions.PermissionDenied(KEYS_NOT_FOR_ORGANIZER_ACTIONS)
        if user is not None and user.is_authenticated:
            if user.is_staff:
                return True
            raise exceptions.PermissionDenied("Signed in, but only organizers may do this.")
        raise exceptions.NotAuthenticated(NOT_AUTHENTICATED if keys_mode() else ORGANIZERS_ONLY)


class OrganizerAccess(_SignedInAccess):
    """Organizer endpoints: a signed-in organizer only."""


class OrganizerOrPartnerAccess(_SignedInAccess):
    """Reading an event's reservations: an organizer (all) or a partner's key (its own,
    scoped by the view through `owner_for`)."""

    partners_allowed = True


class OrganizerActionsMixin:
    """For a ViewSet mixing public or partner actions with organizer ones on the same
    paths: the actions named in `organizer_access` (action -> permission class) are
    authenticated with a session in both modes and checked by that permission; every
    other action keeps the site's defaults, untouched (the booking hot path)."""

    organizer_access: ClassVar[dict[str, type[BasePermission]]] = {}
    action_map: dict[str, str]
    request: Any

    def _organizer_permission(self) -> type[BasePermission] | None:
        # DRF asks for authenticators before it sets `self.action`: use the method map.
        action = getattr(self, "action", None) or self.action_map.get(self.request.method.lower())
        return self.organizer_access.get(action) if action else None

    def get_authenticators(self) -> list[BaseAuthentication]:
        if self._organizer_permission() is None:
            return super().get_authenticators()  # type: ignore[misc]
        # A key is still read, so that a partner's key gets 403 rather than 401.
        return [ApiKeyAuthentication(), OrganizerSessionAuthentication(in_both_modes=True)]

    def get_permissions(self) -> list[BasePermission]:
        permission = self._organizer_permission()
        if permission is None:
            return super().get_permissions()  # type: ignore[misc]
        return [permission()]


# ---------------------------------------------------------------------- questions views ask


def actor_for(request: Request) -> str:
    """Who a change is recorded as: `partner:<id>/<prefix>`, `staff:<username>` or `open`."""
    user = request.user
    if isinstance(user, PartnerPrincipal):
        return user.actor
    if user is not None and user.is_authenticated:
        return f"staff:{user.get_username()}"
    return domain.OPEN_ACTOR


def owner_for(request: Request) -> str | None:
    """The partner whose reservations alone the caller may see (None: any)."""
    user = request.user
    return user.partner_id if isinstance(user, PartnerPrincipal) else None


def sees_actors(request: Request) -> bool:
    """Organizers see who made and cancelled a reservation; partners and open callers do not."""
    user = request.user
    return bool(user is not None and not isinstance(user, PartnerPrincipal) and user.is_staff)


def partner_id_optional(request: Request) -> bool:
    """A partner may leave partnerId out of a body: it books as itself."""
    return isinstance(request.user, PartnerPrincipal)


def booking_partner(request: Request, requested: str | None) -> str:
    """The partner a reservation is made for: a partner's own id (403 when the body names
    another), or the body's partnerId for organizers and open mode."""
    user = request.user
    if isinstance(user, PartnerPrincipal):
        if requested is not None and requested != user.partner_id:
            raise exceptions.PermissionDenied(
                "This API key books for its own partner only; leave partnerId out or send your own."
            )
        return user.partner_id
    if requested is None:
        raise exceptions.ValidationError({"partnerId": ["This field is required."]})
    return requested


def page_context(request: Any) -> dict[str, Any]:
    """What the dashboard shows to whom: forms for open mode and organizers, a "Sign in
    to book" link for everyone else in keys mode. A signed-in organizer's page carries
    its CSRF token, which the page sends back with every write."""
    if not keys_mode():
        return {"keys_mode": False, "can_book": True}
    from django.middleware.csrf import get_token

    user = request.user
    organizer = bool(user.is_authenticated and user.is_staff)
    return {
        "keys_mode": True,
        "can_book": organizer,
        "signed_in_as": user.get_username() if user.is_authenticated else "",
        "page_csrf_token": get_token(request) if organizer else "",
    }
