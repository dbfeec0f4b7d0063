"""The bare site's routes, at the same paths as TicketBoss's reservation endpoints."""

from django.urls import path

from bench.bare_site.views import NoopItemView, NoopView

urlpatterns = [
    path("reservations", NoopView.as_view()),
    path("reservations/<str:reservation_id>", NoopItemView.as_view()),
]
