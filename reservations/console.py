"""The organizer console's pages (CONTRACT.md "Events and partners (organizers)").

The pages are shells: every figure and every change goes through the organizer API
with the organizer's session and CSRF token, so the console can do nothing the API
would refuse. Only signed-in staff get a page; everyone else is sent to sign in and
comes back here afterwards (Django's `next`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import user_passes_test
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from reservations import domain
from reservations.store import get_store


def _is_organizer(user: Any) -> bool:
    return bool(user.is_active and user.is_staff)


organizers_only = user_passes_test(_is_organizer)  # others: settings.LOGIN_URL?next=...


def _context(request: HttpRequest, section: str, **extra: Any) -> dict[str, Any]:
    return {
        "section": section,
        "static_root": request.build_absolute_uri(static("ticketboss/")),
        "api_root": request.build_absolute_uri("/"),
        "csrf_value": get_token(request),
        "signed_in_as": request.user.get_username(),
        "streams_enabled": settings.TICKETBOSS_STREAMS,
        "poll_interval_ms": int(settings.TICKETBOSS_POLL_INTERVAL * 1000),
        **extra,
    }


@require_GET
@organizers_only
def events_page(request: HttpRequest) -> HttpResponse:
    """Every event with its live figures; create, resize, and open or close sales."""
    try:
        events = [summary.as_dict() for summary in get_store().events()]
    except domain.DomainError:
        events = []  # the page's own fetch shows the store's 503
    return render(
        request,
        "console/events.html",
        _context(request, "events", events=events, event_id_pattern=domain.EVENT_ID_PATTERN),
    )


@require_GET
@organizers_only
def event_page(request: HttpRequest, event_id: str) -> HttpResponse:
    """One event: sales over time, partners, and its reservations."""
    try:
        summary = get_store().summary(event_id=event_id)
    except domain.EventNotFound:
        context = _context(request, "events", event_id=event_id)
        return render(request, "console/missing.html", context, status=404)
    except domain.DomainError:
        summary = None
    context = _context(
        request,
        "events",
        event_id=event_id,
        event_name=summary.name if summary else event_id,
        summary=summary.as_dict() if summary else None,
    )
    return render(request, "console/event.html", context)


@require_GET
@organizers_only
def partners_page(request: HttpRequest) -> HttpResponse:
    """Partners, their keys (issue once, revoke) and their allocations per event."""
    return render(request, "console/partners.html", _context(request, "partners"))
