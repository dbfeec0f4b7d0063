"""The bare site's POST with one thing added: the store's durable reserve on the default
event. No validation beyond what the store does, no serializer, no access rules."""

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reservations import services
from reservations.store import get_store


class StoreOnlyReserveView(APIView):
    def get(self, request: Request) -> Response:
        return Response({"ok": True})

    def post(self, request: Request) -> Response:
        reservation = (
            get_store()
            .reserve(
                event_id=services.default_event_id(),
                partner_id=request.data["partnerId"],
                seats=request.data["seats"],
            )
            .reservation
        )
        body = {"reservationId": reservation.reservation_id, "seats": reservation.seats}
        return Response(body, status=status.HTTP_201_CREATED)
