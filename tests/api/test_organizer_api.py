"""CONTRACT.md "Events and partners (organizers)" over HTTP, on json, db-postgres and
db-sqlite: every endpoint for organizers, partners and anonymous callers, every
field's bad input, and the sales window and allocation 409s.

Every refusal is checked to change nothing: all events' summaries (with their
versions), the event's stats (allocations) and the partner directory are the same
before and after.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.access.conftest import STORES, Site, bearer
from tests.support.organizer import Organizer, new_event_id, prepared_site
from tests.support.server import wait_until

SALES_NOT_OPEN = {"error": "Sales are not open for this event"}
EXHAUSTED = {"error": "Partner allocation exhausted"}
RESIZE_BELOW = {"error": "Cannot resize below the seats already taken"}


@pytest.fixture(scope="module", params=STORES)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    yield from prepared_site(request, tmp_path_factory)


# Input checks run in the serializers, before any store is called: a refused field never
# reaches a store, so these tests run on one store; everything that reaches a store (404s,
# 409s, paging, stats, allocations, windows) runs on all three.
ONE_STORE = pytest.mark.parametrize("site", [STORES[0]], indirect=True)


@pytest.fixture(scope="module")
def boss(site: Site) -> Organizer:
    return Organizer(site)


@pytest.fixture(scope="module")
def viewer(site: Site) -> Organizer:
    """Signed in, but not staff."""
    return Organizer(site, "viewer")


def instant(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat().replace("+00:00", "Z")


def everything(site: Site, boss: Organizer, event_id: str | None = None) -> Any:
    """What a refusal must leave as it was."""
    events = requests.get(site.url("/events"), timeout=10).json()
    partners = boss.get("/partners").json()
    stats = boss.get(f"/events/{event_id}/stats").json() if event_id else None
    return events, partners, stats


def refused(
    site: Site,
    boss: Organizer,
    action: Callable[[], requests.Response],
    status: int,
    event_id: str | None = None,
) -> dict[str, Any]:
    """Run a request that must be refused with `status`; nothing may change."""
    before = everything(site, boss, event_id)
    response = action()
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) <= {"error", "details"} and body["error"], body
    assert everything(site, boss, event_id) == before
    return body


def fields_of(body: dict[str, Any]) -> set[str]:
    return set(body.get("details", {}))


# ---------------------------------------------------------------------- who may call what


def _endpoints(boss: Organizer) -> list[tuple[str, str, Any, int]]:
    """(method, path, body, organizer's success status) of every organizer endpoint, on
    a fresh event; the key to revoke is a throwaway one."""
    event_id = boss.create_event(seats=50)
    throwaway = boss.post("/partners/globex/keys").json()["prefix"]
    return [
        ("POST", "/events", {"eventId": new_event_id(), "name": "N", "totalSeats": 5}, 201),
        ("PATCH", f"/events/{event_id}", {"name": "Renamed"}, 200),
        ("PUT", f"/events/{event_id}/allocations/acme", {"seats": 5}, 200),
        ("GET", f"/events/{event_id}/reservations", None, 200),
        ("GET", f"/events/{event_id}/stats", None, 200),
        ("GET", f"/events/{event_id}/export.csv", None, 200),
        ("GET", "/partners", None, 200),
        ("POST", "/partners", {"partnerId": f"p-{new_event_id()}"}, 201),
        ("POST", "/partners/acme/keys", None, 201),
        ("DELETE", f"/keys/{throwaway}", None, 204),
    ]


def test_anonymous_callers_get_401_and_change_nothing(site: Site, boss: Organizer) -> None:
    for method, path, body, _ in _endpoints(boss):
        call = lambda m=method, p=path, b=body: requests.request(  # noqa: E731
            m, site.url(p), json=b, timeout=10
        )
        refused(site, boss, call, 401)
        assert call().headers["WWW-Authenticate"] == "Bearer", (method, path)


def test_partner_keys_may_list_reservations_and_nothing_else(site: Site, boss: Organizer) -> None:
    for method, path, body, _ in _endpoints(boss):
        call = lambda m=method, p=path, b=body: requests.request(  # noqa: E731
            m, site.url(p), json=b, headers=bearer(site.keys["acme"]), timeout=10
        )
        if path.endswith("/reservations"):
            assert call().status_code == 200
        else:
            assert "API keys may not" in refused(site, boss, call, 403)["error"], (method, path)


def test_signed_in_non_organizers_get_403(
    site: Site,
    boss: Organizer,
    viewer: Organizer,
) -> None:
    for method, path, body, _ in _endpoints(boss):
        answer = refused(
            site, boss, lambda m=method, p=path, b=body: viewer.request(m, p, json=b), 403
        )
        assert "only organizers" in answer["error"], (method, path)


def test_organizers_may_call_every_endpoint(site: Site, boss: Organizer) -> None:
    for method, path, body, success in _endpoints(boss):
        response = boss.request(method, path, json=body)
        assert response.status_code == success, (method, path, response.text)


def test_an_organizer_write_without_the_csrf_token_is_403(site: Site, boss: Organizer) -> None:
    event_id = boss.create_event()
    body = refused(
        site,
        boss,
        lambda: boss.http.patch(site.url(f"/events/{event_id}"), json={"name": "X"}, timeout=10),
        403,
        event_id,
    )
    assert "CSRF" in body["error"]


# ---------------------------------------------------------------------- POST /events


def test_create_answers_the_summary_and_the_event_is_public(site: Site, boss: Organizer) -> None:
    event_id = new_event_id()
    body = {
        "eventId": event_id,
        "name": "Jazz Night",
        "totalSeats": 300,
        "holdSeconds": 120,
        "salesOpenAt": "2020-01-01T10:00:00+02:00",
        "salesCloseAt": "2999-12-31T23:59:59.5Z",
    }
    made = boss.post("/events", body)
    assert made.status_code == 201, made.text
    summary = made.json()
    assert summary == {
        "eventId": event_id,
        "name": "Jazz Night",
        "totalSeats": 300,
        "availableSeats": 300,
        "reservationCount": 0,
        "reservedSeats": 0,
        "heldSeats": 0,
        "holdCount": 0,
        "holdSeconds": 120,
        "salesOpenAt": "2020-01-01T08:00:00.000Z",
        "salesCloseAt": "2999-12-31T23:59:59.500Z",
        "version": 0,
    }
    assert site.summary(event_id) == summary
    assert summary in requests.get(site.url("/events"), timeout=10).json()
    hold = requests.post(
        site.url(f"/events/{event_id}/holds"),
        json={"seats": 1},
        headers=bearer(site.keys["acme"]),
        timeout=10,
    )
    assert hold.status_code == 201  # the event's holdSeconds is the hold's default
    expires = datetime.fromisoformat(hold.json()["expiresAt"].replace("Z", "+00:00"))
    assert timedelta(seconds=110) < expires - datetime.now(UTC) <= timedelta(seconds=121)


def test_create_with_only_the_required_fields(site: Site, boss: Organizer) -> None:
    event_id = boss.create_event(seats=0)
    summary = site.summary(event_id)
    assert (summary["totalSeats"], summary["holdSeconds"]) == (0, 600)
    assert (summary["salesOpenAt"], summary["salesCloseAt"]) == (None, None)


def test_create_an_existing_event_is_409(site: Site, boss: Organizer) -> None:
    event_id = boss.create_event(seats=10)
    again = {"eventId": event_id, "name": "Other", "totalSeats": 99}
    body = refused(site, boss, lambda: boss.post("/events", again), 409, event_id)
    assert body == {"error": "An event with this eventId already exists"}


BAD_CREATE = [
    ("eventId", "Has-Caps"),
    ("eventId", ""),
    ("eventId", "-leading"),
    ("eventId", "a" * 65),
    ("eventId", 7),
    ("eventId", None),
    ("name", ""),
    ("name", "   "),
    ("name", "x" * 201),
    ("name", "bell\x07"),
    ("name", 5),
    ("totalSeats", -1),
    ("totalSeats", 10_000_001),
    ("totalSeats", 10**30),
    ("totalSeats", 2.5),
    ("totalSeats", 3.0),
    ("totalSeats", "30"),
    ("totalSeats", True),
    ("totalSeats", None),
    ("holdSeconds", 0),
    ("holdSeconds", 29),
    ("holdSeconds", 3601),
    ("holdSeconds", 60.0),
    ("holdSeconds", "60"),
    ("holdSeconds", None),
    ("salesOpenAt", "2026-12-01"),
    ("salesOpenAt", "2026-12-01T09:00:00"),
    ("salesOpenAt", "tomorrow"),
    ("salesOpenAt", "2026-13-01T09:00:00Z"),
    ("salesOpenAt", "2026-12-01T25:00:00Z"),
    ("salesOpenAt", 1764579600),
    ("salesOpenAt", True),
    ("salesCloseAt", "01/12/2026 09:00"),
    ("salesCloseAt", "2026-12-01T09:00:00+25:00"),
    ("salesCloseAt", ["2026-12-01T09:00:00Z"]),
]


@ONE_STORE
@pytest.mark.parametrize(
    ("field", "value"), BAD_CREATE, ids=[f"{f}={v!r}"[:40] for f, v in BAD_CREATE]
)
def test_create_refuses_each_bad_field(site: Site, boss: Organizer, field: str, value: Any) -> None:
    event_id = new_event_id()
    body = {"eventId": event_id, "name": "Gig", "totalSeats": 10, field: value}
    answer = refused(site, boss, lambda: boss.post("/events", body), 400)
    assert field in fields_of(answer), answer
    assert requests.get(site.url(f"/events/{body['eventId']}"), timeout=10).status_code == 404


@ONE_STORE
@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"salesOpenAt": "2026-12-02T00:00:00Z", "salesCloseAt": "2026-12-01T00:00:00Z"},
            "salesCloseAt",
        ),
        (
            {"salesOpenAt": "2026-12-01T10:00:00+01:00", "salesCloseAt": "2026-12-01T09:00:00Z"},
            "salesCloseAt",
        ),
        ({"color": "blue"}, "color"),
    ],
    ids=["close-before-open", "close-equals-open", "unknown-field"],
)
def test_create_refuses_a_bad_combination(
    site: Site,
    boss: Organizer,
    body: dict[str, Any],
    field: str,
) -> None:
    event_id = new_event_id()
    full = {"eventId": event_id, "name": "Gig", "totalSeats": 10, **body}
    answer = refused(site, boss, lambda: boss.post("/events", full), 400)
    assert field in fields_of(answer), answer
    assert requests.get(site.url(f"/events/{event_id}"), timeout=10).status_code == 404


@ONE_STORE
@pytest.mark.parametrize(
    "body",
    [[], "text", {"name": "No id", "totalSeats": 3}, {"eventId": "no-seats", "name": "N"}],
    ids=["list", "string", "no-event-id", "no-seats"],
)
def test_create_refuses_a_bad_body(site: Site, boss: Organizer, body: Any) -> None:
    refused(site, boss, lambda: boss.post("/events", body), 400)


# ---------------------------------------------------------------------- PATCH /events/{id}


def test_patch_changes_the_fields_sent_and_only_seats_move_the_version(
    site: Site,
    boss: Organizer,
) -> None:
    event_id = boss.create_event(seats=10, salesOpenAt="2020-01-01T00:00:00Z")
    before = site.summary(event_id)
    renamed = boss.request("PATCH", f"/events/{event_id}", json={"name": "New name"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json() == {**before, "name": "New name"}
    grown = boss.request("PATCH", f"/events/{event_id}", json={"totalSeats": 25, "holdSeconds": 90})
    assert grown.json() == {
        **before,
        "name": "New name",
        "totalSeats": 25,
        "availableSeats": 25,
        "holdSeconds": 90,
        "version": before["version"] + 1,
    }
    window = {"salesOpenAt": None, "salesCloseAt": "2999-01-01T00:00:00-05:00"}
    cleared = boss.request("PATCH", f"/events/{event_id}", json=window).json()
    assert (cleared["salesOpenAt"], cleared["salesCloseAt"]) == (None, "2999-01-01T05:00:00.000Z")
    assert site.summary(event_id) == cleared


@ONE_STORE
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"totalSeats": -5}, "totalSeats"),
        ({"totalSeats": "10"}, "totalSeats"),
        ({"totalSeats": 20_000_000}, "totalSeats"),
        ({"name": ""}, "name"),
        ({"holdSeconds": 1}, "holdSeconds"),
        ({"salesOpenAt": "soon"}, "salesOpenAt"),
        ({"salesCloseAt": "2026-12-01T09:00"}, "salesCloseAt"),
        ({"eventId": "renamed"}, "eventId"),
        ({"name": "Fine", "totalSeats": -1}, "totalSeats"),
        (
            {"salesOpenAt": "2030-01-02T00:00:00Z", "salesCloseAt": "2030-01-01T00:00:00Z"},
            "salesCloseAt",
        ),
        # the event opens in 2020 (below): a close before it is refused with the open kept
        ({"salesCloseAt": "2019-06-01T00:00:00Z"}, "salesCloseAt"),
    ],
    ids=[
        "negative-seats",
        "seats-as-string",
        "absurd-seats",
        "blank-name",
        "short-hold",
        "open-not-a-date",
        "close-without-zone",
        "unknown-field",
        "one-bad-field-of-two",
        "close-before-open",
        "close-before-stored-open",
    ],
)
def test_patch_refuses_each_bad_field(
    site: Site,
    boss: Organizer,
    body: dict[str, Any],
    field: str,
) -> None:
    event_id = boss.create_event(seats=10, salesOpenAt="2020-01-01T00:00:00Z")
    answer = refused(
        site, boss, lambda: boss.request("PATCH", f"/events/{event_id}", json=body), 400, event_id
    )
    assert field in fields_of(answer), answer


@pytest.mark.parametrize("body", [{}, [], None], ids=["empty-object", "list", "no-body"])
def test_patch_with_nothing_to_change_is_400(site: Site, boss: Organizer, body: Any) -> None:
    event_id = boss.create_event()
    refused(
        site, boss, lambda: boss.request("PATCH", f"/events/{event_id}", json=body), 400, event_id
    )


def test_patch_an_unknown_event_is_404(site: Site, boss: Organizer) -> None:
    body = refused(
        site, boss, lambda: boss.request("PATCH", "/events/no-such-event", json={"name": "X"}), 404
    )
    assert body == {"error": "Event not found"}


def test_resize_below_the_seats_taken_is_409(site: Site, boss: Organizer) -> None:
    event_id = boss.create_event(seats=10)
    boss.book(event_id, "acme", 4)
    boss.book(event_id, "globex", 3, hold=True)  # held seats are taken too
    body = refused(
        site,
        boss,
        lambda: boss.request("PATCH", f"/events/{event_id}", json={"totalSeats": 6, "name": "Y"}),
        409,
        event_id,
    )
    assert body == RESIZE_BELOW
    exact = boss.request("PATCH", f"/events/{event_id}", json={"totalSeats": 7})
    assert exact.status_code == 200 and exact.json()["availableSeats"] == 0


# ---------------------------------------------------------------------- sales window


def reserve_as(site: Site, partner: str, event_id: str, *, hold: bool = False) -> requests.Response:
    kind = "holds" if hold else "reservations"
    return requests.post(
        site.url(f"/events/{event_id}/{kind}"),
        json={"seats": 1},
        headers=bearer(site.keys[partner]),
        timeout=10,
    )


def test_reserve_and_hold_outside_the_sales_window_are_409(site: Site, boss: Organizer) -> None:
    event_id = boss.create_event(seats=10, salesOpenAt=instant(hours=1))
    for hold in (False, True):
        body = refused(
            site, boss, lambda h=hold: reserve_as(site, "acme", event_id, hold=h), 409, event_id
        )
        assert body == SALES_NOT_OPEN
    opened = boss.request("PATCH", f"/events/{event_id}", json={"salesOpenAt": None})
    assert opened.json()["salesOpenAt"] is None
    assert reserve_as(site, "acme", event_id).status_code == 201
    held = reserve_as(site, "acme", event_id, hold=True)
    assert held.status_code == 201
    closed = boss.request(
        "PATCH", f"/events/{event_id}", json={"salesCloseAt": instant(seconds=-1)}
    )
    assert closed.status_code == 200, closed.text
    for hold in (False, True):
        body = refused(
            site, boss, lambda h=hold: reserve_as(site, "globex", event_id, hold=h), 409, event_id
        )
        assert body == SALES_NOT_OPEN
    # A hold taken while sales were open may still be confirmed: the buyer was paying.
    confirm = requests.post(
        site.url(f"/reservations/{held.json()['reservationId']}/confirm"),
        headers=bearer(site.keys["acme"]),
        timeout=10,
    )
    assert confirm.status_code == 200, confirm.text


def test_sales_open_at_the_opening_instant(site: Site, boss: Organizer) -> None:
    event_id = boss.create_event(seats=10, salesOpenAt=instant(seconds=2))
    assert reserve_as(site, "acme", event_id).json() == SALES_NOT_OPEN
    wait_until(
        lambda: reserve_as(site, "acme", event_id).status_code == 201,
        timeout=10,
        interval=0.1,
        message="sales to open",
    )


# ---------------------------------------------------------------------- allocations


def test_allocation_caps_confirmed_plus_held_seats(site: Site, boss: Organizer) -> None:
    event_id = boss.create_event(seats=50)
    put = boss.request("PUT", f"/events/{event_id}/allocations/acme", json={"seats": 3})
    assert put.status_code == 200
    assert put.json() == {"eventId": event_id, "partnerId": "acme", "seats": 3}
    assert reserve_as(site, "acme", event_id).status_code == 201
    assert reserve_as(site, "acme", event_id, hold=True).status_code == 201
    assert reserve_as(site, "acme", event_id).status_code == 201
    for hold in (False, True):
        body = refused(
            site, boss, lambda h=hold: reserve_as(site, "acme", event_id, hold=h), 409, event_id
        )
        assert body == EXHAUSTED
    too_many = {"partnerId": "acme", "seats": 2}
    assert boss.post(f"/events/{event_id}/reservations", too_many).json() == EXHAUSTED
    assert reserve_as(site, "globex", event_id).status_code == 201  # others are not capped
    lowered = boss.request("PUT", f"/events/{event_id}/allocations/acme", json={"seats": 1})
    assert lowered.status_code == 200  # below what acme has: takes nothing away
    figures = {p["partnerId"]: p for p in boss.get(f"/events/{event_id}/stats").json()["partners"]}
    assert figures["acme"]["confirmedSeats"] + figures["acme"]["heldSeats"] == 3
    assert figures["acme"]["allocation"] == 1
    removed = boss.request("PUT", f"/events/{event_id}/allocations/acme", json={"seats": None})
    assert removed.json()["seats"] is None
    assert reserve_as(site, "acme", event_id).status_code == 201


def test_a_cancel_gives_allocation_back(site: Site, boss: Organizer) -> None:
    event_id = boss.create_event(seats=50)
    boss.request("PUT", f"/events/{event_id}/allocations/globex", json={"seats": 1})
    first = reserve_as(site, "globex", event_id).json()["reservationId"]
    assert reserve_as(site, "globex", event_id).json() == EXHAUSTED
    gone = requests.delete(
        site.url(f"/reservations/{first}"), headers=bearer(site.keys["globex"]), timeout=10
    )
    assert gone.status_code == 204
    assert reserve_as(site, "globex", event_id).status_code == 201


BAD_SEATS = [-1, 10_000_001, 10**20, 2.5, 5.0, "5", True, [5], {"n": 5}]


@ONE_STORE
@pytest.mark.parametrize("seats", BAD_SEATS, ids=[repr(s) for s in BAD_SEATS])
def test_allocation_refuses_bad_seats(site: Site, boss: Organizer, seats: Any) -> None:
    event_id = boss.create_event()
    answer = refused(
        site,
        boss,
        lambda: boss.request("PUT", f"/events/{event_id}/allocations/acme", json={"seats": seats}),
        400,
        event_id,
    )
    assert fields_of(answer) == {"seats"}


@ONE_STORE
@pytest.mark.parametrize(
    "body", [{}, {"seats": 1, "extra": 1}, [1], None], ids=["no-seats", "extra", "list", "no-body"]
)
def test_allocation_refuses_a_bad_body(site: Site, boss: Organizer, body: Any) -> None:
    event_id = boss.create_event()
    refused(
        site,
        boss,
        lambda: boss.request("PUT", f"/events/{event_id}/allocations/acme", json=body),
        400,
        event_id,
    )


def test_allocation_for_an_unknown_partner_is_400_in_keys_mode(site: Site, boss: Organizer) -> None:
    event_id = boss.create_event()
    for partner in ("nobody", "%20%20"):
        answer = refused(
            site,
            boss,
            lambda p=partner: boss.request(
                "PUT", f"/events/{event_id}/allocations/{p}", json={"seats": 1}
            ),
            400,
            event_id,
        )
        assert fields_of(answer) == {"partnerId"}


def test_allocation_in_an_unknown_event_is_404(site: Site, boss: Organizer) -> None:
    body = refused(
        site,
        boss,
        lambda: boss.request("PUT", "/events/no-such-event/allocations/acme", json={"seats": 1}),
        404,
    )
    assert body == {"error": "Event not found"}


# ---------------------------------------------------------------------- reservation list


def test_organizers_list_every_reservation_as_the_reservation_endpoint_shows_it(
    site: Site,
    boss: Organizer,
) -> None:
    event_id = boss.create_event(seats=50)
    made = [
        boss.book(event_id, partner, 1 + n % 3) for n, partner in enumerate(["acme", "globex"] * 4)
    ]
    made.append(boss.book(event_id, "acme", 2, hold=True))
    boss.request("DELETE", f"/reservations/{made[0]}")
    rows = boss.all_reservations(event_id, limit=3)
    assert [row["reservationId"] for row in rows] == made  # oldest first
    for row in rows:
        assert row == boss.get(f"/reservations/{row['reservationId']}").json()
        assert "createdBy" in row and "cancelledBy" in row
    assert rows[0]["status"] == "cancelled" and rows[0]["cancelledBy"] == "staff:boss"


def test_filters_by_partner_and_status(site: Site, boss: Organizer) -> None:
    event_id = boss.create_event(seats=50)
    confirmed = boss.book(event_id, "acme")
    held = boss.book(event_id, "acme", hold=True)
    cancelled = boss.book(event_id, "globex")
    boss.request("DELETE", f"/reservations/{cancelled}")
    ids = lambda **q: [r["reservationId"] for r in boss.all_reservations(event_id, **q)]  # noqa: E731
    assert ids(partnerId="acme") == [confirmed, held]
    assert ids(partnerId="globex") == [cancelled]
    assert ids(partnerId="nobody") == []
    assert ids(status="confirmed") == [confirmed]
    assert ids(status="held") == [held]
    assert ids(status="cancelled") == [cancelled]
    assert ids(status="expired") == []
    assert ids(partnerId="acme", status="held") == [held]


def test_a_partner_lists_its_own_reservations_only(site: Site, boss: Organizer) -> None:
    event_id = boss.create_event(seats=50)
    mine = [reserve_as(site, "acme", event_id).json()["reservationId"] for _ in range(3)]
    reserve_as(site, "globex", event_id)
    headers = bearer(site.keys["acme"])
    url = site.url(f"/events/{event_id}/reservations")
    page = requests.get(url, headers=headers, timeout=10).json()
    assert [row["reservationId"] for row in page["results"]] == mine
    for row in page["results"]:
        assert "createdBy" not in row and "cancelledBy" not in row
        own = requests.get(
            site.url(f"/reservations/{row['reservationId']}"), headers=headers, timeout=10
        )
        assert row == own.json()
    same = requests.get(url, params={"partnerId": "acme"}, headers=headers, timeout=10)
    assert same.json()["results"] == page["results"]
    other = requests.get(url, params={"partnerId": "globex"}, headers=headers, timeout=10)
    assert other.status_code == 403
    assert other.json() == {
        "error": "This API key lists its own partner's reservations only; leave partnerId out "
        "or send your own."
    }


@ONE_STORE
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "pending"}, "status"),
        ({"status": "CONFIRMED"}, "status"),
        ({"partnerId": " "}, "partnerId"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"cursor": "not-a-cursor!"}, "cursor"),
        ({"cursor": "cD1hYmM="}, "cursor"),  # base64 of p=abc: not a position
        ({"cursor": "%%%"}, "cursor"),
    ],
    ids=[
        "unknown-status",
        "status-case",
        "blank-partner",
        "limit-0",
        "limit-501",
        "limit-word",
        "limit-negative",
        "cursor-garbage",
        "cursor-not-a-position",
        "cursor-percent",
    ],
)
def test_list_refuses_bad_filters_and_tampered_cursors(
    site: Site,
    boss: Organizer,
    params: dict[str, str],
    field: str,
) -> None:
    event_id = boss.create_event()
    boss.book(event_id, "acme")
    answer = refused(
        site,
        boss,
        lambda: boss.get(f"/events/{event_id}/reservations", params=params),
        400,
        event_id,
    )
    assert fields_of(answer) == {field}


def test_list_of_an_unknown_event_is_404(site: Site, boss: Organizer) -> None:
    assert boss.get("/events/no-such-event/reservations").json() == {"error": "Event not found"}
    partner = requests.get(
        site.url("/events/no-such-event/reservations"),
        headers=bearer(site.keys["acme"]),
        timeout=10,
    )
    assert partner.status_code == 404


# ---------------------------------------------------------------------- stats


def test_stats_per_partner_and_per_minute(site: Site, boss: Organizer) -> None:
    event_id = boss.create_event(seats=40)
    boss.request("PUT", f"/events/{event_id}/allocations/acme", json={"seats": 5})
    boss.book(event_id, "acme", 2)
    boss.request("DELETE", f"/reservations/{boss.book(event_id, 'acme', 1)}")
    boss.book(event_id, "globex", 2, hold=True)
    confirmed_hold = boss.book(event_id, "globex", 3, hold=True)
    assert boss.post(f"/reservations/{confirmed_hold}/confirm").status_code == 200
    response = boss.get(f"/events/{event_id}/stats")
    assert response.status_code == 200
    stats = response.json()
    assert stats["eventId"] == event_id
    assert stats["summary"] == site.summary(event_id)
    assert stats["partners"] == [
        {
            "partnerId": "acme",
            "confirmedSeats": 2,
            "confirmedCount": 1,
            "heldSeats": 0,
            "holdCount": 0,
            "allocation": 5,
            "share": 2 / 40,
        },
        {
            "partnerId": "globex",
            "confirmedSeats": 3,
            "confirmedCount": 1,
            "heldSeats": 2,
            "holdCount": 1,
            "allocation": None,
            "share": 3 / 40,
        },
    ]
    minutes = stats["perMinute"]
    assert minutes and minutes[-1]["cumulative"] == stats["summary"]["reservedSeats"] == 5
    assert sum(minute["seats"] for minute in minutes) == 5
    assert [m["minute"] for m in minutes] == sorted(m["minute"] for m in minutes)
    for minute in minutes:
        assert minute["minute"].endswith(":00.000Z")


def test_stats_of_an_unknown_event_is_404(site: Site, boss: Organizer) -> None:
    assert boss.get("/events/no-such-event/stats").json() == {"error": "Event not found"}


# ---------------------------------------------------------------------- CSV export


def test_csv_is_the_api_list_and_the_command_s_export(site: Site, boss: Organizer) -> None:
    event_id = boss.create_event(seats=60)
    for n in range(7):
        boss.book(
            event_id, ["acme", "globex", '=HYPERLINK("x")', 'Zoë, "quoted"'][n % 4], 1 + n % 2
        )
    boss.request("DELETE", f"/reservations/{boss.book(event_id, 'acme', 1)}")
    boss.book(event_id, "globex", 2, hold=True)
    response = boss.get(f"/events/{event_id}/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response.headers["Content-Disposition"]
        == f'attachment; filename="{event_id}-reservations.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    assert rows[0] == [
        "reservationId",
        "eventId",
        "partnerId",
        "seats",
        "status",
        "createdAt",
        "cancelledAt",
        "createdBy",
        "cancelledBy",
    ]
    expected = [
        [
            r["reservationId"],
            r["eventId"],
            "'" + r["partnerId"] if r["partnerId"].startswith("=") else r["partnerId"],
            str(r["seats"]),
            r["status"],
            r["createdAt"],
            r["cancelledAt"] or "",
            r["createdBy"],
            r["cancelledBy"] or "",
        ]
        for r in boss.all_reservations(event_id)
    ]
    assert rows[1:] == expected and len(expected) == 9
    command = site.manage("export_reservations", event_id).stdout
    assert list(csv.reader(io.StringIO(command))) == rows


def test_csv_asks_nothing_of_accept_and_answers_404_as_json(site: Site, boss: Organizer) -> None:
    event_id = boss.create_event()
    as_csv = boss.get(f"/events/{event_id}/export.csv", headers={"Accept": "text/csv"})
    assert as_csv.status_code == 200 and as_csv.text.startswith("reservationId,")
    missing = boss.get("/events/no-such-event/export.csv", headers={"Accept": "text/csv"})
    assert missing.status_code == 404
    assert missing.json() == {"error": "Event not found"}


# ---------------------------------------------------------------------- partners and keys


def test_partner_list_shows_keys_by_prefix_never_a_key_or_hash(site: Site, boss: Organizer) -> None:
    response = boss.get("/partners")
    assert response.status_code == 200
    partners = {p["partnerId"]: p for p in response.json()}
    assert {"acme", "globex"} <= set(partners)
    acme = partners["acme"]
    assert acme["name"] == "Acme"
    assert site.keys["acme"][3:11] in [key["prefix"] for key in acme["keys"]]
    for key in acme["keys"]:
        assert set(key) == {"prefix", "createdAt", "revokedAt"}
    for issued in site.issued:
        assert issued not in response.text and issued[12:] not in response.text
    assert "hash" not in response.text


def test_register_a_partner_issue_a_key_use_it_and_revoke_it(site: Site, boss: Organizer) -> None:
    partner_id = f"Zoë & Co {new_event_id()}"
    made = boss.post("/partners", {"partnerId": f"  {partner_id} ", "name": "Zoë and Company"})
    assert made.status_code == 201, made.text
    assert made.json() == {
        "partnerId": partner_id,
        "name": "Zoë and Company",
        "createdAt": made.json()["createdAt"],
        "keys": [],
    }
    again = refused(site, boss, lambda: boss.post("/partners", {"partnerId": partner_id}), 409)
    assert again == {"error": "This partner is registered already."}
    quoted = requests.utils.quote(partner_id, safe="")
    issued = boss.post(f"/partners/{quoted}/keys")
    assert issued.status_code == 201, issued.text
    assert issued.headers["Cache-Control"] == "no-store"
    key = issued.json()["key"]
    assert issued.json() == {"partnerId": partner_id, "prefix": key[3:11], "key": key}
    event_id = boss.create_event()
    booked = requests.post(
        site.url(f"/events/{event_id}/reservations"),
        json={"seats": 2},
        headers=bearer(key),
        timeout=10,
    )
    assert booked.status_code == 201, booked.text
    assert (
        boss.get(f"/reservations/{booked.json()['reservationId']}").json()["partnerId"]
        == partner_id
    )
    listed = {p["partnerId"]: p for p in boss.get("/partners").json()}[partner_id]
    assert [k["prefix"] for k in listed["keys"]] == [key[3:11]]
    assert key not in boss.get("/partners").text
    assert boss.request("DELETE", f"/keys/{key[3:11]}").status_code == 204
    wait_until(
        lambda: (
            requests.get(site.url("/reservations"), headers=bearer(key), timeout=10).status_code
            == 401
        ),
        timeout=1.0,
        interval=0.05,
        message="the revoked key to be refused",
    )
    assert boss.request("DELETE", f"/keys/{key[3:11]}").status_code == 204  # again: still revoked
    revoked = {p["partnerId"]: p for p in boss.get("/partners").json()}[partner_id]["keys"][0]
    assert revoked["revokedAt"] is not None


def test_partner_management_refusals(site: Site, boss: Organizer) -> None:
    for body, field in [
        ({}, "partnerId"),
        ({"partnerId": "   "}, "partnerId"),
        ({"partnerId": "x" * 101}, "partnerId"),
        ({"partnerId": "tab\there"}, "partnerId"),
        ({"partnerId": 5}, "partnerId"),
        ({"partnerId": "ok-id", "name": ""}, "name"),
        ({"partnerId": "ok-id", "secret": "x"}, "secret"),
    ]:
        answer = refused(site, boss, lambda b=body: boss.post("/partners", b), 400)
        assert fields_of(answer) == {field}, body
    assert refused(site, boss, lambda: boss.post("/partners/nobody/keys"), 404) == {
        "error": "No such partner."
    }
    assert refused(site, boss, lambda: boss.request("DELETE", "/keys/ZZZZZZZZ"), 404) == {
        "error": "No key has this prefix."
    }
    refused(site, boss, lambda: boss.post("/partners/acme/keys", {"seats": 1}), 400)


# ---------------------------------------------------------------------- open mode


@pytest.fixture(scope="module", params=STORES)
def open_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """Open mode: the classic contract for anyone; organizer actions still need a
    signed-in organizer."""
    yield from prepared_site(request, tmp_path_factory, TICKETBOSS_AUTH="open")


def test_open_mode_organizer_actions_need_a_signed_in_organizer(open_site: Site) -> None:
    boss = Organizer(open_site)
    viewer = Organizer(open_site, "viewer")
    event_id = boss.create_event(seats=20)
    booked = requests.post(
        open_site.url(f"/events/{event_id}/reservations"),
        json={"partnerId": "walk-in", "seats": 1},
        timeout=10,
    )
    assert booked.status_code == 201  # the classic contract: anyone books
    cases = [
        ("POST", "/events", {"eventId": new_event_id(), "name": "N", "totalSeats": 5}),
        ("PATCH", f"/events/{event_id}", {"name": "X"}),
        ("PUT", f"/events/{event_id}/allocations/anyone", {"seats": 1}),
        ("GET", f"/events/{event_id}/reservations", None),
        ("GET", f"/events/{event_id}/stats", None),
        ("GET", f"/events/{event_id}/export.csv", None),
        ("GET", "/partners", None),
        ("POST", "/partners", {"partnerId": "p"}),
    ]
    for method, path, body in cases:
        before = requests.get(open_site.url("/events"), timeout=10).json()
        anonymous = requests.request(method, open_site.url(path), json=body, timeout=10)
        assert anonymous.status_code == 403, (method, path, anonymous.text)
        assert anonymous.json() == {
            "error": "Only organizers may do this: sign in at /accounts/login/."
        }
        assert booked.json()["reservationId"] not in anonymous.text
        not_staff = viewer.request(method, path, json=body)
        assert not_staff.status_code == 403, (method, path)
        assert requests.get(open_site.url("/events"), timeout=10).json() == before
    # Any valid partnerId may get an allocation: open mode has no partner directory to ask.
    put = boss.request("PUT", f"/events/{event_id}/allocations/anyone", json={"seats": 1})
    assert put.status_code == 200, put.text
    first = {"partnerId": "anyone", "seats": 1}
    url = open_site.url(f"/events/{event_id}/reservations")
    assert requests.post(url, json=first, timeout=10).status_code == 201
    assert requests.post(url, json=first, timeout=10).json() == EXHAUSTED
    rows = boss.all_reservations(event_id)
    assert [row["partnerId"] for row in rows] == ["walk-in", "anyone"]
    assert rows[0]["createdBy"] == "open"


def test_open_mode_dashboard_writes_by_a_signed_in_organizer_need_no_csrf(open_site: Site) -> None:
    """The classic endpoints keep open mode's rules even for a signed-in organizer."""
    boss = Organizer(open_site)
    made = boss.http.post(
        open_site.url("/reservations"), json={"partnerId": "desk", "seats": 1}, timeout=10
    )
    assert made.status_code == 201, made.text


def test_every_error_on_organizer_paths_is_json(site: Site, boss: Organizer) -> None:
    event_id = boss.create_event()
    huge = {"partnerId": "x", "name": "y" * 70_000}
    for method, path, body, status in [
        ("POST", "/partners", huge, 413),
        ("PATCH", f"/events/{event_id}", huge, 413),
        ("PUT", f"/events/{event_id}/allocations/acme", huge, 413),
        ("GET", "/partners/acme", None, 404),
        ("GET", "/keys/ZZZZZZZZ", None, 405),
        ("DELETE", "/partners", None, 405),
        ("POST", f"/events/{event_id}/stats", None, 405),
    ]:
        answer = refused(
            site, boss, lambda m=method, p=path, b=body: boss.request(m, p, json=b), status
        )
        assert answer["error"], (method, path)
    as_form = boss.request("POST", "/partners", data="partnerId=x")
    assert as_form.status_code == 415 and as_form.json()["error"]
