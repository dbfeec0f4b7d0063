"""CONTRACT.md "Access: who may do what", row by row, over HTTP on every store.

Every refusal is checked to change nothing: the event's summary (its version
counts every change) is the same before and after.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.access.conftest import DEFAULT, Site, bearer, csrf_token
from tests.support.server import ServerProcess

RESERVE = "/reservations"
NOT_FOUND = {"error": "Reservation not found or already cancelled"}


def reserve(site: Site, headers: dict[str, str], body: Any = None, **kwargs: Any):
    return requests.post(
        site.url(RESERVE),
        json={"seats": 1} if body is None else body,
        headers=headers,
        timeout=10,
        **kwargs,
    )


def unchanged(site: Site, action: Callable[[], requests.Response]) -> requests.Response:
    """Run a refused request; the store must be exactly as before."""
    before = site.summary()
    response = action()
    assert site.summary() == before
    assert response.headers["Content-Type"].startswith("application/json")
    assert set(response.json()) <= {"error", "details"}
    return response


def assert_401(response: requests.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"]


# ---------------------------------------------------------------------- anyone


@pytest.mark.parametrize(
    "path", ["/reservations", "/events", f"/events/{DEFAULT}", "/api/schema/", "/api/docs/", "/"]
)
def test_anyone_reads_summaries_docs_and_the_dashboard(site: Site, path: str) -> None:
    assert requests.get(site.url(path), timeout=10).status_code == 200


def test_anyone_watches_the_live_stream(site: Site) -> None:
    with requests.get(site.url(f"/events/{DEFAULT}/stream"), stream=True, timeout=10) as stream:
        assert stream.status_code == 200
        assert stream.headers["Content-Type"].startswith("text/event-stream")


# ---------------------------------------------------------------------- refused keys


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic YWNtZTpzZWNyZXQ="},
    ],
    ids=["no-key", "empty-bearer", "basic-auth"],
)
def test_without_a_key_writes_and_reads_of_reservations_are_401(site: Site, headers) -> None:
    assert_401(unchanged(site, lambda: reserve(site, headers, {"partnerId": "acme", "seats": 1})))
    made = reserve(site, bearer(site.keys["acme"])).json()["reservationId"]
    for method in ("GET", "DELETE"):
        response = unchanged(
            site,
            lambda m=method: requests.request(
                m, site.url(f"/reservations/{made}"), headers=headers, timeout=10
            ),
        )
        assert_401(response)


@pytest.mark.parametrize(
    "make_key",
    [
        lambda key: "not-a-key",
        lambda key: "tb_short_" + "x" * 43,
        lambda key: key[:-1],  # still well-formed (42 characters), but not the key
        lambda key: key[:12] + ("A" if key[12] != "A" else "B") + key[13:],  # first char
        lambda key: key[:-1] + ("A" if key[-1] != "A" else "B"),  # last char
        lambda key: "tb_ZZZZZZZZ_" + key[12:],  # unknown prefix, real secret
        lambda key: key + "x" * 300,  # longer than any key
    ],
    ids=[
        "malformed",
        "bad-prefix",
        "truncated-secret",
        "wrong-secret-first-char",
        "wrong-secret-last-char",
        "unknown-prefix",
        "overlong",
    ],
)
def test_a_bad_key_is_401_and_changes_nothing(site: Site, make_key) -> None:
    bad = make_key(site.keys["acme"])
    for headers in (bearer(bad), {"X-API-Key": bad}):
        assert_401(unchanged(site, lambda h=headers: reserve(site, h)))


def test_a_key_in_the_address_is_refused(site: Site) -> None:
    """Even a good key: the address is in access logs now (this server writes one), so
    the partner is told to revoke it. It is left out of the search for leaked keys."""
    leaked = site.issue_key("acme")
    site.issued.remove(leaked)
    for query in (f"key={leaked}", f"api_key={leaked}", f"anything={leaked}", "api_key=x"):
        response = unchanged(
            site,
            lambda q=query: requests.post(
                site.url(f"{RESERVE}?{q}"),
                json={"seats": 1},
                headers=bearer(site.keys["acme"]),  # even with a good key in the header
                timeout=10,
            ),
        )
        assert_401(response)
        assert "header" in response.json()["error"]
    site.manage("revoke_key", leaked[3:11])


def test_a_revoked_key_is_refused_by_every_worker_within_a_second(site: Site) -> None:
    key = site.issue_key("acme")
    made = reserve(site, bearer(key))
    assert made.status_code == 201, made.text
    item = site.url(f"/reservations/{made.json()['reservationId']}")
    assert requests.get(item, headers=bearer(key), timeout=10).status_code == 200
    prefix = key[3:11]

    site.manage("revoke_key", prefix)
    revoked_at = time.monotonic()
    # New connections spread over the workers; after 1 s every one of them refuses.
    while time.monotonic() < revoked_at + 1.0:
        assert requests.get(item, headers=bearer(key), timeout=10).status_code in (200, 401)
    answers = [requests.get(item, headers=bearer(key), timeout=10).status_code for _ in range(30)]
    assert set(answers) == {401}
    assert_401(unchanged(site, lambda: reserve(site, bearer(key))))
    # The partner's other key still works, and revoking twice is harmless.
    assert requests.get(item, headers=bearer(site.keys["acme"]), timeout=10).status_code == 200
    site.manage("revoke_key", prefix)


def test_a_revoked_key_is_refused_by_another_node_within_a_second(site: Site, tmp_path) -> None:
    """A second server on the same store: another node on the database, or more workers
    on the same data folder (the JSON store's several processes on one machine)."""
    env = {k: v for k, v in site.server.env.items() if k != "TICKETBOSS_DATA_DIR"}
    folder = site.server.data_dir if site.store == "json" else tmp_path / "node2"
    other = ServerProcess(data_dir=folder, env=env, log_path=tmp_path / "node2.log").start()
    try:
        key = site.issue_key("globex")
        rid = reserve(site, bearer(key)).json()["reservationId"]
        nodes = [site.server, other]
        for node in nodes:
            got = requests.get(node.url(f"/reservations/{rid}"), headers=bearer(key), timeout=10)
            assert got.status_code == 200
        site.manage("revoke_key", key[3:11])
        revoked_at = time.monotonic()
        while time.monotonic() < revoked_at + 1.0:
            for node in nodes:
                requests.get(node.url(f"/reservations/{rid}"), headers=bearer(key), timeout=10)
        for node in nodes:
            answers = {
                requests.get(
                    node.url(f"/reservations/{rid}"), headers=bearer(key), timeout=10
                ).status_code
                for _ in range(20)
            }
            assert answers == {401}, node.base_url
    finally:
        other.stop()


# ---------------------------------------------------------------------- a partner


@pytest.mark.parametrize("header", ["bearer", "x-api-key"])
def test_a_partner_reserves_as_itself_and_reads_its_own(site: Site, header: str) -> None:
    key = site.keys["acme"]
    headers = bearer(key) if header == "bearer" else {"X-API-Key": key}
    before = site.summary()
    for body in (
        {"seats": 2},
        {"partnerId": "acme", "seats": 2},
        {"partnerId": " acme ", "seats": 2},
    ):
        created = reserve(site, headers, body)
        assert created.status_code == 201, created.text
        assert set(created.json()) == {"reservationId", "seats", "status"}
        detail = requests.get(
            site.url(f"/reservations/{created.json()['reservationId']}"),
            headers=headers,
            timeout=10,
        )
        assert detail.status_code == 200
        assert detail.json()["partnerId"] == "acme"
        assert "createdBy" not in detail.json()  # actors are for organizers
    assert site.summary()["version"] == before["version"] + 3


def test_a_partner_reserves_in_any_event(site: Site) -> None:
    response = requests.post(
        site.url(f"/events/{DEFAULT}/reservations"),
        json={"seats": 1},
        headers=bearer(site.keys["globex"]),
        timeout=10,
    )
    assert response.status_code == 201, response.text


def test_two_different_keys_are_401_and_the_same_key_twice_books(site: Site) -> None:
    """Which partner books must not depend on which header a proxy reads first: two
    different keys change nothing; the same key in both headers is one caller."""
    acme, globex = site.keys["acme"], site.keys["globex"]
    refused = unchanged(site, lambda: reserve(site, {**bearer(acme), "X-API-Key": globex}))
    assert_401(refused)
    assert "Two different API keys" in refused.json()["error"]
    booked = reserve(site, {**bearer(acme), "X-API-Key": acme})
    assert booked.status_code == 201, booked.text


def test_a_body_naming_another_partner_is_403(site: Site) -> None:
    for body in ({"partnerId": "globex", "seats": 1}, {"partnerId": "nobody-at-all", "seats": 1}):
        response = unchanged(site, lambda b=body: reserve(site, bearer(site.keys["acme"]), b))
        assert response.status_code == 403, response.text
        assert "WWW-Authenticate" not in response.headers


def test_bad_input_from_a_partner_is_still_400(site: Site) -> None:
    for body in ({"seats": "3"}, {"seats": 11}, {"partnerId": "", "seats": 1}, [1]):
        response = unchanged(site, lambda b=body: reserve(site, bearer(site.keys["acme"]), b))
        assert response.status_code == 400, response.text


def test_another_partners_reservation_reads_exactly_as_an_unknown_one(site: Site) -> None:
    theirs = reserve(site, bearer(site.keys["globex"])).json()["reservationId"]
    unknown = str(uuid.uuid4())
    for method in ("GET", "DELETE"):
        answers = []
        for rid in (theirs, unknown, "not-a-uuid"):
            response = unchanged(
                site,
                lambda m=method, r=rid: requests.request(
                    m, site.url(f"/reservations/{r}"), headers=bearer(site.keys["acme"]), timeout=10
                ),
            )
            answers.append((response.status_code, response.content, _identifying(response)))
        assert answers[0] == answers[1] == answers[2]
        assert (
            answers[0][0] == 404
            and answers[0][1] == b'{"error":"%s"}' % NOT_FOUND["error"].encode()
        )
    mine = requests.get(
        site.url(f"/reservations/{theirs}"), headers=bearer(site.keys["globex"]), timeout=10
    )
    assert mine.json()["status"] == "confirmed"


def _identifying(response: requests.Response) -> dict[str, str]:
    """Headers that could tell two answers apart (dates and lengths aside)."""
    skip = {"date", "content-length", "server"}
    return {k.lower(): v for k, v in response.headers.items() if k.lower() not in skip}


def test_a_partner_cancels_its_own(site: Site) -> None:
    headers = bearer(site.keys["acme"])
    rid = reserve(site, headers).json()["reservationId"]
    before = site.summary()
    assert (
        requests.delete(site.url(f"/reservations/{rid}"), headers=headers, timeout=10).status_code
        == 204
    )
    assert site.summary()["version"] == before["version"] + 1
    again = requests.delete(site.url(f"/reservations/{rid}"), headers=headers, timeout=10)
    assert (again.status_code, again.json()) == (404, NOT_FOUND)


# ---------------------------------------------------------------------- organizers


def test_an_organizer_books_for_any_partner_and_sees_who_did_what(site: Site) -> None:
    boss = site.organizer()
    csrf = {"X-CSRFToken": _page_token(site, boss)}
    made = boss.post(
        site.url(RESERVE), json={"partnerId": "walk-in", "seats": 1}, headers=csrf, timeout=10
    )
    assert made.status_code == 201, made.text
    theirs = reserve(site, bearer(site.keys["acme"])).json()["reservationId"]
    assert (
        boss.delete(site.url(f"/reservations/{theirs}"), headers=csrf, timeout=10).status_code
        == 204
    )

    mine = boss.get(site.url(f"/reservations/{made.json()['reservationId']}"), timeout=10).json()
    assert (mine["partnerId"], mine["createdBy"], mine["cancelledBy"]) == (
        "walk-in",
        "staff:boss",
        None,
    )
    cancelled = boss.get(site.url(f"/reservations/{theirs}"), timeout=10).json()
    prefix = site.keys["acme"][3:11]
    assert cancelled["createdBy"] == f"partner:acme/{prefix}"
    assert cancelled["cancelledBy"] == "staff:boss"
    # The partner sees its reservation cancelled, but not by whom.
    seen = requests.get(
        site.url(f"/reservations/{theirs}"), headers=bearer(site.keys["acme"]), timeout=10
    ).json()
    assert seen["status"] == "cancelled" and "cancelledBy" not in seen


def test_an_organizer_must_name_the_partner(site: Site) -> None:
    boss = site.organizer()
    csrf = {"X-CSRFToken": _page_token(site, boss)}
    response = unchanged(
        site, lambda: boss.post(site.url(RESERVE), json={"seats": 1}, headers=csrf)
    )
    assert response.status_code == 400
    assert response.json()["details"] == {"partnerId": ["This field is required."]}


def test_an_organizer_write_without_csrf_is_403(site: Site) -> None:
    boss = site.organizer()
    response = unchanged(
        site, lambda: boss.post(site.url(RESERVE), json={"partnerId": "walk-in", "seats": 1})
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]


def test_signed_in_but_not_staff_is_403(site: Site) -> None:
    viewer = site.organizer("viewer")
    csrf = {"X-CSRFToken": viewer.cookies["csrftoken"]}  # not staff: the page carries none
    response = unchanged(
        site,
        lambda: viewer.post(site.url(RESERVE), json={"partnerId": "x", "seats": 1}, headers=csrf),
    )
    assert response.status_code == 403
    assert "WWW-Authenticate" not in response.headers


def test_sign_in_without_csrf_is_refused(site: Site) -> None:
    answer = requests.post(
        site.url("/accounts/login/"),
        data={"username": "boss", "password": "whatever"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 403
    assert "sessionid" not in answer.cookies


def test_sign_out_needs_a_form_post_with_csrf(site: Site) -> None:
    boss = site.organizer()
    page = boss.get(site.url("/accounts/logout/"), timeout=10)
    assert page.status_code == 200 and "Sign out" in page.text
    refused = boss.post(site.url("/accounts/logout/"), allow_redirects=False, timeout=10)
    assert refused.status_code == 403
    assert boss.get(site.url("/accounts/logout/"), timeout=10).text.count("Signed in as boss") == 1
    done = boss.post(
        site.url("/accounts/logout/"),
        data={"csrfmiddlewaretoken": csrf_token(page.text)},
        headers={"Referer": site.url("/accounts/logout/")},
        timeout=10,
    )
    assert done.status_code == 200 and "Signed out" in done.text
    response = boss.post(site.url(RESERVE), json={"partnerId": "x", "seats": 1}, timeout=10)
    assert_401(response)


def _page_token(site: Site, session: requests.Session) -> str:
    """The CSRF token the dashboard page carries for its own requests."""
    page = session.get(site.url("/"), timeout=10).text
    match = re.search(r'data-csrf-token="([^"]+)"', page)
    assert match, "the dashboard carries no CSRF token for a signed-in organizer"
    return match.group(1)


# ---------------------------------------------------------------------- keys stay secret


def test_keys_never_reach_logs_or_the_store(site: Site) -> None:
    """Run last in the module: every key this site ever issued, looked for everywhere."""
    for key in site.issued:
        reserve(site, bearer(key))
        reserve(site, bearer(key[:-1] + "Q"))  # and a wrong secret next to it
    log = site.server.log()
    stored = site.stored_text()
    assert '"POST /reservations' in log  # the access log is on: there is something to search
    for key in site.issued:
        secret = key[12:]
        assert secret not in log, "a key's secret is in the server log"
        assert secret.encode() not in stored, "a key's secret is stored"
        assert key[3:11].encode() in stored  # known by its prefix


# ---------------------------------------------------------------------- the API's description


def test_every_operation_names_its_security_schemes(site: Site) -> None:
    document = requests.get(site.url("/api/schema/?format=json"), timeout=10).json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["partnerKey"] == {**schemes["partnerKey"], "type": "http", "scheme": "bearer"}
    assert (schemes["partnerKeyHeader"]["in"], schemes["partnerKeyHeader"]["name"]) == (
        "header",
        "X-API-Key",
    )
    assert schemes["organizerSession"]["in"] == "cookie"
    public = {("/reservations", "get"), ("/events", "get"), ("/events/{event_id}", "get")}
    public.add(("/events/{event_id}/stream", "get"))
    # Organizer operations: a signed-in organizer only (CONTRACT.md "Events and partners").
    organizers_only = {("/events", "post"), ("/events/{event_id}", "patch"), ("/partners", "get")}
    organizers_only |= {("/partners", "post"), ("/partners/{partner_id}/keys", "post")}
    organizers_only |= {("/events/{event_id}/stats", "get"), ("/keys/{prefix}", "delete")}
    organizers_only |= {("/events/{event_id}/export.csv", "get")}
    organizers_only.add(("/events/{event_id}/allocations/{partner_id}", "put"))
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            names = [next(iter(item), None) for item in operation["security"]]
            if (path, method) in organizers_only:
                assert names == ["organizerSession"], (path, method)
            else:
                assert {"partnerKey", "partnerKeyHeader", "organizerSession"} <= set(names)
            assert (None in names) == ((path, method) in public), (path, method)
            if (path, method) not in public:
                assert {"401", "403"} <= set(operation["responses"]), (path, method)
