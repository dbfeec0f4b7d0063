"""Cursor pagination of `GET /events/{eventId}/reservations` on json, db-postgres and
db-sqlite: pages stay stable while reservations arrive and are cancelled (no row
twice, none skipped), `previous` walks back over the same pages, limits hold.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.access.conftest import STORES, Site, bearer
from tests.support.organizer import Organizer, prepared_site
from tests.support.server import wait_until


@pytest.fixture(scope="module", params=STORES)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    yield from prepared_site(request, tmp_path_factory)


@pytest.fixture(scope="module")
def boss(site: Site) -> Organizer:
    return Organizer(site)


class Booker(threading.Thread):
    """A partner booking one seat after another (and cancelling every third) until
    stopped; what it made, in order."""

    def __init__(self, site: Site, event_id: str, partner: str) -> None:
        super().__init__(daemon=True)
        self.site, self.event_id, self.key = site, event_id, site.keys[partner]
        self.made: list[str] = []
        self.errors: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        with requests.Session() as http:
            http.headers.update(bearer(self.key))
            while not self.halt.is_set():
                made = http.post(
                    self.site.url(f"/events/{self.event_id}/reservations"),
                    json={"seats": 1},
                    timeout=30,
                )
                if made.status_code != 201:
                    self.errors.append(made.text)
                    return
                self.made.append(made.json()["reservationId"])
                if len(self.made) % 3 == 0:
                    http.delete(self.site.url(f"/reservations/{self.made[-2]}"), timeout=30)

    def wrote(self, count: int) -> bool:
        """At least `count` reservations made (an AssertionError if booking failed)."""
        assert not self.errors, self.errors
        return len(self.made) >= count

    def __enter__(self) -> Booker:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.halt.set()
        self.join(timeout=60)


def walk(fetch: Any, first_url: str, **params: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """Follow `next` from the first page: the ids in order, and every page's body."""
    ids: list[str] = []
    pages: list[dict[str, Any]] = []
    response = fetch(first_url, params=params)
    while True:
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        ids += [row["reservationId"] for row in page["results"]]
        if page["next"] is None:
            return ids, pages
        response = fetch(page["next"])


def test_paging_while_writes_arrive_shows_every_row_once(site: Site, boss: Organizer) -> None:
    event_id = boss.create_event(seats=100_000)
    present = [boss.book(event_id, ["acme", "globex"][n % 2]) for n in range(60)]
    with Booker(site, event_id, "acme") as one, Booker(site, event_id, "globex") as two:
        bookers = [one, two]
        wait_until(lambda: all(b.wrote(3) for b in bookers), timeout=30, message="writes")
        during_walk = sum(len(b.made) for b in bookers)
        seen, _ = walk(
            lambda url, **kw: boss.http.get(url, timeout=30, **kw),
            site.url(f"/events/{event_id}/reservations"),
            limit=4,
        )
        written_meanwhile = sum(len(b.made) for b in bookers) - during_walk
    assert not one.errors and not two.errors, one.errors + two.errors
    assert written_meanwhile > 0, "no write arrived while the pages were read"
    assert len(seen) == len(set(seen)), "a row was shown twice"
    assert set(present) <= set(seen), "a row present at the start was skipped"
    final = [row["reservationId"] for row in boss.all_reservations(event_id, limit=500)]
    # Positions never move: what the walk saw is exactly the oldest part of the list.
    assert seen == final[: len(seen)]
    assert set(final) == set(present) | {rid for b in bookers for rid in b.made}


def test_a_filtered_walk_under_writes_is_stable_too(site: Site, boss: Organizer) -> None:
    event_id = boss.create_event(seats=100_000)
    present = [boss.book(event_id, ["acme", "globex"][n % 2]) for n in range(30)]
    with Booker(site, event_id, "acme") as booker:
        wait_until(lambda: booker.wrote(3), timeout=30, message="writes")
        seen, _ = walk(
            lambda url, **kw: requests.get(
                url, headers=bearer(site.keys["acme"]), timeout=30, **kw
            ),
            site.url(f"/events/{event_id}/reservations"),
            limit=3,
        )
    assert not booker.errors, booker.errors
    assert len(seen) == len(set(seen))
    assert set(present[0::2]) <= set(seen)
    assert not set(present[1::2]) & set(seen), "a partner saw another partner's reservation"
    final = [r["reservationId"] for r in boss.all_reservations(event_id, partnerId="acme")]
    assert seen == final[: len(seen)]


def test_previous_walks_back_over_the_same_pages(site: Site, boss: Organizer) -> None:
    event_id = boss.create_event(seats=1000)
    for n in range(11):
        boss.book(event_id, "acme", 1 + n % 3)
    _, pages = walk(
        lambda url, **kw: boss.http.get(url, timeout=30, **kw),
        site.url(f"/events/{event_id}/reservations"),
        limit=4,
    )
    assert [len(page["results"]) for page in pages] == [4, 4, 3]
    assert pages[0]["previous"] is None and pages[-1]["next"] is None
    back = [pages[-1]]
    while back[-1]["previous"] is not None:
        response = boss.http.get(back[-1]["previous"], timeout=30)
        assert response.status_code == 200, response.text
        back.append(response.json())
    assert [page["results"] for page in reversed(back)] == [page["results"] for page in pages]
    assert back[-1]["previous"] is None
    for page in pages:
        for link in (page["next"], page["previous"]):
            assert link is None or ("limit=4" in link and link.startswith(site.url("/events/")))


def test_default_and_largest_page(site: Site, boss: Organizer) -> None:
    event_id = boss.create_event(seats=1000)
    url = f"/events/{event_id}/reservations"
    for _ in range(51):
        boss.book(event_id, "globex")
    first = boss.get(url).json()
    assert len(first["results"]) == 50 and first["next"] is not None
    rest = boss.http.get(first["next"], timeout=30).json()
    assert len(rest["results"]) == 1 and rest["next"] is None
    everything = boss.get(url, params={"limit": 500}).json()
    assert len(everything["results"]) == 51 and everything["next"] is None
    one = boss.get(url, params={"limit": 1}).json()
    assert len(one["results"]) == 1 and one["next"] is not None


def test_an_empty_event_has_one_empty_page(site: Site, boss: Organizer) -> None:
    event_id = boss.create_event()
    page = boss.get(f"/events/{event_id}/reservations").json()
    assert page == {"next": None, "previous": None, "results": []}
