"""The HTTP API (DRF ViewSets): parse, call one service, render."""

from __future__ import annotations

from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from reservations import access, domain, services
from reservations import schema as docs
from reservations.serializers import (
    HoldRequestSerializer,
    HoldResponseSerializer,
    ReservationSerializer,
    ReserveRequestSerializer,
    ReserveResponseSerializer,
    SummarySerializer,
)
from reservations.store import get_store

IDEMPOTENCY_HEADER = "Idempotency-Key"


def _reserve(request: Request, event_id: str) -> Response:
    return _book(request, event_id, hold=False)


def _hold(request: Request, event_id: str) -> Response:
    return _book(request, event_id, hold=True)


def _book(request: Request, event_id: str, *, hold: bool) -> Response:
    """A reservation or a hold: the same body (a hold may add holdSeconds), the same
    idempotency, the answer each one's own."""
    request_shape = HoldRequestSerializer if hold else ReserveRequestSerializer
    payload = request_shape(data=request.data, partner_optional=access.partner_id_optional(request))
    payload.is_valid(raise_exception=True)
    booking = {
        "store": get_store(),
        "event_id": event_id,
        "partner_id": access.booking_partner(request, payload.validated_data.get("partnerId")),
        "seats": payload.validated_data["seats"],
        "idempotency_key": request.headers.get(IDEMPOTENCY_HEADER),
        "actor": access.actor_for(request),
    }
    if hold:
        result = services.hold(**booking, hold_seconds=payload.validated_data.get("holdSeconds"))
        body = HoldResponseSerializer.from_reservation(result.reservation)
    else:
        result = services.reserve(**booking)
        body = ReserveResponseSerializer.from_reservation(result.reservation)
    response = Response(body, status=status.HTTP_201_CREATED)
    if result.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


class ReservationViewSet(viewsets.ViewSet):
    """The classic TicketBoss API on the default event."""

    lookup_field = "reservation_id"
    public_actions = ("list",)

    @docs.DEFAULT_SUMMARY
    def list(self, request: Request) -> Response:
        summary = services.default_event_summary(store=get_store())
        return Response(SummarySerializer.from_summary(summary))

    @docs.RESERVE
    def create(self, request: Request) -> Response:
        event_id = services.default_event_id()
        try:
            return _reserve(request, event_id)
        except domain.EventNotFound:
            raise services.missing_default_event(event_id) from None

    @docs.HOLD
    def hold(self, request: Request) -> Response:
        event_id = services.default_event_id()
        try:
            return _hold(request, event_id)
        except domain.EventNotFound:
            raise services.missing_default_event(event_id) from None

    @docs.CONFIRM
    def confirm(self, request: Request, reservation_id: str) -> Response:
        if request.data:
            raise domain.InvalidRequest("Confirm takes an empty body.")
        reservation = services.confirm(
            store=get_store(),
            reservation_id=reservation_id,
            actor=access.actor_for(request),
            owner=access.owner_for(request),
            idempotency_key=request.headers.get(IDEMPOTENCY_HEADER),
        )
        return Response(ReserveResponseSerializer.from_reservation(reservation))

    @docs.RESERVATION
    def retrieve(self, request: Request, reservation_id: str) -> Response:
        reservation = services.get_reservation(
            store=get_store(), reservation_id=reservation_id, owner=access.owner_for(request)
        )
        return Response(
            ReservationSerializer.from_reservation(
                reservation, with_actors=access.sees_actors(request)
            )
        )

    @docs.CANCEL
    def destroy(self, request: Request, reservation_id: str) -> Response:
        services.cancel(
            store=get_store(),
            reservation_id=reservation_id,
            actor=access.actor_for(request),
            owner=access.owner_for(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class EventViewSet(viewsets.ViewSet):
    """Any event by id: its summary, and reservations in it."""

    lookup_field = "event_id"
    public_actions = ("list", "retrieve")

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

    @docs.HOLD_IN_EVENT
    def hold(self, request: Request, event_id: str) -> Response:
        return _hold(request, event_id)
