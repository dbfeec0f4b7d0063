"""What a server says once when it starts (not once per worker, not as a Python warning)."""

from __future__ import annotations

from django.conf import settings


def startup_notices() -> list[str]:
    """Plain lines for the operator: today, whether the development secret key is in use."""
    notices = []
    if settings.USING_DEVELOPMENT_KEY:
        notices.append(
            "Note: DJANGO_SECRET_KEY is not set, so a development key is in use "
            "(fine on this machine; set it for a real host)."
        )
    return notices
