"""Request rate limits per client address and per partnerId (DRF throttling).

Counters live in the "throttle" cache, a file cache every worker process shares,
so a flood spread over workers is still counted once. A refused request gets 429
JSON with Retry-After (reservations.errors) and changes nothing: throttles run
before the view. If the cache cannot be written (full disk), requests are let
through: a rate limit must never be the reason a reservation fails.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING

from django.core.cache import caches
from rest_framework.throttling import SimpleRateThrottle

from reservations import domain

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from rest_framework.request import Request
    from rest_framework.views import APIView

log = logging.getLogger(__name__)


class _SharedCacheThrottle(SimpleRateThrottle):
    @property
    def cache(self):  # type: ignore[override]
        return caches["throttle"]

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            return super().allow_request(request, view)
        except OSError as exc:
            log.warning("throttle cache unavailable, request let through: %s", exc)
            return True


class AddressRateThrottle(_SharedCacheThrottle):
    """Every API request, keyed by the client address (TCP peer unless NUM_PROXIES)."""

    scope = "address"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PartnerRateThrottle(_SharedCacheThrottle):
    """Reservation requests (POST), keyed by the key's partner, else the body's partnerId."""

    scope = "partner"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if request.method != "POST":
            return None
        partner_id = getattr(request.user, "partner_id", None)  # a partner's key: itself
        if partner_id is not None:
            ident = hashlib.sha256(partner_id.encode()).hexdigest()
            return self.cache_format % {"scope": self.scope, "ident": ident}
        # A body that does not parse raises here exactly as it would in the view (400/415).
        data = request.data
        if not isinstance(data, dict):
            return None
        try:
            partner_id = domain.validate_partner_id(data.get("partnerId"))
        except domain.InvalidRequest:
            return None  # the view answers 400
        ident = hashlib.sha256(partner_id.encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}
