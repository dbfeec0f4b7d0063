"""Holds on the dashboard in Chromium: hold, watch the countdown, confirm; and a hold
left to expire (a 2-second event default), its toast, and its seats coming back.

The server runs on real time here (a browser's countdown follows its own clock), so
the expiry test waits for what a person would see, with a deadline; it never sleeps.
"""

from __future__ import annotations

import itertools
import os
import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_dashboard import available

pytestmark = [pytest.mark.browser, pytest.mark.system]

_numbers = itertools.count(1)


def event_with_holds(server, *, seats: int, hold_seconds: int) -> str:
    from reservations.store import build_store

    event_id = f"browser-holds-{os.getpid()}-{next(_numbers)}"
    store = build_store("json", server.data_dir)
    try:
        store.ensure_event(
            event_id=event_id, name="Hold Fest", total_seats=seats, hold_seconds=hold_seconds
        )
    finally:
        store.close()
    return event_id


def hold_in_form(page, partner_id: str, seats: int) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Partner ID").fill(partner_id)
    page.get_by_label("Seats").fill(str(seats))
    page.get_by_role("button", name="Hold", exact=True).click()


def held(page):  # type: ignore[no-untyped-def]
    return page.locator(".card-summary [data-field=heldSeats]")


def test_hold_watch_the_countdown_and_confirm(open_page, dashboard_server) -> None:
    page = open_page(event_with_holds(dashboard_server, seats=10, hold_seconds=600))
    hold_in_form(page, "checkout", 3)
    expect(page.get_by_role("status")).to_contain_text("Seats held")
    expect(available(page)).to_have_text("7")
    expect(held(page)).to_have_text("3")
    countdown = page.locator(".mine-countdown")
    expect(countdown).to_have_text(re.compile(r"Held · (10:00|9:5\d) left to confirm"))
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first, timeout=3_000)  # it ticks
    rid = page.locator("#mine-list code").inner_text()
    page.get_by_role("button", name=f"Confirm hold {rid}").click()
    expect(page.get_by_role("status")).to_contain_text("Reservation confirmed")
    expect(held(page)).to_have_text("0")
    expect(page.locator(".card-summary [data-field=reservedSeats]")).to_have_text("3")
    expect(page.locator(".mine-countdown")).to_have_count(0)
    expect(page.get_by_role("button", name=f"Cancel reservation {rid}")).to_be_visible()


def test_release_a_hold(open_page, dashboard_server) -> None:
    page = open_page(event_with_holds(dashboard_server, seats=10, hold_seconds=600))
    hold_in_form(page, "walks-away", 4)
    expect(available(page)).to_have_text("6")
    rid = page.locator("#mine-list code").inner_text()
    page.get_by_role("button", name=f"Release hold {rid}").click()
    expect(page.get_by_role("status")).to_contain_text("Hold released")
    expect(available(page)).to_have_text("10")
    expect(page.locator("#mine-list li")).to_have_count(0)


def test_a_hold_left_alone_expires_with_a_toast_and_the_seats_return(
    open_page, dashboard_server
) -> None:
    page = open_page(event_with_holds(dashboard_server, seats=5, hold_seconds=2))
    hold_in_form(page, "slow-payer", 5)
    expect(available(page)).to_have_text("0")
    expect(page.locator(".mine-countdown")).to_be_visible()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Hold expired", timeout=8_000)
    expect(alert).to_contain_text("5 seats for slow-payer")
    expect(available(page)).to_have_text("5")
    expect(held(page)).to_have_text("0")
    expect(page.locator("#mine-list li")).to_have_count(0)
