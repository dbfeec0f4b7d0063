"""The bare site's one route, at the same path as TicketBoss's reservation collection."""

from django.urls import path

from bench.bare_site.views import NoopView

urlpatterns = [path("reservations", NoopView.as_view())]
