"""One route, at the path `python -m bench` drives."""

from django.urls import path

from bench.floor_site.views import StoreOnlyReserveView

urlpatterns = [path("reservations", StoreOnlyReserveView.as_view())]
