"""The OpenAPI document and the docs page, fetched from a real server."""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from openapi_spec_validator import validate

from tests.conftest import skip_or_fail

CHROMIUM = "/usr/bin/chromium"

# Organizers only (CONTRACT.md "Events and partners"), and partner management.
ORGANIZER_ONLY = {
    ("/events", "post"),
    ("/events/{event_id}", "patch"),
    ("/events/{event_id}/allocations/{partner_id}", "put"),
    ("/events/{event_id}/stats", "get"),
    ("/events/{event_id}/export.csv", "get"),
    ("/partners", "get"),
    ("/partners", "post"),
    ("/partners/{partner_id}/keys", "post"),
    ("/keys/{prefix}", "delete"),
}
OPERATIONS = {
    ("/reservations", "get"),
    ("/reservations", "post"),
    ("/reservations/{reservation_id}", "get"),
    ("/reservations/{reservation_id}", "delete"),
    ("/events", "get"),
    ("/events/{event_id}", "get"),
    ("/events/{event_id}/reservations", "post"),
    ("/events/{event_id}/stream", "get"),
    ("/holds", "post"),
    ("/events/{event_id}/holds", "post"),
    ("/reservations/{reservation_id}/confirm", "post"),
    ("/events/{event_id}/reservations", "get"),  # organizers, and partners their own
    *ORGANIZER_ONLY,
}


@pytest.fixture(scope="module")
def document(server) -> dict:
    import requests

    response = requests.get(server.url("/api/schema/?format=json"), timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return response.json()


def _operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_schema_is_valid_openapi_3(document) -> None:
    validate(document)  # raises on any violation of the OpenAPI 3 specification
    assert document["openapi"].startswith("3.")


def test_schema_answers_json_to_accept_header(http, server, document) -> None:
    response = http.get(server.url("/api/schema/"), headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.json() == document


def test_every_endpoint_of_the_contract_is_documented(document) -> None:
    documented = {(path, method) for path, method, _ in _operations(document)}
    assert documented == OPERATIONS


def test_every_error_status_is_the_error_shape(document) -> None:
    for path, method, operation in _operations(document):
        errors = {code: r for code, r in operation["responses"].items() if code >= "400"}
        assert errors, f"{method} {path} documents no error"
        for code, response in errors.items():
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, code)
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]


@pytest.mark.parametrize("path", ["/reservations", "/events/{event_id}/reservations"])
def test_reserve_documents_body_statuses_header_and_examples(document, path) -> None:
    operation = document["paths"][path]["post"]
    assert {"201", "400", "409", "413", "415", "422", "429", "503"} <= set(operation["responses"])
    header = next(p for p in operation["parameters"] if p["in"] == "header")
    assert header["name"] == "Idempotency-Key"
    assert header["schema"]["pattern"] == r"^[\x20-\x7e]{1,200}$"
    body = document["components"]["schemas"]["ReserveRequest"]
    assert body["additionalProperties"] is False
    assert body["properties"]["seats"] == {
        **body["properties"]["seats"],
        "type": "integer",
        "minimum": 1,
        "maximum": 10,
    }
    assert operation["requestBody"]["content"]["application/json"]["examples"]
    assert operation["responses"]["201"]["content"]["application/json"]["examples"]
    assert "Retry-After" in operation["responses"]["503"]["headers"]
    assert "Retry-After" in operation["responses"]["429"]["headers"]


def test_organizer_operations_need_a_session_even_in_open_mode(document) -> None:
    """This server runs in open mode: organizer operations still list no `{}`."""
    session = {"organizerSession": []}
    for path, method, operation in _operations(document):
        if (path, method) in ORGANIZER_ONLY:
            assert operation["security"] == [session], (method, path)
            assert {"401", "403"} <= set(operation["responses"]), (method, path)
    listing = document["paths"]["/events/{event_id}/reservations"]["get"]
    assert listing["security"] == [{"partnerKey": []}, {"partnerKeyHeader": []}, session]
    assert {"cursor", "limit", "partnerId", "status"} <= {p["name"] for p in listing["parameters"]}
    page = listing["responses"]["200"]["content"]["application/json"]["schema"]
    assert page == {"$ref": "#/components/schemas/ReservationPage"}
    assert (
        "text/csv"
        in document["paths"]["/events/{event_id}/export.csv"]["get"]["responses"]["200"]["content"]
    )
    issued = document["paths"]["/partners/{partner_id}/keys"]["post"]["responses"]["201"]
    assert issued["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/IssuedKey"
    }


class _Assets(HTMLParser):
    """Collects the URLs a page loads and the text of inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href"):
            if values.get(name):
                self.urls.append(values[name] or "")
        self._in_script = tag == "script" and not values.get("src")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data)


def test_docs_page_loads_only_from_its_own_origin(http, server) -> None:
    page = http.get(server.url("/api/docs/"))
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assets = _Assets()
    assets.feed(page.text)
    assert assets.inline_scripts == []
    assert len(assets.urls) >= 4  # css, favicon, two bundles, the init script
    for url in assets.urls:
        absolute = urljoin(page.url, url)
        assert urlsplit(absolute).netloc == urlsplit(server.base_url).netloc, url
        asset = http.get(absolute)
        assert asset.status_code == 200, url
    init_script = http.get(server.url("/api/docs/?script="))
    assert "javascript" in init_script.headers["Content-Type"]
    assert "/api/schema/" in init_script.text
    assert not re.search(r"https?://(?!127\.0\.0\.1)", init_script.text)
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy


@pytest.mark.browser
def test_docs_render_in_chromium_under_the_csp_with_no_foreign_request(server) -> None:
    """Swagger UI lists every operation; no CSP violation, no request off this origin."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed (pip install -r requirements-test.txt)")
    if not os.access(CHROMIUM, os.X_OK):
        skip_or_fail(f"{CHROMIUM} is missing (apt-get install chromium)")
    errors: list[str] = []
    foreign: list[str] = []
    origin = server.base_url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on(
                "request",
                lambda r: (
                    None if r.url.startswith((origin, "data:", "blob:")) else foreign.append(r.url)
                ),
            )
            page.goto(server.url("/api/docs/"))
            page.locator(".opblock").first.wait_for(timeout=15_000)
            operations = page.locator(".opblock").count()
        finally:
            browser.close()
    assert operations == len(OPERATIONS)
    assert errors == []  # a CSP violation is reported here
    assert foreign == []
