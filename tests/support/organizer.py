"""An organizer's browser session against a real server, for the organizer API tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.access.conftest import Site, start_site


class Organizer:
    """A staff user signed in at /accounts/login/; every request carries the CSRF token
    from the session's cookie, as the console's pages send it."""

    def __init__(self, site: Site, username: str = "boss") -> None:
        self.site = site
        self.http = site.organizer(username)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"X-CSRFToken": self.http.cookies["csrftoken"], **kwargs.pop("headers", {})}
        return self.http.request(method, self.site.url(path), headers=headers, timeout=30, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, json=body, **kwargs)

    def create_event(self, *, seats: int = 100, **fields: Any) -> str:
        """A new event with a fresh id; its id."""
        event_id = fields.pop("eventId", None) or new_event_id()
        body = {"eventId": event_id, "name": f"Event {event_id}", "totalSeats": seats, **fields}
        made = self.post("/events", body)
        assert made.status_code == 201, made.text
        return event_id

    def book(self, event_id: str, partner_id: str, seats: int = 1, *, hold: bool = False) -> str:
        """Reserve (or hold) for any partner, as organizers may; the reservation id."""
        kind = "holds" if hold else "reservations"
        made = self.post(f"/events/{event_id}/{kind}", {"partnerId": partner_id, "seats": seats})
        assert made.status_code == 201, made.text
        return made.json()["reservationId"]

    def all_reservations(self, event_id: str, **params: Any) -> list[dict[str, Any]]:
        """Every page of the list, following `next`."""
        rows: list[dict[str, Any]] = []
        response = self.get(f"/events/{event_id}/reservations", params=params)
        while True:
            assert response.status_code == 200, response.text
            page = response.json()
            rows += page["results"]
            if page["next"] is None:
                return rows
            response = self.http.get(page["next"], timeout=30)


def new_event_id() -> str:
    return f"ev-{uuid.uuid4().hex[:12]}"


def prepared_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, **env: str
) -> Iterator[Site]:
    """A server on the store `request.param` (keys mode unless `env` says otherwise), as an
    operator sets one up: the organizer `boss` (staff), `viewer` (signed in, not staff)
    and, in keys mode, the partners acme and globex with a key each."""
    store = request.param
    folder = tmp_path_factory.mktemp(f"organizer-{store}")
    for site in start_site(request, folder, store, **env):
        keys_mode = env.get("TICKETBOSS_AUTH", "keys") == "keys"
        keys = site.set_up(
            partners=("acme", "globex") if keys_mode else (), staff=("boss",), others=("viewer",)
        )
        if keys_mode:
            site.keys = keys
        yield site
