"""The page follows the server's settings and rules: its default event, its id rule."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PageWatch, api_reserve, expect_http_error

pytestmark = [pytest.mark.browser, pytest.mark.system]


def test_the_page_opens_on_the_configured_default_event(chromium, server_factory, tmp_path):
    from reservations.store import build_store

    data_dir = tmp_path / "data"
    store = build_store("json", data_dir)
    try:  # "alpha-fest" sorts first: the page used to fall back to it
        store.ensure_event(event_id="alpha-fest", name="Alpha Fest", total_seats=50)
        store.ensure_event(event_id="jazz-night", name="Jazz Night", total_seats=30)
    finally:
        store.close()
    server = server_factory(data_dir=data_dir, env={"TICKETBOSS_DEFAULT_EVENT": "jazz-night"})

    context = chromium.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        watch = PageWatch(server.base_url)
        watch.attach(page)
        page.goto(server.url("/"))
        expect(page.locator("#event-name")).to_have_text("Jazz Night")
        expect(page.get_by_label("Event")).to_have_value("jazz-night")
        expect(page.locator(".card-summary [data-field=availableSeats]")).to_have_text("30")
        expect(page.locator("#connection")).to_have_text("Live")
    finally:
        context.close()
    assert watch.console_errors == []
    assert watch.foreign_requests == []


def test_the_cancel_form_asks_for_the_ids_one_spelling(open_page, new_event, dashboard_server):
    """An uppercase id is not an id (the server answers 404): the form says so at once."""
    event_id = new_event(seats=10)
    reservation_id = api_reserve(dashboard_server, event_id, "id-rule", 3)
    page = open_page(event_id)
    deletes: list[str] = []
    page.on("request", lambda r: deletes.append(r.url) if r.method == "DELETE" else None)
    field = page.get_by_role("textbox", name="Reservation ID")
    cancel = page.get_by_role("button", name="Cancel", exact=True)

    expect_http_error(page, 404)  # only if the page wrongly sent it; asserted below
    field.fill(reservation_id.upper())
    cancel.click()
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#reservation-id-hint")).to_contain_text("lowercase, with dashes")
    expect(field).to_be_focused()
    assert deletes == []

    field.fill(reservation_id)
    cancel.click()
    expect(page.get_by_role("status")).to_contain_text("Reservation cancelled")
    expect(page.locator(".card-summary [data-field=availableSeats]")).to_have_text("10")
    answer = requests.get(dashboard_server.url(f"/reservations/{reservation_id}"), timeout=10)
    assert answer.json()["status"] == "cancelled"
