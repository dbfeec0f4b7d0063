"""Fixtures for the organizer console in Chromium: a keys-mode server with the organizer
`boss`, browser pages signed in as `boss`, and `boss`'s API session to check against."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from reservations import clock
from tests.access.conftest import PASSWORD, Site, start_site
from tests.browser.conftest import DESKTOP, PageWatch

_numbers = itertools.count(1)


@dataclass
class ConsoleSite:
    """The server, the signed-in browser state, and API calls made as the organizer."""

    site: Site
    clock_path: Path  # the server's clock file (reservations.clock): real time unless moved
    signed_in: dict[str, Any] = field(default_factory=dict)  # Playwright storage state
    _api: requests.Session | None = None

    def reserve_minutes_ago(
        self, event_id: str, partner_id: str, seats: int, minutes: int
    ) -> requests.Response:
        """Book as if `minutes` ago (the server's clock shifted back, then real again), so
        sales spread over minutes as on a real on-sale day."""
        clock.set_time(self.clock_path, offset_ms=-minutes * 60_000)
        try:
            return self.reserve(event_id, partner_id, seats)
        finally:
            clock.set_time(self.clock_path, offset_ms=0)

    def url(self, path: str) -> str:
        return self.site.url(path)

    @property
    def api(self) -> requests.Session:
        """`boss` over HTTP: session cookie, and the CSRF token DRF asks of session writes."""
        if self._api is None:
            session = self.site.organizer("boss")
            session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
            self._api = session
        return self._api

    def new_event(self, *, seats: int = 100, name: str = "Console Test Fest", **fields: Any) -> str:
        event_id = f"console-{next(_numbers)}"
        body = {"eventId": event_id, "name": name, "totalSeats": seats, **fields}
        answer = self.api.post(self.url("/events"), json=body, timeout=10)
        assert answer.status_code == 201, answer.text
        return event_id

    def reserve(self, event_id: str, partner_id: str, seats: int) -> requests.Response:
        return self.api.post(
            self.url(f"/events/{event_id}/reservations"),
            json={"partnerId": partner_id, "seats": seats},
            timeout=10,
        )

    def summary(self, event_id: str) -> dict[str, Any]:
        return self.site.summary(event_id)

    def all_reservations(self, event_id: str) -> list[dict[str, Any]]:
        """Every page of the organizer list, following `next`."""
        rows: list[dict[str, Any]] = []
        link: str | None = self.url(f"/events/{event_id}/reservations?limit=500")
        while link:
            page = self.api.get(link, timeout=10)
            assert page.status_code == 200, page.text
            rows += page.json()["results"]
            link = page.json()["next"]
        return rows


@pytest.fixture(scope="module")
def console_site(
    request: pytest.FixtureRequest, tmp_path_factory, chromium
) -> Iterator[ConsoleSite]:
    """A keys-mode server on the JSON store; `boss` signs in once through the page."""
    folder = tmp_path_factory.mktemp("console")
    clock_path = folder / "clock"
    clock.set_time(clock_path, offset_ms=0)
    for site in start_site(request, folder, "json", TICKETBOSS_CLOCK_FILE=str(clock_path)):
        site.add_user("boss", staff=True)
        console = ConsoleSite(site, clock_path)
        context = chromium.new_context(viewport=DESKTOP)
        try:
            page = context.new_page()
            page.goto(site.url("/console/"))
            sign_in(page)
            expect(page.get_by_role("heading", name="Events", exact=True)).to_be_visible()
            console.signed_in = context.storage_state()
        finally:
            context.close()
        yield console


def sign_in(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def open_console(chromium, console_site: ConsoleSite) -> Iterator[Callable[..., Any]]:
    """Open a console page as `boss` in a fresh browser context, watched like the
    dashboard's pages: a console error or a request to another origin fails the test."""
    contexts, watches, expected = [], [], set()

    def open_(
        path: str = "/console/",
        *,
        viewport: dict[str, int] | None = None,
        color_scheme: str = "light",
        timezone_id: str | None = None,
        signed_in: bool = True,
    ):  # type: ignore[no-untyped-def]
        options: dict[str, Any] = {"viewport": viewport or DESKTOP, "color_scheme": color_scheme}
        if timezone_id:
            options["timezone_id"] = timezone_id
        if signed_in:
            options["storage_state"] = console_site.signed_in
        context = chromium.new_context(accept_downloads=True, **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        watch = PageWatch(console_site.site.server.base_url)
        watch.expected_statuses = expected  # shared: expect_status() below fills it
        watch.attach(page)
        watches.append(watch)
        page.goto(console_site.url(path))
        return page

    open_.expect_status = expected.add  # type: ignore[attr-defined]
    yield open_
    for context in contexts:
        context.close()
    for watch in watches:
        assert watch.console_errors == [], "console errors on the page"
        assert watch.foreign_requests == [], "requests to other origins"
