"""Organizer sign-in and sign-out pages (Django's auth views in the dashboard's style).

Sessions and CSRF are Django's; failed sign-ins are counted by django-axes per
account and per address (settings.AXES_*), the address taken exactly as the
API's throttles take it, so a forged X-Forwarded-For dodges nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from rest_framework.throttling import BaseThrottle


def client_address(request: HttpRequest) -> str:
    """The TCP peer, or the address TICKETBOSS_NUM_PROXIES trusted proxies report (DRF's rule)."""
    return BaseThrottle().get_ident(request)


def _page_context(request: HttpRequest) -> dict[str, Any]:
    return {"static_root": request.build_absolute_uri(static("ticketboss/"))}


class SignInView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), **_page_context(self.request)}


class SignOutView(auth_views.LogoutView):
    """GET asks (a form with CSRF), POST signs out: a link alone must never sign anyone out."""

    http_method_names = ["get", "post", "options"]
    template_name = "registration/logged_out.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return render(request, "registration/logout.html", _page_context(request))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), **_page_context(self.request)}
