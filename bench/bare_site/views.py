"""No-op DRF views: GET answers a constant, POST parses its body and answers 201 with a
new id (so the cancel mix can delete it), DELETE answers 204, a confirm answers 200."""

import uuid

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class NoopView(APIView):
    def get(self, request: Request) -> Response:
        return Response({"ok": True})

    def post(self, request: Request) -> Response:
        body = {"reservationId": str(uuid.uuid4()), "received": len(request.data)}
        return Response(body, status=status.HTTP_201_CREATED)


class NoopEventView(NoopView):
    """The same no-op under an event's path (bench.nodes posts to /events/{id}/reservations)."""

    def post(self, request: Request, event_id: str) -> Response:  # type: ignore[override]
        return super().post(request)


class NoopItemView(APIView):
    def delete(self, request: Request, reservation_id: str) -> Response:
        return Response(status=status.HTTP_204_NO_CONTENT)


class NoopConfirmView(APIView):
    def post(self, request: Request, reservation_id: str) -> Response:
        return Response({"reservationId": reservation_id, "status": "confirmed"})
