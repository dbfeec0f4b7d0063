"""With live streams switched off, the page says so and polls the summary instead."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP
from tests.browser.test_dashboard import available

pytestmark = [pytest.mark.browser, pytest.mark.system]


def test_page_polls_when_streams_are_off(chromium, server_factory) -> None:
    import requests

    server = server_factory(
        env={"TICKETBOSS_STREAMS": "off", "TICKETBOSS_POLL_INTERVAL": "1"}, workers=1
    )
    context = chromium.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.goto(server.url("/"))
        expect(page.locator("#connection")).to_have_text("Polling every 1 s")
        expect(available(page)).to_have_text("500")

        response = requests.post(
            server.url("/reservations"), json={"partnerId": "poll-me", "seats": 7}, timeout=10
        )
        assert response.status_code == 201
        expect(available(page)).to_have_text("493", timeout=3000)
    finally:
        context.close()
