"""One no-op DRF view: GET answers a constant, POST parses its body and answers 201."""

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class NoopView(APIView):
    def get(self, request: Request) -> Response:
        return Response({"ok": True})

    def post(self, request: Request) -> Response:
        return Response({"received": len(request.data)}, status=status.HTTP_201_CREATED)
