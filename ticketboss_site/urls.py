"""Routes: exact paths from CONTRACT.md, no trailing slashes."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from reservations import console
from reservations.accounts import SignInView, SignOutView
from reservations.api import ReservationViewSet
from reservations.organizer_api import ManagedEventViewSet, PartnerViewSet
from reservations.schema import DocsView
from reservations.views import dashboard, event_stream

reservation_collection = ReservationViewSet.as_view({"get": "list", "post": "create"})
reservation_item = ReservationViewSet.as_view({"get": "retrieve", "delete": "destroy"})
# Events: public reads and bookings, and (organizers) create, change, list, stats, export.
event_collection = ManagedEventViewSet.as_view({"get": "list", "post": "create"})
event_item = ManagedEventViewSet.as_view({"get": "retrieve", "patch": "partial_update"})
event_reservations = ManagedEventViewSet.as_view({"get": "reservations", "post": "reserve"})
event_allocation = ManagedEventViewSet.as_view({"put": "allocation"})
event_stats = ManagedEventViewSet.as_view({"get": "stats"})
event_export = ManagedEventViewSet.as_view({"get": "export"})
partner_collection = PartnerViewSet.as_view({"get": "list", "post": "create"})
partner_keys = PartnerViewSet.as_view({"post": "issue_key"})
key_item = PartnerViewSet.as_view({"delete": "revoke_key"})
holds = ReservationViewSet.as_view({"post": "hold"})
confirm = ReservationViewSet.as_view({"post": "confirm"})
event_holds = ManagedEventViewSet.as_view({"post": "hold"})

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
    path(
        "events/<str:event_id>/allocations/<path:partner_id>",
        event_allocation,
        name="event-allocation",
    ),
    path("events/<str:event_id>/stats", event_stats, name="event-stats"),
    path("events/<str:event_id>/export.csv", event_export, name="event-export"),
    # Partners and their keys, for organizers (an extension of the contract).
    path("partners", partner_collection, name="partners"),
    path("partners/<path:partner_id>/keys", partner_keys, name="partner-keys"),
    path("keys/<str:prefix>", key_item, name="key"),
    # These two keep their trailing slash, as CONTRACT.md lists them.
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", DocsView.as_view(url_name="schema"), name="docs"),
    # Organizers sign in here (CONTRACT.md "Access"); Django's auth views, our templates.
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/logout/", SignOutView.as_view(), name="logout"),
    # The organizer console (pages; its data comes from the organizer API above).
    path("console/", console.events_page, name="console"),
    path("console/events/<str:event_id>", console.event_page, name="console-event"),
    path("console/partners", console.partners_page, name="console-partners"),
]

handler404 = "reservations.views.not_found"
handler500 = "reservations.views.server_error"
