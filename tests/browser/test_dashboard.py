"""The dashboard in Debian's Chromium: what a person does, sees and must never see."""

from __future__ import annotations

import re
import time

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    api_reserve,
    expect_console_error,
    expect_http_error,
    screenshot,
)

pytestmark = [pytest.mark.browser, pytest.mark.system]

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def available(page):  # type: ignore[no-untyped-def]
    return page.locator(".card-summary [data-field=availableSeats]")


def reserve_in_form(page, partner_id: str, seats: int | str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Partner ID").fill(partner_id)
    page.get_by_label("Seats").fill(str(seats))
    page.get_by_role("button", name="Reserve").click()


def test_reserve_through_the_form(open_page, new_event) -> None:
    event_id = new_event(seats=40)
    page = open_page(event_id)
    expect(available(page)).to_have_text("40")

    reserve_in_form(page, "abc-corp", 3)

    toast = page.get_by_role("status").locator(".toast")
    expect(toast).to_contain_text("Reservation confirmed")
    expect(toast).to_contain_text("3 seats for abc-corp")
    reservation_id = UUID.search(toast.inner_text()).group(0)
    expect(available(page)).to_have_text("37")
    expect(page.locator(".card-summary [data-field=reservationCount]")).to_have_text("1")
    mine = page.locator("#mine-list")
    expect(mine).to_contain_text(reservation_id)
    expect(mine).to_contain_text("3 seats · abc-corp")
    expect(page.get_by_role("button", name="Reserve")).to_be_enabled()


def test_a_double_click_reserves_once(open_page, new_event) -> None:
    page = open_page(new_event(seats=10))
    posts: list[str] = []
    page.on("request", lambda request: request.method == "POST" and posts.append(request.url))
    page.get_by_label("Partner ID").fill("double-clicker")
    page.get_by_label("Seats").fill("2")
    page.get_by_role("button", name="Reserve").dblclick()
    expect(page.get_by_role("status")).to_contain_text("Reservation confirmed")
    expect(page.get_by_role("button", name="Reserve")).to_be_enabled()
    assert len(posts) == 1
    expect(available(page)).to_have_text("8")


def test_network_down_shows_its_own_toast(open_page, new_event) -> None:
    page = open_page(new_event(seats=10))
    expect_console_error(page, r"ERR_INTERNET_DISCONNECTED")
    page.context.set_offline(True)
    reserve_in_form(page, "offline-partner", 1)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Network down")
    expect(alert).to_contain_text("could not be reached")
    page.context.set_offline(False)
    reserve_in_form(page, "offline-partner", 1)  # the same booking, retried once back online
    expect(page.get_by_role("status")).to_contain_text("Reservation confirmed")
    expect(available(page)).to_have_text("9")


def test_cancel_through_the_form_and_twice(open_page, new_event, dashboard_server) -> None:
    event_id = new_event(seats=20)
    reservation_id = api_reserve(dashboard_server, event_id, "partner-x", 5)
    page = open_page(event_id)
    expect(available(page)).to_have_text("15")

    page.get_by_label("Reservation ID").fill(reservation_id)
    page.get_by_role("button", name="Cancel", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Reservation cancelled")
    expect(available(page)).to_have_text("20")

    expect_http_error(page, 404)
    page.get_by_label("Reservation ID").fill(reservation_id)
    page.get_by_role("button", name="Cancel", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Reservation not found or already cancelled")


def test_cancel_from_your_reservations(open_page, new_event) -> None:
    page = open_page(new_event(seats=10))
    reserve_in_form(page, "mine-partner", 2)
    expect(available(page)).to_have_text("8")
    reservation_id = page.locator("#mine-list code").inner_text()

    page.get_by_role("button", name=f"Cancel reservation {reservation_id}").click()
    expect(page.get_by_role("status")).to_contain_text("Reservation cancelled")
    expect(available(page)).to_have_text("10")
    expect(page.locator("#mine-list li")).to_have_count(0)


@pytest.mark.parametrize(
    ("partner_id", "seats", "field", "hint"),
    [
        ("abc-corp", "0", "Seats", "Reserve at least 1 seat."),
        ("abc-corp", "11", "Seats", "At most 10 seats per reservation."),
        ("   ", "2", "Partner ID", "Enter a partner ID."),
        ("abc-corp", "", "Seats", "Enter how many seats, from 1 to 10."),
    ],
    ids=["zero-seats", "eleven-seats", "blank-partner", "blank-seats"],
)
def test_inline_hint_before_anything_is_sent(
    open_page, new_event, partner_id, seats, field, hint
) -> None:
    page = open_page(new_event(seats=10))
    posts: list[str] = []
    page.on(
        "request", lambda request: posts.append(request.url) if request.method == "POST" else None
    )

    page.get_by_label(field).fill("x" if field == "Partner ID" else "5")  # typed, then changed
    reserve_in_form(page, partner_id, seats)

    expect(page.get_by_label(field)).to_have_attribute("aria-invalid", "true")
    expect(
        page.locator(f"#{page.get_by_label(field).get_attribute('aria-describedby')}")
    ).to_have_text(hint)
    expect(page.get_by_label(field)).to_be_focused()
    assert posts == []
    expect(available(page)).to_have_text("10")


def test_malformed_reservation_id_hint(open_page, new_event) -> None:
    page = open_page(new_event(seats=10))
    page.get_by_label("Reservation ID").fill("not-an-id")
    expect(page.locator("#reservation-id-hint")).to_contain_text("A reservation ID looks like")
    page.get_by_label("Reservation ID").fill("6e43b66b-1c2d-4e5f-8a9b-0c1d2e3f4a5b")
    expect(page.locator("#reservation-id-hint")).to_have_text(
        "The id you were given when you reserved."
    )


def test_sold_out_shows_the_409_toast(open_page, new_event, dashboard_server) -> None:
    event_id = new_event(seats=3)
    api_reserve(dashboard_server, event_id, "early-bird", 3)
    page = open_page(event_id)
    expect(page.get_by_text("Sold out", exact=True)).to_be_visible()

    expect_http_error(page, 409)
    reserve_in_form(page, "late-comer", 1)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Not enough seats")
    expect(alert).to_contain_text("Not enough seats left")
    expect(available(page)).to_have_text("0")


def test_a_booking_shows_on_another_open_page_within_two_seconds(
    open_page, new_event, dashboard_server
) -> None:
    event_id = new_event(seats=100)
    booker = open_page(event_id)
    watcher = open_page(event_id)

    reserve_in_form(booker, "page-one", 4)
    expect(booker.get_by_role("status")).to_contain_text("Reservation confirmed")
    expect(available(watcher)).to_have_text("96", timeout=2000)

    api_reserve(dashboard_server, event_id, "partner-api", 6)
    answered = time.monotonic()
    expect(available(watcher)).to_have_text("90", timeout=2000)
    expect(available(booker)).to_have_text("90", timeout=2000)
    assert time.monotonic() - answered < 2.0
    expect(watcher.locator("#connection")).to_have_text("Live")


OVERFLOWING = """() => {
    const width = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll("body *")].filter((node) => {
        const box = node.getBoundingClientRect();
        return box.width > 0 && box.right > width + 0.5 && !node.closest(".toasts");
    });
    return {
        scroll: document.documentElement.scrollWidth, width,
        wide: wide.map((node) => node.id || node.className || node.tagName),
    };
}"""


@pytest.mark.parametrize("seats", [10, 9_999_999], ids=["small-event", "ten-million-seats"])
def test_phone_viewport_has_no_sideways_scroll(open_page, new_event, seats) -> None:
    event_id = new_event(seats=seats, name="A Very Long Event Name For A Small Phone Screen")
    page = open_page(event_id, viewport=PHONE)
    reserve_in_form(page, "partner-with-a-rather-long-identifier-" + "x" * 40, 2)
    expect(page.get_by_role("status")).to_contain_text("Reservation confirmed")
    page.get_by_label("Seats").fill("11")

    layout = page.evaluate(OVERFLOWING)
    assert layout["scroll"] <= layout["width"], layout
    assert layout["wide"] == [], layout
    assert page.evaluate(STAT_LINES) == {"totalSeats": 1, "reservedSeats": 1, "heldSeats": 1,
                                         "reservationCount": 1, "version": 1}  # fmt: skip
    screenshot(page, f"dashboard-phone-320-{seats}-seats")


# How many lines each summary figure takes (a number broken over two lines is hard to read).
STAT_LINES = """() => Object.fromEntries([...document.querySelectorAll(".stat dd")].map((node) => {
    const lineHeight = parseFloat(getComputedStyle(node).lineHeight);
    return [node.dataset.field, Math.round(node.getBoundingClientRect().height / lineHeight)];
}))"""


# Each summary tile whose label or figure reaches past its tile's inner edge.
STAT_SPILLS = """() => [...document.querySelectorAll(".stat")].flatMap((tile) => {
    const style = getComputedStyle(tile);
    const inner = tile.getBoundingClientRect().right - parseFloat(style.paddingRight)
        - parseFloat(style.borderRightWidth);
    return [...tile.children].filter((part) => {
        const range = document.createRange();
        range.selectNodeContents(part);
        return range.getBoundingClientRect().right > inner + 0.5;
    }).map((part) => part.textContent);
})"""


@pytest.mark.parametrize(
    "viewport",
    [PHONE, {"width": 768, "height": 1024}, {"width": 1280, "height": 900}],
    ids=["phone-320", "tablet-768", "desktop-1280"],
)
def test_the_largest_event_fits_every_summary_tile(open_page, new_event, viewport) -> None:
    """10,000,000 seats, the most an event may have: each figure on one line, no digit broken
    off, and no label or figure reaching past its tile, on a phone, a tablet and a desktop."""
    page = open_page(new_event(seats=10_000_000), viewport=viewport)
    expect(page.locator('[data-field="totalSeats"]')).to_have_text("10,000,000")
    assert page.evaluate(STAT_LINES) == {"totalSeats": 1, "reservedSeats": 1, "heldSeats": 1,
                                         "reservationCount": 1, "version": 1}  # fmt: skip
    assert page.evaluate(STAT_SPILLS) == []
    screenshot(page, f"dashboard-{viewport['width']}-ten-million-seats")


def test_partner_id_with_html_is_shown_as_text(open_page, new_event) -> None:
    page = open_page(new_event(seats=10))
    payload = '<img src=x onerror="window.__pwned=1"><b>bold</b>'
    reserve_in_form(page, payload, 1)

    expect(page.get_by_role("status")).to_contain_text(payload)
    expect(page.locator("#mine-list")).to_contain_text(payload)
    assert page.locator("img, b").count() == 0
    assert page.evaluate("window.__pwned") is None


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_axe_finds_no_serious_or_critical_violation(open_page, new_event, color_scheme) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page = open_page(new_event(seats=10), color_scheme=color_scheme)
    reserve_in_form(page, "axe-partner", 2)  # audit the page with a toast and a list item
    expect(page.get_by_role("status")).to_contain_text("Reservation confirmed")
    page.get_by_label("Seats").fill("11")  # and an inline hint

    results = Axe().run(page)
    bad = [
        f"{item['id']} ({item['impact']}): {[node['target'] for node in item['nodes']]}"
        for item in results.response["violations"]
        if item["impact"] in ("serious", "critical")
    ]
    assert bad == []


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_screenshots(open_page, new_event, dashboard_server, color_scheme) -> None:
    event_id = new_event(seats=120, name="Summer Fest 2026")
    for partner, seats in (("abc-corp", 10), ("tix-partner", 8), ("big-events", 10)):
        api_reserve(dashboard_server, event_id, partner, seats)
    desktop = open_page(event_id, viewport=DESKTOP, color_scheme=color_scheme)
    reserve_in_form(desktop, "abc-corp", 3)
    expect(desktop.get_by_role("status")).to_contain_text("Reservation confirmed")
    assert screenshot(desktop, f"dashboard-desktop-{color_scheme}").stat().st_size > 10_000

    phone = open_page(event_id, viewport={"width": 390, "height": 844}, color_scheme=color_scheme)
    expect(available(phone)).to_have_text("89")
    assert screenshot(phone, f"dashboard-phone-{color_scheme}").stat().st_size > 10_000


def test_event_picker_lists_every_event(open_page, new_event) -> None:
    first = new_event(seats=10, name="Picker One")
    second = new_event(seats=30, name="Picker Two")
    page = open_page(first)
    picker = page.get_by_label("Event")
    expect(picker).to_be_visible()
    expect(page.locator("#event-name")).to_have_text("Picker One")

    picker.select_option(second)
    expect(page.locator("#event-name")).to_have_text("Picker Two")
    expect(available(page)).to_have_text("30")
    expect(page.locator("#connection")).to_have_text("Live")


def test_page_saved_to_disk_works_against_the_server(
    chromium, new_event, dashboard_server, tmp_path
) -> None:
    event_id = new_event(seats=10)
    index = tmp_path / "index.html"
    index.write_text(requests.get(dashboard_server.url("/"), timeout=10).text)
    context = chromium.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.goto(index.as_uri() + f"?event={event_id}")
        expect(page.locator("#connection")).to_have_text("Live")
        reserve_in_form(page, "offline-file", 2)
        expect(page.get_by_role("status")).to_contain_text("Reservation confirmed")
        expect(available(page)).to_have_text("8")
    finally:
        context.close()
