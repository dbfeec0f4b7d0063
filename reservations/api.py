"""The HTTP API (DRF ViewSets): parse, call one service, render."""

from __future__ import annotations

from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from reservations import domain, services
from reservations import schema as docs
from reservations.serializers import (
    ReservationSerializer,
    ReserveRequestSerializer,
    ReserveResponseSerializer,
    SummarySerializer,
)
from reservations.store import get_store

IDEMPOTENCY_HEADER = "Idempotency-Key"


def _reserve(request: Request, event_id: str) -> Response:
    payload = ReserveRequestSerializer(data=request.data)
    payload.is_valid(raise_exception=True)
    result = services.reserve(
        store=get_store(),
        event_id=event_id,
        partner_id=payload.validated_data["partnerId"],
        seats=payload.validated_data["seats"],
        idempotency_key=request.headers.get(IDEMPOTENCY_HEADER),
    )
    response = Response(
        ReserveResponseSerializer.from_reservation(result.reservation),
        status=status.HTTP_201_CREATED,
    )
    if result.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


class ReservationViewSet(viewsets.ViewSet):
    """The classic TicketBoss API on the default event."""

    lookup_field = "reservation_id"

    @docs.DEFAULT_SUMMARY
    def list(self, request: Request) -> Response:
        summary = get_store().summary(event_id=domain.DEFAULT_EVENT_ID)
        return Response(SummarySerializer.from_summary(summary))

    @docs.RESERVE
    def create(self, request: Request) -> Response:
        return _reserve(request, domain.DEFAULT_EVENT_ID)

    @docs.RESERVATION
    def retrieve(self, request: Request, reservation_id: str) -> Response:
        reservation = get_store().get_reservation(reservation_id=reservation_id)
        return Response(ReservationSerializer.from_reservation(reservation))

    @docs.CANCEL
    def destroy(self, request: Request, reservation_id: str) -> Response:
        services.cancel(store=get_store(), reservation_id=reservation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EventViewSet(viewsets.ViewSet):
    """Any event by id: its summary, and reservations in it."""

    lookup_field = "event_id"

    @docs.EVENTS
    def list(self, request: Request) -> Response:
        """All events (an extension of the contract, for the dashboard's event picker)."""
        return Response([SummarySerializer.from_summary(item) for item in get_store().events()])

    @docs.EVENT
    def retrieve(self, request: Request, event_id: str) -> Response:
        summary = get_store().summary(event_id=event_id)
        return Response(SummarySerializer.from_summary(summary))

    @docs.RESERVE_IN_EVENT
    def reserve(self, request: Request, event_id: str) -> Response:
        return _reserve(request, event_id)
