"""The classic endpoints' default event: TICKETBOSS_DEFAULT_EVENT, and a useful 404.

Real servers over HTTP, each on a store seeded by another process before it starts
(as an operator's `manage.py seed_event` would).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.server import ServerProcess

pytestmark = pytest.mark.system

CLASSIC_DEFAULT = "node-meetup-2025"


def _seed(data_dir: Path, *events: tuple[str, str, int]) -> None:
    from reservations.store import build_store

    store = build_store("json", data_dir)
    try:
        for event_id, name, seats in events:
            store.ensure_event(event_id=event_id, name=name, total_seats=seats)
    finally:
        store.close()


def _server(data_dir: Path, *events: tuple[str, str, int], **env: str) -> ServerProcess:
    _seed(data_dir, *events)
    return ServerProcess(data_dir=data_dir, env=env).start()


@pytest.fixture(scope="module")
def seeded_elsewhere(tmp_path_factory) -> Iterator[ServerProcess]:
    """A store whose only event is not the default one; no setting."""
    server = _server(tmp_path_factory.mktemp("elsewhere") / "data", ("jazz-night", "Jazz", 30))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def configured(tmp_path_factory) -> Iterator[ServerProcess]:
    """Two events; TICKETBOSS_DEFAULT_EVENT names the second."""
    server = _server(
        tmp_path_factory.mktemp("configured") / "data",
        ("alpha-fest", "Alpha Fest", 50),
        ("jazz-night", "Jazz Night", 30),
        TICKETBOSS_DEFAULT_EVENT="jazz-night",
    )
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("method", "body"),
    [("GET", None), ("POST", {"partnerId": "abc-corp", "seats": 1})],
    ids=["summary", "reserve"],
)
def test_a_missing_default_event_says_which_and_how_to_create_it(
    seeded_elsewhere, method, body
) -> None:
    answer = requests.request(method, seeded_elsewhere.url("/reservations"), json=body, timeout=10)
    assert answer.status_code == 404
    message = answer.json()["error"]
    assert CLASSIC_DEFAULT in message
    assert f"manage.py seed_event {CLASSIC_DEFAULT} --name" in message
    assert "--seats" in message
    assert "TICKETBOSS_DEFAULT_EVENT" in message
    # Nothing was booked anywhere, and the other event still works by its own path.
    assert (
        requests.get(seeded_elsewhere.url("/events/jazz-night"), timeout=10).json()[
            "availableSeats"
        ]
        == 30
    )


def test_the_configured_default_event_serves_the_classic_endpoints(configured) -> None:
    summary = requests.get(configured.url("/reservations"), timeout=10)
    assert summary.status_code == 200
    assert summary.json()["eventId"] == "jazz-night"
    assert summary.json()["totalSeats"] == 30

    made = requests.post(
        configured.url("/reservations"), json={"partnerId": "abc-corp", "seats": 3}, timeout=10
    )
    assert made.status_code == 201, made.text
    reservation = requests.get(
        configured.url(f"/reservations/{made.json()['reservationId']}"), timeout=10
    ).json()
    assert reservation["eventId"] == "jazz-night"
    assert (
        requests.get(configured.url("/events/jazz-night"), timeout=10).json()["availableSeats"]
        == 27
    )
    assert (
        requests.get(configured.url("/events/alpha-fest"), timeout=10).json()["availableSeats"]
        == 50
    )


def test_the_dashboard_starts_on_the_configured_default_event(configured) -> None:
    page = requests.get(configured.url("/"), timeout=10)
    assert page.status_code == 200
    assert re.search(r'data-default-event="jazz-night"', page.text)


def test_the_schema_documents_the_setting_and_the_404(configured) -> None:
    document = requests.get(configured.url("/api/schema/?format=json"), timeout=10).json()
    for method in ("get", "post"):
        operation = document["paths"]["/reservations"][method]
        text = f"{operation.get('summary', '')} {operation.get('description', '')}"
        assert "TICKETBOSS_DEFAULT_EVENT" in text, method
        assert "jazz-night" in text, method  # the one this server acts on
        missing = operation["responses"]["404"]
        assert "seed_event" in str(missing), method


def test_an_empty_store_starts_with_the_configured_default_event(tmp_path) -> None:
    server = ServerProcess(
        data_dir=tmp_path / "data", env={"TICKETBOSS_DEFAULT_EVENT": "spring-fest"}
    ).start()
    try:
        events = requests.get(server.url("/events"), timeout=10).json()
        assert [(e["eventId"], e["name"], e["totalSeats"]) for e in events] == [
            ("spring-fest", "Node.js Meet-up", 500)
        ]
        assert requests.get(server.url("/reservations"), timeout=10).json()["eventId"] == (
            "spring-fest"
        )
    finally:
        server.stop()


def test_an_empty_store_without_the_setting_starts_with_the_classic_event(tmp_path) -> None:
    server = ServerProcess(data_dir=tmp_path / "data").start()
    try:
        summary = requests.get(server.url("/reservations"), timeout=10).json()
        assert (summary["eventId"], summary["name"], summary["totalSeats"]) == (
            CLASSIC_DEFAULT,
            "Node.js Meet-up",
            500,
        )
    finally:
        server.stop()
