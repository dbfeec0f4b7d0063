"""Answers that depend on who asks stay out of shared caches; public reads stay cacheable.

Over a real keys-mode server: a proxy or CDN in front must never hand one partner's
reservation, an organizer's page or list, or a freshly issued key to another caller, so
those carry `Cache-Control: private` (or `no-store`) and `Vary` on every credential a
caller can send. The headers come from one middleware, whatever the store, so one store
(JSON files) is enough here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.access.conftest import DEFAULT, Site, bearer, start_site

CALLER_HEADERS = {"authorization", "x-api-key", "cookie"}


@pytest.fixture(scope="module")
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    folder: Path = tmp_path_factory.mktemp("caching")
    for item in start_site(request, folder, "json"):
        item.keys = item.set_up(partners=("acme", "globex"), superusers=("boss",))
        yield item


def _tokens(response: requests.Response, header: str) -> set[str]:
    return {part.strip().lower() for part in response.headers.get(header, "").split(",") if part}


def assert_private(response: requests.Response) -> None:
    cache_control = _tokens(response, "Cache-Control")
    assert cache_control & {"private", "no-store"}, (response.request.url, cache_control)
    assert "public" not in cache_control
    assert _tokens(response, "Vary") >= CALLER_HEADERS, (response.request.url, response.headers)


def assert_shared(response: requests.Response) -> None:
    assert not _tokens(response, "Cache-Control") & {"private", "no-store"}, response.headers
    assert not _tokens(response, "Vary") & {"authorization", "x-api-key"}, response.headers


def _csrf(site: Site, session: requests.Session) -> dict[str, str]:
    page = session.get(site.url("/"), timeout=10).text
    match = re.search(r'data-csrf-token="([^"]+)"', page)
    assert match, "the dashboard carries no CSRF token for a signed-in organizer"
    return {"X-CSRFToken": match.group(1)}


def test_a_partners_reservation_is_private_whichever_header_carries_the_key(site: Site) -> None:
    made = requests.post(
        site.url(f"/events/{DEFAULT}/reservations"),
        json={"seats": 1},
        headers=bearer(site.keys["acme"]),
        timeout=10,
    )
    assert made.status_code == 201, made.text
    assert_private(made)
    path = site.url(f"/reservations/{made.json()['reservationId']}")

    for headers in (bearer(site.keys["acme"]), {"X-API-Key": site.keys["acme"]}):
        own = requests.get(path, headers=headers, timeout=10)
        assert own.status_code == 200, own.text
        assert_private(own)
    # The same address answers another partner 404: the answer differs per caller.
    other = requests.get(path, headers=bearer(site.keys["globex"]), timeout=10)
    assert other.status_code == 404
    assert_private(other)


def test_a_partners_list_of_its_reservations_is_private(site: Site) -> None:
    listed = requests.get(
        site.url(f"/events/{DEFAULT}/reservations"), headers=bearer(site.keys["acme"]), timeout=10
    )
    assert listed.status_code == 200, listed.text
    assert_private(listed)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/console/",
        f"/events/{DEFAULT}/reservations",
        f"/events/{DEFAULT}/stats",
        "/partners",
        "/accounts/login/",
    ],
)
def test_an_organizers_pages_and_lists_are_private(site: Site, path: str) -> None:
    boss = site.organizer()
    response = boss.get(site.url(path), timeout=10)
    assert response.status_code == 200, response.text
    assert_private(response)


def test_an_issued_key_is_never_stored_by_any_cache(site: Site) -> None:
    boss = site.organizer()
    issued = boss.post(site.url("/partners/acme/keys"), headers=_csrf(site, boss), timeout=10)
    assert issued.status_code == 201, issued.text
    assert "no-store" in _tokens(issued, "Cache-Control")
    assert _tokens(issued, "Vary") >= CALLER_HEADERS


@pytest.mark.parametrize(
    "path", ["/reservations", "/events", f"/events/{DEFAULT}", "/api/schema/", "/api/docs/"]
)
def test_public_reads_stay_cacheable_for_everyone(site: Site, path: str) -> None:
    anonymous = requests.get(site.url(path), timeout=10)
    keyed = requests.get(site.url(path), headers=bearer(site.keys["acme"]), timeout=10)
    assert (anonymous.status_code, keyed.status_code) == (200, 200)
    for response in (anonymous, keyed):
        assert_shared(response)
    assert anonymous.headers.get("Cache-Control") == keyed.headers.get("Cache-Control")


def test_the_live_stream_and_static_files_keep_their_headers(site: Site) -> None:
    with requests.get(site.url(f"/events/{DEFAULT}/stream"), stream=True, timeout=10) as stream:
        assert stream.status_code == 200
        assert stream.headers["Cache-Control"] == "no-cache, no-transform"
        assert_shared(stream)
    script = requests.get(site.url("/static/ticketboss/app.js"), timeout=10)
    assert script.status_code == 200
    assert_shared(script)
