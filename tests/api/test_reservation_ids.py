"""Reservation ids: the OpenAPI schema and the server follow one rule.

The rule: a reservation id is a canonical UUID (lowercase hex, dashes at 8-4-4-4-12).
Every id the schema's pattern allows is looked up by exactly that text; every other
spelling of a UUID (braces, `urn:uuid:`, uppercase, no dashes) is refused by the
schema and answers 404 on the server, even when a reservation with the same UUID
exists. The pattern is read from GET /api/schema/, as a partner's client would.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reservations.domain import ReservationNotFound
from tests.support.server import ServerProcess

pytestmark = pytest.mark.system

ITEM_PATH = "/reservations/{reservation_id}"
NOT_FOUND = {"error": ReservationNotFound.message}

# Other spellings of the same UUID that some UUID parsers accept.
SPELLINGS: dict[str, Callable[[str], str]] = {
    "uppercase": str.upper,
    "braces": lambda rid: "{" + rid + "}",
    "urn": lambda rid: "urn:uuid:" + rid,
    "urn-uppercase": lambda rid: "URN:UUID:" + rid.upper(),
    "no-dashes": lambda rid: rid.replace("-", ""),
    "braces-no-dashes": lambda rid: "{" + rid.replace("-", "") + "}",
    "first-letter-uppercase": lambda rid: re.sub(
        "[a-f]", lambda m: m.group(0).upper(), rid, count=1
    ),
}
_events = itertools.count(1)


@pytest.fixture(scope="module")
def id_pattern(server: ServerProcess) -> str:
    """The reservation_id pattern the schema gives, the same for GET and DELETE."""
    document = requests.get(server.url("/api/schema/?format=json"), timeout=10).json()
    patterns = {
        parameter["schema"]["pattern"]
        for operation in document["paths"][ITEM_PATH].values()
        for parameter in operation["parameters"]
        if parameter["name"] == "reservation_id"
    }
    assert len(patterns) == 1, patterns
    return patterns.pop()


def _matches(pattern: str, text: str) -> bool:
    # OpenAPI patterns are ECMA-262: `$` does not match before a final newline, so a
    # whole-string match (re.fullmatch) is the faithful reading in Python.
    return re.fullmatch(pattern, text) is not None


def _load_reservation(server: ServerProcess, reservation_id: str) -> None:
    """Put a confirmed reservation with exactly this id into the server's store, the way
    `manage.py import_store` does (the API picks ids itself)."""
    from reservations.store import build_store
    from reservations.store.transfer import load_events, states_from_dump

    event_id = f"ids-{next(_events)}"
    dump = {
        "kind": "ticketboss-store-dump",
        "format": 1,
        "events": [
            {
                "eventId": event_id,
                "name": "Id rule",
                "totalSeats": 10,
                "availableSeats": 8,
                "reservationCount": 1,
                "version": 1,
                "reservations": [
                    {
                        "reservationId": reservation_id,
                        "partnerId": "id-tester",
                        "seats": 2,
                        "status": "confirmed",
                        "createdAt": "2025-06-01T09:00:00.000Z",
                        "cancelledAt": None,
                    }
                ],
            }
        ],
    }
    store = build_store("json", server.data_dir)
    try:
        load_events(store, states_from_dump(dump))
    finally:
        store.close()


def _assert_refused_and_untouched(
    http: requests.Session, server: ServerProcess, reservation_id: str, spelling: str
) -> None:
    url = server.url(f"/reservations/{spelling}")
    for method in ("GET", "DELETE"):
        answer = http.request(method, url, timeout=10)
        assert (answer.status_code, answer.json()) == (404, NOT_FOUND), (method, spelling)
    kept = http.get(server.url(f"/reservations/{reservation_id}"), timeout=10)
    assert kept.status_code == 200
    assert kept.json()["status"] == "confirmed", f"DELETE {spelling!r} cancelled it"


def test_the_schema_pattern_is_the_canonical_uuid(id_pattern: str) -> None:
    for _ in range(20):
        assert _matches(id_pattern, str(uuid.uuid4()))
    example = str(uuid.uuid4())
    for name, spell in SPELLINGS.items():
        assert not _matches(id_pattern, spell(example)), name


@pytest.mark.parametrize("spelling", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_other_spellings_of_a_real_id_answer_404(http, server, id_pattern, spelling) -> None:
    made = http.post(server.url("/reservations"), json={"partnerId": "ids", "seats": 1})
    assert made.status_code == 201, made.text
    reservation_id = made.json()["reservationId"]
    assert _matches(id_pattern, reservation_id)

    other = spelling(reservation_id)
    assert not _matches(id_pattern, other)  # the schema refuses it: so must the server
    _assert_refused_and_untouched(http, server, reservation_id, other)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_ids_drawn_from_the_schema_pattern(http, server, id_pattern, data) -> None:
    """Any id the schema allows is found by exactly that text; no other spelling is."""
    reservation_id = data.draw(st.from_regex(id_pattern, fullmatch=True), label="id")
    _load_reservation(server, reservation_id)

    found = http.get(server.url(f"/reservations/{reservation_id}"), timeout=10)
    assert found.status_code == 200, found.text
    assert found.json()["reservationId"] == reservation_id

    name = data.draw(st.sampled_from(sorted(SPELLINGS)), label="spelling")
    other = SPELLINGS[name](reservation_id)
    if not _matches(id_pattern, other):  # e.g. "uppercase" of an all-digit id is itself
        _assert_refused_and_untouched(http, server, reservation_id, other)

    assert http.delete(server.url(f"/reservations/{reservation_id}"), timeout=10).status_code == 204
