"""Real Chromium (Debian's) driven by Playwright against a real TicketBoss server.

Every page made by the `page` fixture fails its test on a console error, an uncaught
page error, or a request to any origin other than the server's.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.conftest import skip_or_fail
from tests.support.server import ROOT, ServerProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 320, "height": 640}

pytestmark = pytest.mark.browser
_event_numbers = itertools.count(1)
_watches: dict[object, PageWatch] = {}


@pytest.fixture(scope="package")
def chromium() -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed (pip install -r requirements-test.txt)")
    if not os.access(CHROMIUM, os.X_OK):
        skip_or_fail(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="package")
def dashboard_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the browser tests (each test books on its own event).

    `Origin: null` is allowed so the page saved to disk can be tested too.
    """
    data_dir = tmp_path_factory.mktemp("dashboard") / "data"
    server = ServerProcess(data_dir=data_dir, env={"TICKETBOSS_CORS_ORIGINS": "null"})
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def new_event(dashboard_server: ServerProcess) -> Callable[..., str]:
    """Create a fresh event in the server's store (another process, as partners would)."""
    from reservations.store import build_store

    def create(*, seats: int = 500, name: str = "Browser Test Fest") -> str:
        event_id = f"browser-{os.getpid()}-{next(_event_numbers)}"
        store = build_store("json", dashboard_server.data_dir)
        try:
            store.ensure_event(event_id=event_id, name=name, total_seats=seats)
        finally:
            store.close()
        return event_id

    return create


class PageWatch:
    """What a page did that a user would call a bug: console errors, foreign requests."""

    def __init__(self, allowed_origin: str) -> None:
        self.allowed_origin = allowed_origin
        self.console_errors: list[str] = []
        self.foreign_requests: list[str] = []
        self.expected_statuses: set[int] = set()
        self.expected_patterns: list[str] = []

    def attach(self, page) -> None:  # type: ignore[no-untyped-def]
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.console_errors.append(f"pageerror: {error}"))
        page.on("request", self._on_request)

    def _on_console(self, message) -> None:  # type: ignore[no-untyped-def]
        if message.type != "error":
            return
        # Chromium logs every 4xx answer; a test that provokes one says which.
        status = re.search(r"status of (\d{3})", message.text)
        if status and int(status.group(1)) in self.expected_statuses:
            return
        if any(re.search(pattern, message.text) for pattern in self.expected_patterns):
            return
        self.console_errors.append(message.text)

    def _on_request(self, request) -> None:  # type: ignore[no-untyped-def]
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if f"{parts.scheme}://{parts.netloc}" != self.allowed_origin:
            self.foreign_requests.append(request.url)


@pytest.fixture
def open_page(chromium, dashboard_server: ServerProcess) -> Iterator[Callable[..., object]]:
    """Open the dashboard in a fresh browser context (own localStorage), watched."""
    contexts = []
    watches: list[PageWatch] = []

    def open_(
        event_id: str | None = None, *, viewport: dict | None = None, color_scheme: str = "light"
    ):  # type: ignore[no-untyped-def]
        context = chromium.new_context(viewport=viewport or DESKTOP, color_scheme=color_scheme)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        watch = PageWatch(dashboard_server.base_url)
        watch.attach(page)
        watches.append(watch)
        _watches[page] = watch
        page.goto(dashboard_server.url(f"/?event={event_id}" if event_id else "/"))
        page.locator("#connection[data-state=live]").wait_for()
        return page

    yield open_
    for context in contexts:
        context.close()
    _watches.clear()
    for watch in watches:
        assert watch.console_errors == [], "console errors on the page"
        assert watch.foreign_requests == [], "requests to other origins"


def expect_http_error(page, status: int) -> None:  # type: ignore[no-untyped-def]
    """This test provokes `status` on purpose: Chromium's log line for it is no bug."""
    _watches[page].expected_statuses.add(status)


def expect_console_error(page, pattern: str) -> None:  # type: ignore[no-untyped-def]
    """Chromium's own log lines this test provokes (e.g. going offline) are no bug."""
    _watches[page].expected_patterns.append(pattern)


def api_reserve(server: ServerProcess, event_id: str, partner_id: str, seats: int) -> str:
    response = requests.post(
        server.url(f"/events/{event_id}/reservations"),
        json={"partnerId": partner_id, "seats": seats},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()["reservationId"]


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    """Save a full-page screenshot under test-artifacts/ (git-ignored; CI keeps it)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# The organizer console's fixtures (a keys-mode server, pages signed in as an organizer).
from tests.browser.console_fixtures import console_site, open_console  # noqa: E402, F401
