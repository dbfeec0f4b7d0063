"""The bare site's routes, at the same paths as TicketBoss's reservation and hold endpoints."""

from django.urls import path

from bench.bare_site.views import NoopConfirmView, NoopEventView, NoopItemView, NoopView

urlpatterns = [
    path("reservations", NoopView.as_view()),
    path("events/<str:event_id>/reservations", NoopEventView.as_view()),
    path("reservations/<str:reservation_id>", NoopItemView.as_view()),
    path("holds", NoopView.as_view()),
    path("reservations/<str:reservation_id>/confirm", NoopConfirmView.as_view()),
]
