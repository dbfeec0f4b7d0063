"""Holds and confirms under keys mode, on every store: scoped to their partner like
reservations."""

from __future__ import annotations

import uuid

import requests

from tests.access.conftest import Site, bearer
from tests.access.test_keys_mode import NOT_FOUND, assert_401, unchanged


def hold(site: Site, headers: dict[str, str], body: dict | None = None) -> requests.Response:
    return requests.post(site.url("/holds"), json=body or {"seats": 1}, headers=headers, timeout=10)


def confirm(site: Site, rid: str, headers: dict[str, str]) -> requests.Response:
    return requests.post(site.url(f"/reservations/{rid}/confirm"), headers=headers, timeout=10)


def test_holds_need_a_key(site: Site) -> None:
    assert_401(unchanged(site, lambda: hold(site, {})))
    assert_401(unchanged(site, lambda: confirm(site, str(uuid.uuid4()), {})))


def test_a_partner_holds_and_confirms_its_own_only(site: Site) -> None:
    acme, globex = bearer(site.keys["acme"]), bearer(site.keys["globex"])
    made = hold(site, acme)
    assert made.status_code == 201, made.text
    rid = made.json()["reservationId"]
    assert (
        requests.get(site.url(f"/reservations/{rid}"), headers=acme, timeout=10).json()["partnerId"]
        == "acme"
    )
    for action in (
        lambda: confirm(site, rid, globex),
        lambda: requests.delete(site.url(f"/reservations/{rid}"), headers=globex, timeout=10),
    ):
        refused = unchanged(site, action)
        assert (refused.status_code, refused.json()) == (404, NOT_FOUND)
    assert confirm(site, rid, acme).json()["status"] == "confirmed"


def test_a_hold_naming_another_partner_is_403(site: Site) -> None:
    refused = unchanged(
        site, lambda: hold(site, bearer(site.keys["acme"]), {"partnerId": "globex", "seats": 1})
    )
    assert refused.status_code == 403
