"""50 clients of one partner race for its allocation against a 2-worker server, on the
JSON store and on PostgreSQL: the allocation is checked atomically with the seat
check, so exactly the allocation is taken, never a seat more.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest
import requests

from tests.access.conftest import Site, bearer
from tests.support.organizer import Organizer, prepared_site

CLIENTS = 50
ALLOCATION = 37
EXHAUSTED = {"error": "Partner allocation exhausted"}


@pytest.fixture(
    params=[
        pytest.param("json", id="json"),
        pytest.param("db", id="db-postgres", marks=pytest.mark.postgres),
    ]
)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    yield from prepared_site(request, tmp_path_factory)


def test_fifty_clients_of_one_partner_never_pass_its_allocation(site: Site) -> None:
    boss = Organizer(site)
    event_id = boss.create_event(seats=500)
    capped = boss.request("PUT", f"/events/{event_id}/allocations/acme", json={"seats": ALLOCATION})
    assert capped.status_code == 200, capped.text
    barrier = threading.Barrier(CLIENTS)
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def client(index: int) -> None:
        # Each client reserves once and holds once, in either order: both count.
        kinds = ["reservations", "holds"] if index % 2 else ["holds", "reservations"]
        with requests.Session() as http:  # its own connection: spread over both workers
            http.headers.update(bearer(site.keys["acme"]))
            barrier.wait()
            for kind in kinds:
                response = http.post(
                    site.url(f"/events/{event_id}/{kind}"), json={"seats": 1}, timeout=60
                )
                with lock:
                    answers.append((response.status_code, response.json()))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert Counter(status for status, _ in answers) == {
        201: ALLOCATION,
        409: 2 * CLIENTS - ALLOCATION,
    }
    assert all(body == EXHAUSTED for status, body in answers if status == 409)
    stats = boss.get(f"/events/{event_id}/stats").json()
    acme = next(p for p in stats["partners"] if p["partnerId"] == "acme")
    assert acme["confirmedSeats"] + acme["heldSeats"] == ALLOCATION
    assert acme["confirmedCount"] + acme["holdCount"] == ALLOCATION
    summary = site.summary(event_id)
    assert summary["availableSeats"] == 500 - ALLOCATION
    listed = boss.all_reservations(event_id, limit=500)
    assert len(listed) == ALLOCATION and sum(row["seats"] for row in listed) == ALLOCATION

    site.server.stop()
    check = site.server.manage("check_store")
    assert check.returncode == 0, check.stderr + check.stdout
    site.server.start()
    assert site.summary(event_id) == summary
