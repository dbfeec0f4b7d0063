"""Routes: exact paths from CONTRACT.md, no trailing slashes."""

from django.urls import path

from reservations.api import EventViewSet, ReservationViewSet

reservation_collection = ReservationViewSet.as_view({"get": "list", "post": "create"})
reservation_item = ReservationViewSet.as_view({"get": "retrieve", "delete": "destroy"})
event_collection = EventViewSet.as_view({"get": "list"})
event_item = EventViewSet.as_view({"get": "retrieve"})
event_reservations = EventViewSet.as_view({"post": "reserve"})

urlpatterns = [
    path("reservations", reservation_collection, name="reservations"),
    path("reservations/<str:reservation_id>", reservation_item, name="reservation"),
    path("events", event_collection, name="events"),
    path("events/<str:event_id>", event_item, name="event"),
    path("events/<str:event_id>/reservations", event_reservations, name="event-reservations"),
]

handler404 = "reservations.views.not_found"
handler500 = "reservations.views.server_error"
