"""The dashboard in keys mode, in Chromium: a read-only live board for visitors, booking
and cancelling for a signed-in organizer (CONTRACT.md "Access")."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PageWatch, screenshot
from tests.support.server import ServerProcess, run_manage

pytestmark = [pytest.mark.browser, pytest.mark.system]

PASSWORD = "correct horse battery staple 42"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def keys_server(tmp_path_factory) -> Iterator[tuple[ServerProcess, str]]:
    """A keys-mode server with the organizer `boss` and the partner `acme` (its key)."""
    server = ServerProcess(
        data_dir=tmp_path_factory.mktemp("keys-dashboard") / "data",
        env={"TICKETBOSS_AUTH": "keys"},
    ).start()
    try:
        env = {**server.env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD}
        for args in (
            ("createsuperuser", "--no-input", "--username", "boss", "--email", "b@example.com"),
            ("create_partner", "acme"),
        ):
            assert run_manage(env, *args).returncode == 0
        key = run_manage(env, "issue_key", "acme").stdout.strip()
        yield server, key
    finally:
        server.stop()


@pytest.fixture
def open_board(chromium, keys_server) -> Iterator[Callable[..., object]]:
    server, _key = keys_server
    contexts, watches = [], []

    def open_() -> object:
        context = chromium.new_context(viewport=DESKTOP)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        watch = PageWatch(server.base_url)
        watch.attach(page)
        watches.append(watch)
        page.goto(server.url("/"))
        page.locator("#connection[data-state=live]").wait_for()
        return page

    yield open_
    for context in contexts:
        context.close()
    for watch in watches:
        assert watch.console_errors == [], "console errors on the page"
        assert watch.foreign_requests == [], "requests to other origins"


def available(page):  # type: ignore[no-untyped-def]
    return page.locator(".card-summary [data-field=availableSeats]")


def test_visitors_see_the_live_board_read_only(open_board, keys_server) -> None:
    server, key = keys_server
    page = open_board()
    expect(page.get_by_role("link", name="Sign in to book")).to_be_visible()
    expect(page.locator("form")).to_have_count(0)
    expect(page.get_by_label("Partner ID")).to_have_count(0)
    expect(page.get_by_role("button", name="Reserve")).to_have_count(0)
    before = int(available(page).inner_text().replace(",", ""))
    made = requests.post(
        server.url("/reservations"),
        json={"seats": 2},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert made.status_code == 201
    expect(available(page)).to_have_text(f"{before - 2:,}")  # the stream still reaches them
    screenshot(page, "dashboard-keys-read-only")


def test_an_organizer_signs_in_books_cancels_and_signs_out(open_board) -> None:
    page = open_board()
    page.get_by_role("link", name="Sign in to book").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, "sign-in")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#connection[data-state=live]").wait_for()
    expect(page.locator("#account")).to_contain_text("Signed in as boss")
    screenshot(page, "dashboard-keys-organizer")
    before = int(available(page).inner_text().replace(",", ""))

    page.get_by_label("Partner ID").fill("walk-in")
    page.get_by_label("Seats").fill("3")
    page.get_by_role("button", name="Reserve").click()
    toast = page.get_by_role("status").locator(".toast").first
    expect(toast).to_contain_text("Reservation confirmed")
    reservation_id = UUID.search(toast.inner_text()).group(0)
    expect(available(page)).to_have_text(f"{before - 3:,}")

    page.get_by_role("button", name=f"Cancel reservation {reservation_id}").click()
    expect(page.get_by_role("status")).to_contain_text("Reservation cancelled")
    expect(available(page)).to_have_text(f"{before:,}")

    page.get_by_role("link", name="Sign out").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Signed out")).to_be_visible()
    page.goto(page.url.split("/accounts/")[0] + "/")
    expect(page.get_by_role("link", name="Sign in to book")).to_be_visible()


def test_a_wrong_password_says_so_and_signs_nobody_in(open_board) -> None:
    page = open_board()
    page.get_by_role("link", name="Organizer sign-in").click()
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")


def test_the_docs_page_takes_a_pasted_key_and_tries_the_api(chromium, keys_server) -> None:
    server, key = keys_server
    context = chromium.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        watch = PageWatch(server.base_url)
        watch.attach(page)
        page.goto(server.url("/api/docs/"))
        page.get_by_role("button", name=re.compile("Authorize")).first.click()
        bearer = page.locator(".modal-ux form", has=page.locator("#auth-bearer-value"))
        bearer.locator("#auth-bearer-value").fill(key)
        bearer.get_by_role("button", name="Apply credentials").click()
        expect(page.locator(".modal-ux")).to_contain_text("Authorized")
        page.locator(".modal-ux button.btn-done").first.click()

        operation = page.locator("#operations-reservations-reservations_create")
        operation.locator(".opblock-summary").click()
        operation.get_by_role("button", name="Try it out").click()
        operation.locator("textarea.body-param__text").fill('{"seats": 2}')
        operation.get_by_role("button", name="Execute").click()
        status = operation.locator(".live-responses-table tbody .response-col_status").first
        expect(status).to_have_text("201")
        assert key not in page.url
        assert watch.console_errors == [] and watch.foreign_requests == []
    finally:
        context.close()
