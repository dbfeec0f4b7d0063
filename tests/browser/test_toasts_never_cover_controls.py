"""The page's main flow: reserve, paste the id from the toast, click Cancel, at once.

The confirmation toast stays up for 7 s; a person who copies the id out of it goes
straight on to the Cancel form. No toast may sit on the control they need next:
the click must land (Playwright's normal actionability checks, nothing forced, no
waiting for the toast to go away), and the toast must not hide the button.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.system]

VIEWPORTS = {
    "1280x860": {"width": 1280, "height": 860},
    "1440x900": {"width": 1440, "height": 900},
    "1024x768": {"width": 1024, "height": 768},
    "390x844": {"width": 390, "height": 844},
}
# Far below the toast's 7 s: "at once", so a click that only lands once the toast has
# gone away fails instead of passing slowly.
AT_ONCE_MS = 2_000

# True when no toast's box overlaps the element's box (both in viewport coordinates).
UNCOVERED = """(element) => {
    const box = element.getBoundingClientRect();
    return [...document.querySelectorAll(".toast")].every((toast) => {
        const t = toast.getBoundingClientRect();
        return t.right <= box.left || t.left >= box.right
            || t.bottom <= box.top || t.top >= box.bottom;
    });
}"""


@pytest.mark.parametrize("viewport", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_reserve_paste_the_id_and_cancel_at_once(open_page, new_event, viewport) -> None:
    page = open_page(new_event(seats=30), viewport=viewport)
    available = page.locator(".card-summary [data-field=availableSeats]")
    expect(available).to_have_text("30")

    page.get_by_label("Partner ID").fill("toast-flow")
    page.get_by_label("Seats").fill("2")
    page.get_by_role("button", name="Reserve").click()
    toast = page.get_by_role("status").locator(".toast", has_text="Reservation confirmed")
    expect(toast).to_be_visible()
    expect(available).to_have_text("28")
    reservation_id = toast.locator("code").inner_text()

    page.get_by_role("textbox", name="Reservation ID").fill(reservation_id)
    cancel = page.get_by_role("button", name="Cancel", exact=True)
    cancel.scroll_into_view_if_needed()
    # The button is in view and no toast lies over it (the toast is still showing).
    page.wait_for_function(UNCOVERED, arg=cancel.element_handle(), timeout=AT_ONCE_MS)
    expect(toast).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)  # what the person sees at that moment (the viewport)
    page.screenshot(
        path=ARTIFACTS / f"toast-before-cancel-{viewport['width']}x{viewport['height']}.png"
    )

    cancel.click(timeout=AT_ONCE_MS)

    expect(page.get_by_role("status")).to_contain_text("Reservation cancelled")
    expect(available).to_have_text("30")
    expect(page.get_by_role("textbox", name="Reservation ID")).to_have_value("")
