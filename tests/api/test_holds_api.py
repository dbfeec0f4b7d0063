"""CONTRACT.md "Holds" over HTTP against a real server (2 workers) on every store: JSON
files, and the db store on PostgreSQL and on SQLite.

The server reads "now" from a clock file (reservations.clock) that this module
stops and moves: expiries happen exactly when a test says, with no sleeping.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.access.conftest import Site, start_site
from tests.support.clock import StoppedClock

EVENT = "holds-api"
JSON = {"Content-Type": "application/json"}
HOLD_EXPIRED = {"error": "Hold expired"}
NOT_FOUND = {"error": "Reservation not found or already cancelled"}


@pytest.fixture(scope="module")
def clock_file(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("holds-clock") / "clock"


@pytest.fixture(scope="module")
def time(clock_file: Path) -> StoppedClock:
    """One clock per module: it only ever moves forward."""
    return StoppedClock(clock_file)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("json", id="json"),
        pytest.param("db", id="db-postgres", marks=pytest.mark.postgres),
        pytest.param("db-sqlite", id="db-sqlite"),
    ],
)
def server(request, tmp_path_factory, clock_file: Path, time: StoppedClock) -> Iterator[Site]:
    """An open-mode server on each store, reading the module's clock."""
    folder = tmp_path_factory.mktemp(f"holds-api-{request.param}")
    env = {"TICKETBOSS_AUTH": "open", "TICKETBOSS_CLOCK_FILE": str(clock_file)}
    for site in start_site(request, folder, request.param, **env):
        seeded = site.manage("seed_event", EVENT, "--name", "Holds", "--seats", "20")
        assert seeded.returncode == 0, seeded.stderr
        yield site


_made: list[str] = []  # holds made by the running test, released after it


@pytest.fixture
def event(server, http) -> Iterator[str]:
    """The test's event starts with every seat free: its holds are released after it."""
    yield EVENT
    made, _made[:] = list(_made), []
    for reservation in made:
        http.delete(server.url(f"/reservations/{reservation}"))


def hold(http, server, body, path=f"/events/{EVENT}/holds", **headers):
    response = http.post(server.url(path), json=body, headers={**JSON, **headers})
    if response.status_code == 201:
        _made.append(response.json()["reservationId"])
    return response


def summary(http, server, event=EVENT) -> dict:
    response = http.get(server.url(f"/events/{event}"))
    assert response.status_code == 200
    return response.json()


def confirm(http, server, rid: str, **headers):
    return http.post(server.url(f"/reservations/{rid}/confirm"), headers=headers)


def test_hold_answer_and_summary(http, server, event, time) -> None:
    before = summary(http, server)
    created = hold(http, server, {"partnerId": "p", "seats": 3, "holdSeconds": 60})
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"reservationId", "seats", "status", "expiresAt"}
    assert (body["seats"], body["status"]) == (3, "held")
    assert body["expiresAt"] == clock_text(time.now_ms + 60_000)
    after = summary(http, server)
    assert after["availableSeats"] == before["availableSeats"] - 3
    assert (after["heldSeats"], after["holdCount"]) == (3, 1)
    assert after["reservedSeats"] == before["reservedSeats"]
    assert after["version"] == before["version"] + 1
    shown = http.get(server.url(f"/reservations/{body['reservationId']}")).json()
    assert (shown["status"], shown["expiresAt"]) == ("held", body["expiresAt"])


def test_classic_holds_path_uses_the_default_event(http, server, time) -> None:
    created = hold(http, server, {"partnerId": "p", "seats": 1}, path="/holds")
    assert created.status_code == 201
    rid = created.json()["reservationId"]
    assert http.get(server.url(f"/reservations/{rid}")).json()["eventId"] == "node-meetup-2025"
    assert http.delete(server.url(f"/reservations/{rid}")).status_code == 204


def test_default_hold_is_the_events_hold_seconds(http, server, event, time) -> None:
    created = hold(http, server, {"partnerId": "p", "seats": 1})
    assert created.json()["expiresAt"] == clock_text(time.now_ms + 600_000)


@pytest.mark.parametrize(
    "hold_seconds",
    [0, 29, 3601, "60", 60.5, True, None, -30],
    ids=["zero", "below-min", "over-max", "string", "float", "bool", "null", "negative"],
)
def test_bad_hold_seconds_is_400_and_changes_nothing(http, server, event, hold_seconds) -> None:
    before = summary(http, server)
    response = hold(http, server, {"partnerId": "p", "seats": 1, "holdSeconds": hold_seconds})
    assert response.status_code == 400
    assert "holdSeconds" in response.json()["details"]
    assert summary(http, server) == before


def test_hold_refusals_match_reserving(http, server, event) -> None:
    before = summary(http, server)
    for body, status in [
        ({"partnerId": "p", "seats": 11}, 400),
        ({"partnerId": "p", "seats": 2, "extra": 1}, 400),
        ({"seats": 2}, 400),
    ]:
        assert hold(http, server, body).status_code == status
    missing = hold(http, server, {"partnerId": "p", "seats": 1}, path="/events/nope/holds")
    assert missing.status_code == 404
    assert summary(http, server) == before


def test_not_enough_seats_counts_holds(http, server, event) -> None:
    assert hold(http, server, {"partnerId": "p", "seats": 10}).status_code == 201
    assert hold(http, server, {"partnerId": "p", "seats": 10}).status_code == 201
    before = summary(http, server)
    refused = hold(http, server, {"partnerId": "p", "seats": 1})
    assert (refused.status_code, refused.json()) == (409, {"error": "Not enough seats left"})
    reserve = http.post(
        server.url(f"/events/{EVENT}/reservations"), json={"partnerId": "p", "seats": 1}
    )
    assert reserve.status_code == 409
    assert summary(http, server) == before


def test_confirm_twice_answers_the_same(http, server, event, time) -> None:
    rid = hold(http, server, {"partnerId": "p", "seats": 2}).json()["reservationId"]
    before = summary(http, server)
    first = confirm(http, server, rid)
    assert (first.status_code, first.json()) == (
        200,
        {"reservationId": rid, "seats": 2, "status": "confirmed"},
    )
    after = summary(http, server)
    assert (after["heldSeats"], after["holdCount"]) == (before["heldSeats"] - 2, 0)
    assert after["reservationCount"] == before["reservationCount"] + 1
    assert after["version"] == before["version"] + 1
    again = confirm(http, server, rid, **{"Idempotency-Key": "confirm-1"})
    assert (again.status_code, again.json()) == (200, first.json())
    assert summary(http, server) == after


def test_release_then_confirm_is_404(http, server, event) -> None:
    rid = hold(http, server, {"partnerId": "p", "seats": 2}).json()["reservationId"]
    before = summary(http, server)
    assert http.delete(server.url(f"/reservations/{rid}")).status_code == 204
    after = summary(http, server)
    assert after["availableSeats"] == before["availableSeats"] + 2
    assert after["version"] == before["version"] + 1
    refused = confirm(http, server, rid)
    assert (refused.status_code, refused.json()) == (404, NOT_FOUND)
    assert summary(http, server) == after


def test_release_a_confirmed_reservation_cancels_it(http, server, event) -> None:
    rid = hold(http, server, {"partnerId": "p", "seats": 2}).json()["reservationId"]
    assert confirm(http, server, rid).status_code == 200
    before = summary(http, server)
    assert http.delete(server.url(f"/reservations/{rid}")).status_code == 204
    assert http.get(server.url(f"/reservations/{rid}")).json()["status"] == "cancelled"
    after = summary(http, server)
    assert after["reservationCount"] == before["reservationCount"] - 1
    assert after["availableSeats"] == before["availableSeats"] + 2


@pytest.mark.parametrize(
    "rid",
    [str(uuid.uuid4()), "not-an-id", str(uuid.uuid4()).upper()],
    ids=["unknown", "junk", "upper"],
)
def test_confirm_unknown_is_404(http, server, event, rid) -> None:
    before = summary(http, server)
    refused = confirm(http, server, rid)
    assert (refused.status_code, refused.json()) == (404, NOT_FOUND)
    assert summary(http, server) == before


def test_expiry_is_exact_and_refuses_confirm(http, server, event, time) -> None:
    before = summary(http, server)
    body = hold(http, server, {"partnerId": "p", "seats": 4, "holdSeconds": 30}).json()
    rid = body["reservationId"]
    time.advance(29.999)
    assert summary(http, server)["heldSeats"] == before["heldSeats"] + 4
    time.advance(0.001)  # expiresAt: free from this instant, in every worker
    for _ in range(4):  # both workers answer some of these
        after = summary(http, server)
        assert after["availableSeats"] == before["availableSeats"]
        assert (after["heldSeats"], after["version"]) == (
            before["heldSeats"],
            before["version"] + 2,
        )
        assert http.get(server.url(f"/reservations/{rid}")).json()["status"] == "expired"
    refused = confirm(http, server, rid)
    assert (refused.status_code, refused.json()) == (409, HOLD_EXPIRED)
    assert http.delete(server.url(f"/reservations/{rid}")).status_code == 404
    assert summary(http, server) == after


def test_idempotent_hold(http, server, event) -> None:
    key = {"Idempotency-Key": f"hold-{uuid.uuid4()}"}
    first = hold(http, server, {"partnerId": "p", "seats": 2}, **key)
    before = summary(http, server)
    again = hold(http, server, {"partnerId": "p", "seats": 2}, **key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    other = hold(http, server, {"partnerId": "p", "seats": 3}, **key)
    assert other.status_code == 422
    reserve = http.post(
        server.url(f"/events/{EVENT}/reservations"),
        json={"partnerId": "p", "seats": 2},
        headers=key,
    )
    assert reserve.status_code == 422
    assert summary(http, server) == before


def test_idempotent_confirm(http, server, event) -> None:
    first, second = (
        hold(http, server, {"partnerId": "p", "seats": 1}).json()["reservationId"] for _ in "ab"
    )
    key = {"Idempotency-Key": f"pay-{uuid.uuid4()}"}
    assert confirm(http, server, first, **key).status_code == 200
    assert http.delete(server.url(f"/reservations/{first}")).status_code == 204
    before = summary(http, server)
    again = confirm(http, server, first, **key)  # the first answer, though cancelled since
    assert (again.status_code, again.json()["status"]) == (200, "confirmed")
    reused = confirm(http, server, second, **key)
    assert reused.status_code == 422
    too_long = confirm(http, server, second, **{"Idempotency-Key": "k" * 201})
    assert too_long.status_code == 400
    assert summary(http, server) == before


def test_schema_lists_the_hold_paths(http, server) -> None:
    paths = http.get(server.url("/api/schema/?format=json")).json()["paths"]
    for path in ("/holds", "/events/{event_id}/holds", "/reservations/{reservation_id}/confirm"):
        assert "post" in paths[path], path


def clock_text(ms: int) -> str:
    from reservations import timestamps

    return timestamps.to_text(ms * 1000)
