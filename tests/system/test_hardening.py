"""Hardening: deploy checks, secrets, security headers, CORS and rate limits."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from html.parser import HTMLParser

import pytest
import requests

from tests.support.server import ROOT

pytestmark = pytest.mark.system

PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "tickets.example.com",
    "DJANGO_SECURE_HSTS_PRELOAD": "1",
}


def django(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "ticketboss_site.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


# --------------------------------------------------------------------------- settings


def test_check_deploy_is_clean_under_production_settings() -> None:
    result = django("manage.py", "check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_development_key_is_refused_for_a_real_host() -> None:
    env = {**PRODUCTION, "DJANGO_SECRET_KEY": ""}
    result = django("manage.py", "check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_development_key_is_fine_for_local_commands() -> None:
    """Local use works with the development key; the server says so once when it starts
    (tests/system/test_entry_points.py), commands say nothing."""
    result = django("manage.py", "check", env={})
    assert result.returncode == 0
    assert "Warning" not in result.stderr


@pytest.mark.parametrize(("value", "debug"), [(None, False), ("0", False), ("1", True)])
def test_debug_is_on_only_when_asked(value: str | None, debug: bool) -> None:
    env = {} if value is None else {"DJANGO_DEBUG": value}
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    result = django("-c", code, env=env)
    assert result.stdout.strip() == str(debug), result.stderr


# --------------------------------------------------------------------------- headers


class _InlineScripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._inline = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        kind = (values.get("type") or "text/javascript").lower()
        runs = kind in ("text/javascript", "module", "application/javascript")
        self._inline = tag == "script" and runs and not values.get("src")  # JSON data is fine
        self.found += [name for name, _ in attrs if name.startswith("on")]  # onclick=...

    def handle_data(self, data: str) -> None:
        if self._inline and data.strip():
            self.found.append(data.strip()[:80])

    def handle_endtag(self, tag: str) -> None:
        self._inline = False


@pytest.fixture(scope="module")
def hardened(tmp_path_factory):
    from tests.support.server import ServerProcess

    data = tmp_path_factory.mktemp("hardening") / "data"
    server = ServerProcess(
        data_dir=data, env={"TICKETBOSS_CORS_ORIGINS": "https://partner.example"}
    ).start()
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),
        ("/reservations", 200),
        ("/events/node-meetup-2025", 200),
        ("/reservations/not-a-reservation", 404),
        ("/no/such/page", 404),
        ("/api/docs/", 200),
        ("/api/schema/", 200),
    ],
)
def test_security_headers_on_pages_api_and_errors(hardened, path: str, status: int) -> None:
    response = requests.get(hardened.url(path), timeout=10)
    assert response.status_code == status
    headers = response.headers
    directives = (
        part.strip().partition(" ") for part in headers["Content-Security-Policy"].split(";")
    )
    policy = {name: value for name, _, value in directives}
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"  # no inline scripts, no eval
    assert "unsafe-inline" not in policy.get("style-src", "")
    assert policy["frame-ancestors"] == "'none'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"


def test_dashboard_page_has_no_inline_script(hardened) -> None:
    page = requests.get(hardened.url("/"), timeout=10)
    parser = _InlineScripts()
    parser.feed(page.text)
    assert parser.found == []


def test_cors_allows_only_the_listed_origins(hardened) -> None:
    allowed = requests.get(
        hardened.url("/reservations"), headers={"Origin": "https://partner.example"}, timeout=10
    )
    assert allowed.headers.get("Access-Control-Allow-Origin") == "https://partner.example"
    other = requests.get(
        hardened.url("/reservations"), headers={"Origin": "https://evil.example"}, timeout=10
    )
    assert "Access-Control-Allow-Origin" not in other.headers


# --------------------------------------------------------------------------- throttling

THROTTLED = {
    "TICKETBOSS_THROTTLE": "on",
    "TICKETBOSS_THROTTLE_PARTNER_RATE": "5/min",
    "TICKETBOSS_THROTTLE_ADDRESS_RATE": "20/min",
}


def _assert_throttled(response: requests.Response) -> None:
    assert response.status_code == 429
    assert response.headers["Content-Type"].startswith("application/json")
    assert set(response.json()) == {"error"}
    assert int(response.headers["Retry-After"]) >= 1


def test_flood_from_one_partner_gets_429_and_books_nothing_more(server_factory) -> None:
    server = server_factory(env=THROTTLED)  # two workers share the counters
    url = server.url("/reservations")
    answers = [
        requests.post(url, json={"partnerId": "flood-corp", "seats": 1}, timeout=10)
        for _ in range(8)
    ]
    assert [a.status_code for a in answers] == [201] * 5 + [429] * 3
    _assert_throttled(answers[-1])
    other = requests.post(url, json={"partnerId": "calm-corp", "seats": 2}, timeout=10)
    assert other.status_code == 201  # the limit is per partner
    summary = requests.get(url, timeout=10).json()
    assert (summary["reservationCount"], summary["reservedSeats"]) == (6, 7)


def test_flood_from_one_address_gets_429(server_factory) -> None:
    server = server_factory(env=THROTTLED)
    answers = [requests.get(server.url("/reservations"), timeout=10) for _ in range(25)]
    codes = [a.status_code for a in answers]
    first = codes.index(429)  # the readiness probe counted too
    assert 15 <= first <= 20 and set(codes[first:]) == {429}, codes
    _assert_throttled(answers[-1])


def test_throttling_is_off_when_switched_off(server_factory) -> None:
    server = server_factory(env={**THROTTLED, "TICKETBOSS_THROTTLE": "off"})
    codes = {requests.get(server.url("/reservations"), timeout=10).status_code for _ in range(25)}
    assert codes == {200}


def test_check_deploy_refuses_the_test_clock(tmp_path) -> None:
    """Holds expire by the test clock when TICKETBOSS_CLOCK_FILE is set: never in production."""
    env = {**PRODUCTION, "TICKETBOSS_AUTH": "keys", "TICKETBOSS_CLOCK_FILE": str(tmp_path / "c")}
    result = django("manage.py", "check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    assert "ticketboss.E002" in result.stdout + result.stderr
