"""Routes: exact paths from CONTRACT.md, no trailing slashes."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from reservations.accounts import SignInView, SignOutView
from reservations.api import EventViewSet, ReservationViewSet
from reservations.schema import DocsView
from reservations.views import dashboard, event_stream

reservation_collection = ReservationViewSet.as_view({"get": "list", "post": "create"})
reservation_item = ReservationViewSet.as_view({"get": "retrieve", "delete": "destroy"})
event_collection = EventViewSet.as_view({"get": "list"})
event_item = EventViewSet.as_view({"get": "retrieve"})
event_reservations = EventViewSet.as_view({"post": "reserve"})
holds = ReservationViewSet.as_view({"post": "hold"})
confirm = ReservationViewSet.as_view({"post": "confirm"})
event_holds = EventViewSet.as_view({"post": "hold"})

urlpatterns = [
    path("", dashboard, name="dashboard"),
    path("events/<str:event_id>/stream", event_stream, name="event-stream"),
    path("reservations", reservation_collection, name="reservations"),
    path("reservations/<str:reservation_id>", reservation_item, name="reservation"),
    path("reservations/<str:reservation_id>/confirm", confirm, name="reservation-confirm"),
    path("holds", holds, name="holds"),
    path("events", event_collection, name="events"),
    path("events/<str:event_id>", event_item, name="event"),
    path("events/<str:event_id>/reservations", event_reservations, name="event-reservations"),
    path("events/<str:event_id>/holds", event_holds, name="event-holds"),
    # These two keep their trailing slash, as CONTRACT.md lists them.
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", DocsView.as_view(url_name="schema"), name="docs"),
    # Organizers sign in here (CONTRACT.md "Access"); Django's auth views, our templates.
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/logout/", SignOutView.as_view(), name="logout"),
]

handler404 = "reservations.views.not_found"
handler500 = "reservations.views.server_error"
