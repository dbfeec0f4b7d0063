"""Every row of the contract's API table, over HTTP against a real server."""

from __future__ import annotations

import uuid

DEFAULT = "node-meetup-2025"
JSON = {"Content-Type": "application/json"}


def reserve(http, server, body, path="/reservations", **headers):
    return http.post(server.url(path), json=body, headers={**JSON, **headers})


def summary(http, server, event=DEFAULT):
    response = http.get(server.url(f"/events/{event}"))
    assert response.status_code == 200
    return response.json()


def test_default_event_summary(http, server) -> None:
    response = http.get(server.url("/reservations"))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {
        "eventId",
        "name",
        "totalSeats",
        "availableSeats",
        "reservationCount",
        "reservedSeats",
        "heldSeats",
        "holdCount",
        "holdSeconds",
        "salesOpenAt",
        "salesCloseAt",
        "version",
    }
    assert (body["eventId"], body["name"], body["totalSeats"]) == (DEFAULT, "Node.js Meet-up", 500)
    assert body["reservedSeats"] == body["totalSeats"] - body["availableSeats"]
    assert body == summary(http, server)


def test_reserve_read_cancel_cycle(http, server) -> None:
    before = summary(http, server)
    created = reserve(http, server, {"partnerId": "abc-corp", "seats": 3})
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"reservationId", "seats", "status"}
    assert (body["seats"], body["status"]) == (3, "confirmed")
    rid = body["reservationId"]
    assert uuid.UUID(rid).version == 4

    after = summary(http, server)
    assert after["availableSeats"] == before["availableSeats"] - 3
    assert after["reservationCount"] == before["reservationCount"] + 1
    assert after["version"] == before["version"] + 1

    detail = http.get(server.url(f"/reservations/{rid}"))
    assert detail.status_code == 200
    item = detail.json()
    assert set(item) == {
        "reservationId",
        "eventId",
        "partnerId",
        "seats",
        "status",
        "createdAt",
        "cancelledAt",
    }
    assert (item["eventId"], item["partnerId"], item["status"], item["cancelledAt"]) == (
        DEFAULT,
        "abc-corp",
        "confirmed",
        None,
    )

    deleted = http.delete(server.url(f"/reservations/{rid}"))
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert summary(http, server)["availableSeats"] == before["availableSeats"]
    cancelled = http.get(server.url(f"/reservations/{rid}")).json()
    assert cancelled["status"] == "cancelled" and cancelled["cancelledAt"]

    again = http.delete(server.url(f"/reservations/{rid}"))
    assert again.status_code == 404
    assert again.json() == {"error": "Reservation not found or already cancelled"}


def test_unknown_reservation_exact_404(http, server) -> None:
    for path in (f"/reservations/{uuid.uuid4()}", "/reservations/not-a-uuid"):
        assert http.delete(server.url(path)).json() == {
            "error": "Reservation not found or already cancelled"
        }
        response = http.get(server.url(path))
        assert response.status_code == 404
        assert "error" in response.json()


def test_event_paths(http, server) -> None:
    response = http.get(server.url("/events/no-such-event"))
    assert response.status_code == 404
    assert response.json() == {"error": "Event not found"}
    missing = reserve(
        http, server, {"partnerId": "p", "seats": 1}, path="/events/no-such-event/reservations"
    )
    assert missing.status_code == 404
    assert missing.json() == {"error": "Event not found"}
    made = reserve(
        http, server, {"partnerId": "p", "seats": 2}, path=f"/events/{DEFAULT}/reservations"
    )
    assert made.status_code == 201
    assert http.get(server.url("/events")).json()[0]["eventId"] == DEFAULT
    assert http.delete(server.url(f"/reservations/{made.json()['reservationId']}")).ok


def test_sold_out_exact_409_and_nothing_changes(http, server) -> None:
    start = summary(http, server)
    left = start["availableSeats"]
    made = []
    while left > 0:
        seats = min(10, left)
        response = reserve(http, server, {"partnerId": "bulk", "seats": seats})
        assert response.status_code == 201
        made.append(response.json()["reservationId"])
        left -= seats
    before = summary(http, server)
    assert before["availableSeats"] == 0
    refused = reserve(http, server, {"partnerId": "late", "seats": 1})
    assert refused.status_code == 409
    assert refused.json() == {"error": "Not enough seats left"}
    assert summary(http, server) == before
    for rid in made:
        assert http.delete(server.url(f"/reservations/{rid}")).status_code == 204
    assert summary(http, server)["reservedSeats"] == start["reservedSeats"]


def test_idempotent_retry_and_conflict(http, server) -> None:
    key = f"order-{uuid.uuid4()}"
    before = summary(http, server)
    first = reserve(http, server, {"partnerId": "retry", "seats": 2}, **{"Idempotency-Key": key})
    retry = reserve(http, server, {"partnerId": "retry", "seats": 2}, **{"Idempotency-Key": key})
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert summary(http, server)["availableSeats"] == before["availableSeats"] - 2
    other = reserve(http, server, {"partnerId": "retry", "seats": 3}, **{"Idempotency-Key": key})
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["error"]
    assert summary(http, server)["availableSeats"] == before["availableSeats"] - 2
    http.delete(server.url(f"/reservations/{first.json()['reservationId']}"))


def test_partner_id_is_stored_trimmed(http, server) -> None:
    made = reserve(http, server, {"partnerId": "  Zoë 东京  ", "seats": 1}).json()
    detail = http.get(server.url(f"/reservations/{made['reservationId']}")).json()
    assert detail["partnerId"] == "Zoë 东京"
    http.delete(server.url(f"/reservations/{made['reservationId']}"))


def test_browsable_api_renders_for_a_browser(http, server) -> None:
    response = http.get(server.url("/reservations"), headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "text/html" in response.headers["Content-Type"]
    assert "availableSeats" in response.text
    css = http.get(server.url("/static/rest_framework/css/bootstrap.min.css"))
    assert css.status_code == 200
