"""The organizer API (CONTRACT.md "Events and partners"): DRF ViewSets that parse,
call one organizer service, render.

Events keep one ViewSet: the public reads and partner bookings of
reservations.api.EventViewSet live on the same paths as the organizer actions
added here, and access.OrganizerActionsMixin gives the organizer actions their
own authentication (a staff session, in both modes) while the others keep the
site's defaults. Partners and keys (an extension of the contract, for the
console) are organizer-only throughout.
"""

from __future__ import annotations

from typing import Any

from django.http import StreamingHttpResponse
from rest_framework import exceptions, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from reservations import access, csv_export, organizer_services
from reservations import organizer_schema as docs
from reservations.api import EventViewSet
from reservations.organizer_serializers import (
    AllocationRequestSerializer,
    AllocationSerializer,
    EventChangesRequestSerializer,
    EventCreateRequestSerializer,
    EventStatsSerializer,
    IssuedKeySerializer,
    PartnerCreateRequestSerializer,
    PartnerSerializer,
    ReservationQuerySerializer,
)
from reservations.pagination import PositionCursorPagination
from reservations.serializers import ReservationSerializer, SummarySerializer
from reservations.store import get_directory, get_store

OWN_RESERVATIONS_ONLY = (
    "This API key lists its own partner's reservations only; leave partnerId out or send your own."
)


def _valid(serializer_class: type, data: Any) -> Any:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer


class ManagedEventViewSet(access.OrganizerActionsMixin, EventViewSet):
    """Events: anyone reads, partners book (EventViewSet), organizers manage."""

    organizer_access = {
        "create": access.OrganizerAccess,
        "partial_update": access.OrganizerAccess,
        "allocation": access.OrganizerAccess,
        "reservations": access.OrganizerOrPartnerAccess,
        "stats": access.OrganizerAccess,
        "export": access.OrganizerAccess,
    }

    @docs.CREATE_EVENT
    def create(self, request: Request) -> Response:
        body = _valid(EventCreateRequestSerializer, request.data)
        summary = organizer_services.create_event(store=get_store(), **body.service_arguments())
        return Response(SummarySerializer.from_summary(summary), status=status.HTTP_201_CREATED)

    @docs.UPDATE_EVENT
    def partial_update(self, request: Request, event_id: str) -> Response:
        body = _valid(EventChangesRequestSerializer, request.data)
        summary = organizer_services.update_event(
            store=get_store(), event_id=event_id, changes=body.changes()
        )
        return Response(SummarySerializer.from_summary(summary))

    @docs.SET_ALLOCATION
    def allocation(self, request: Request, event_id: str, partner_id: str) -> Response:
        body = _valid(AllocationRequestSerializer, request.data)
        allocation = organizer_services.set_allocation(
            store=get_store(),
            event_id=event_id,
            partner_id=partner_id,
            seats=body.validated_data["seats"],
            # Keys mode books only registered partners: an allocation names one of them.
            directory=get_directory() if access.keys_mode() else None,
        )
        return Response(AllocationSerializer.from_allocation(allocation))

    @docs.EVENT_RESERVATIONS
    def reservations(self, request: Request, event_id: str) -> Response:
        filters = _valid(ReservationQuerySerializer, request.query_params).validated_data
        partner_id = filters.get("partnerId")
        owner = access.owner_for(request)
        if owner is not None:
            if partner_id is not None and partner_id != owner:
                raise exceptions.PermissionDenied(OWN_RESERVATIONS_ONLY)
            partner_id = owner
        store = get_store()
        paginator = PositionCursorPagination()
        page = paginator.paginate_rows(
            lambda after, before, limit: organizer_services.list_reservations(
                store=store,
                event_id=event_id,
                partner_id=partner_id,
                status=filters.get("status"),
                after=after,
                before=before,
                limit=limit,
            ),
            request,
        )
        with_actors = access.sees_actors(request)
        return paginator.get_paginated_response(
            [ReservationSerializer.from_reservation(r, with_actors=with_actors) for r in page]
        )

    @docs.EVENT_STATS
    def stats(self, request: Request, event_id: str) -> Response:
        stats = organizer_services.event_stats(store=get_store(), event_id=event_id)
        return Response(EventStatsSerializer.from_stats(stats))

    @docs.EXPORT_CSV
    def export(self, request: Request, event_id: str) -> StreamingHttpResponse:
        reservations = organizer_services.export_reservations(store=get_store(), event_id=event_id)
        response = StreamingHttpResponse(
            csv_export.csv_chunks(reservations), content_type=csv_export.CONTENT_TYPE
        )
        response["Content-Disposition"] = f'attachment; filename="{event_id}-reservations.csv"'
        response["Cache-Control"] = "no-store"
        return response

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The CSV export answers CSV whatever Accept says; its errors stay JSON.
        return super().perform_content_negotiation(request, force=force or self.action == "export")


class PartnerViewSet(access.OrganizerActionsMixin, viewsets.ViewSet):
    """Partners and their keys, for organizers (an extension of the contract: what
    manage.py create_partner, issue_key, revoke_key and list_partners do)."""

    organizer_access = dict.fromkeys(
        ("list", "create", "issue_key", "revoke_key"), access.OrganizerAccess
    )
    lookup_field = "partner_id"

    @docs.PARTNERS
    def list(self, request: Request) -> Response:
        found = organizer_services.partners(directory=get_directory())
        return Response([PartnerSerializer.from_partner(partner) for partner in found])

    @docs.CREATE_PARTNER
    def create(self, request: Request) -> Response:
        data = _valid(PartnerCreateRequestSerializer, request.data).validated_data
        partner = organizer_services.create_partner(
            directory=get_directory(), partner_id=data["partnerId"], name=data.get("name")
        )
        return Response(PartnerSerializer.from_partner(partner), status=status.HTTP_201_CREATED)

    @docs.ISSUE_KEY
    def issue_key(self, request: Request, partner_id: str) -> Response:
        if request.data:
            raise exceptions.ValidationError({"non_field_errors": ["Send an empty body."]})
        issued = organizer_services.issue_key(directory=get_directory(), partner_id=partner_id)
        response = Response(IssuedKeySerializer.from_issued(issued), status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"  # the key is shown once: no cache keeps it
        return response

    @docs.REVOKE_KEY
    def revoke_key(self, request: Request, prefix: str) -> Response:
        organizer_services.revoke_key(directory=get_directory(), prefix=prefix)
        return Response(status=status.HTTP_204_NO_CONTENT)
