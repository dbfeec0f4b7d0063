"""A table of bad requests: each gets a 4xx JSON error and changes nothing."""

from __future__ import annotations

import uuid

import pytest

DEFAULT = "node-meetup-2025"
JSON = "application/json"
NESTED = b'{"partnerId": "p", "seats": ' + b"[" * 5000 + b"]" * 5000 + b"}"
NESTED_1000 = b'{"partnerId": "p", "seats": ' + b"[" * 1000 + b"]" * 1000 + b"}"

# (id, method, path, body bytes or None, content type, extra headers, expected status)
CASES = [
    ("seats-string", "POST", "/reservations", b'{"partnerId":"p","seats":"3"}', JSON, {}, 400),
    ("seats-float", "POST", "/reservations", b'{"partnerId":"p","seats":3.5}', JSON, {}, 400),
    ("seats-float-whole", "POST", "/reservations", b'{"partnerId":"p","seats":3.0}', JSON, {}, 400),
    ("seats-true", "POST", "/reservations", b'{"partnerId":"p","seats":true}', JSON, {}, 400),
    ("seats-null", "POST", "/reservations", b'{"partnerId":"p","seats":null}', JSON, {}, 400),
    ("seats-zero", "POST", "/reservations", b'{"partnerId":"p","seats":0}', JSON, {}, 400),
    ("seats-eleven", "POST", "/reservations", b'{"partnerId":"p","seats":11}', JSON, {}, 400),
    ("seats-negative", "POST", "/reservations", b'{"partnerId":"p","seats":-1}', JSON, {}, 400),
    (
        "seats-huge",
        "POST",
        "/reservations",
        b'{"partnerId":"p","seats":1' + b"0" * 400 + b"}",
        JSON,
        {},
        400,
    ),
    ("seats-exponent", "POST", "/reservations", b'{"partnerId":"p","seats":1e1}', JSON, {}, 400),
    ("seats-list", "POST", "/reservations", b'{"partnerId":"p","seats":[3]}', JSON, {}, 400),
    ("seats-missing", "POST", "/reservations", b'{"partnerId":"p"}', JSON, {}, 400),
    ("partner-missing", "POST", "/reservations", b'{"seats":2}', JSON, {}, 400),
    ("partner-blank", "POST", "/reservations", b'{"partnerId":"   ","seats":2}', JSON, {}, 400),
    (
        "partner-too-long",
        "POST",
        "/reservations",
        b'{"partnerId":"' + b"x" * 101 + b'","seats":2}',
        JSON,
        {},
        400,
    ),
    ("partner-number", "POST", "/reservations", b'{"partnerId":42,"seats":2}', JSON, {}, 400),
    (
        "partner-control",
        "POST",
        "/reservations",
        b'{"partnerId":"a\\u0000b","seats":2}',
        JSON,
        {},
        400,
    ),
    ("partner-newline", "POST", "/reservations", b'{"partnerId":"a\\nb","seats":2}', JSON, {}, 400),
    (
        "partner-lone-surrogate",
        "POST",
        "/reservations",
        b'{"partnerId":"\\ud800","seats":2}',
        JSON,
        {},
        400,
    ),
    (
        "unknown-field",
        "POST",
        "/reservations",
        b'{"partnerId":"p","seats":2,"vip":true}',
        JSON,
        {},
        400,
    ),
    ("body-array", "POST", "/reservations", b'[{"partnerId":"p","seats":2}]', JSON, {}, 400),
    ("body-string", "POST", "/reservations", b'"hello"', JSON, {}, 400),
    ("body-null", "POST", "/reservations", b"null", JSON, {}, 400),
    ("body-empty", "POST", "/reservations", b"", JSON, {}, 400),
    ("body-malformed", "POST", "/reservations", b'{"partnerId":"p","seats":2', JSON, {}, 400),
    ("body-nan", "POST", "/reservations", b'{"partnerId":"p","seats":NaN}', JSON, {}, 400),
    (
        "body-invalid-utf8",
        "POST",
        "/reservations",
        b'{"partnerId":"\xff\xfe","seats":2}',
        JSON,
        {},
        400,
    ),
    ("body-deep-nesting", "POST", "/reservations", NESTED, JSON, {}, 400),
    # deep enough for the second, name-checking parse to recurse past Python's limit
    ("body-nesting-orjson-takes", "POST", "/reservations", NESTED_1000, JSON, {}, 400),
    (
        "body-name-twice",
        "POST",
        "/reservations",
        b'{"partnerId":"p","seats":1,"seats":9}',
        JSON,
        {},
        400,
    ),
    (
        "body-name-twice-escaped",
        "POST",
        "/reservations",
        b'{"partnerId":"p","seats":1,"se\\u0061ts":9}',
        JSON,
        {},
        400,
    ),
    (
        "body-too-large",
        "POST",
        "/reservations",
        b'{"partnerId":"' + b"x" * 70_000 + b'","seats":2}',
        JSON,
        {},
        413,
    ),
    (
        "form-encoded",
        "POST",
        "/reservations",
        b"partnerId=p&seats=2",
        "application/x-www-form-urlencoded",
        {},
        415,
    ),
    ("no-content-type", "POST", "/reservations", b'{"partnerId":"p","seats":2}', None, {}, 415),
    (
        "idempotency-key-too-long",
        "POST",
        "/reservations",
        b'{"partnerId":"p","seats":2}',
        JSON,
        {"Idempotency-Key": "k" * 201},
        400,
    ),
    (
        "idempotency-key-non-ascii",
        "POST",
        "/reservations",
        b'{"partnerId":"p","seats":2}',
        JSON,
        {"Idempotency-Key": "cl\xe9"},
        400,
    ),
    (
        "event-unknown",
        "POST",
        "/events/nope/reservations",
        b'{"partnerId":"p","seats":2}',
        JSON,
        {},
        404,
    ),
    (
        "event-bad-id",
        "POST",
        "/events/..%2F..%2Fetc/reservations",
        b'{"partnerId":"p","seats":2}',
        JSON,
        {},
        404,
    ),
    ("cancel-unknown", "DELETE", f"/reservations/{uuid.uuid4()}", None, None, {}, 404),
    ("cancel-not-uuid", "DELETE", "/reservations/%27%20OR%201%3D1", None, None, {}, 404),
    ("get-unknown", "GET", f"/reservations/{uuid.uuid4()}", None, None, {}, 404),
    ("trailing-slash", "POST", "/reservations/", b'{"partnerId":"p","seats":2}', JSON, {}, 404),
    ("put-collection", "PUT", "/reservations", b'{"partnerId":"p","seats":2}', JSON, {}, 405),
    ("patch-collection", "PATCH", "/reservations", b"{}", JSON, {}, 405),
    ("delete-collection", "DELETE", "/reservations", None, None, {}, 405),
    ("post-item", "POST", f"/reservations/{uuid.uuid4()}", b"{}", JSON, {}, 405),
    ("delete-event", "DELETE", f"/events/{DEFAULT}", None, None, {}, 405),
    # organizers only, even in open mode (CONTRACT.md "Events and partners")
    ("get-event-reservations", "GET", f"/events/{DEFAULT}/reservations", None, None, {}, 403),
    ("put-event", "PUT", f"/events/{DEFAULT}", b"{}", JSON, {}, 405),
    ("unknown-path", "GET", "/reservationz", None, None, {}, 404),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type", "headers", "status"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_request_gets_json_error_and_changes_nothing(
    http, server, method, path, body, content_type, headers, status
) -> None:
    before = http.get(server.url(f"/events/{DEFAULT}")).json()
    sent_headers = dict(headers)
    if content_type:
        sent_headers["Content-Type"] = content_type
    response = http.request(method, server.url(path), data=body, headers=sent_headers)
    assert response.status_code == status, response.text[:300]
    assert response.headers["Content-Type"].startswith("application/json")
    payload = response.json()
    assert isinstance(payload["error"], str) and payload["error"]
    assert set(payload) <= {"error", "details"}
    assert "Traceback" not in response.text
    assert http.get(server.url(f"/events/{DEFAULT}")).json() == before


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 30


def test_a_refused_oversized_body_ends_the_connection_openly(http, server) -> None:
    """The rest of a too-large body is left unread, so the server drops that connection.
    The 413 says so (`Connection: close`); a keep-alive client then opens a new
    connection for its next request instead of sending it into a dropped socket."""
    too_large = b'{"partnerId":"' + b"x" * 70_000 + b'","seats":2}'
    for _ in range(20):
        refused = http.post(
            server.url("/reservations"), data=too_large, headers={"Content-Type": JSON}
        )
        assert refused.status_code == 413
        assert refused.headers.get("Connection") == "close"
        assert http.get(server.url(f"/events/{DEFAULT}")).status_code == 200


def test_a_field_sent_twice_is_named_in_the_refusal(http, server) -> None:
    """`{"seats": 1, "seats": 9}` means 9 to some parsers and 1 to others: the answer
    names the field instead of booking either."""
    for path in ("/reservations", f"/events/{DEFAULT}/holds"):
        response = http.post(
            server.url(path),
            data=b'{"partnerId": "p", "seats": 1, "seats": 9}',
            headers={"Content-Type": JSON},
        )
        assert response.status_code == 400, response.text
        assert response.json() == {
            "error": "The request body names 'seats' more than once; send each field once."
        }
