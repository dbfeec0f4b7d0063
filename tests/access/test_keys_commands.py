"""The partner commands in keys mode, on every store: listings show prefixes only, refusals
say why, and partners move with export_store / import_store as hashes, never as keys.

Apart from tests/access/test_keys_mode.py (the HTTP rows of the access contract) so the two
run side by side: each command starts a Django process of its own, which is slow.
"""

from __future__ import annotations

import orjson
import pytest
import requests

from tests.access.conftest import DEFAULT, Site, bearer
from tests.support.server import run_manage


def test_list_partners_shows_prefixes_never_keys(site: Site) -> None:
    listing = site.manage("list_partners").stdout
    for partner in ("acme", "globex"):
        assert partner in listing
        key = site.keys[partner]
        assert f"key {key[3:11]}" in listing
        assert key[12:] not in listing and "sha256" not in listing


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create_partner", "acme"), "registered already"),
        (("create_partner", " "), "partnerId"),
        (("issue_key", "nobody"), "No such partner"),
        (("revoke_key", "ZZZZZZZZ"), "No key has this prefix"),
    ],
    ids=["partner-twice", "blank-partner", "key-for-nobody", "unknown-prefix"],
)
def test_commands_refuse_clearly(site: Site, args: tuple[str, ...], message: str) -> None:
    assert message in site.manage_fails(*args).stderr


def test_partners_pass_check_store_and_travel_with_export_store(site: Site, tmp_path) -> None:
    booked = requests.post(
        site.url("/reservations"), json={"seats": 1}, headers=bearer(site.keys["acme"]), timeout=10
    )
    assert booked.status_code == 201, booked.text
    checked = site.manage("check_store").stdout
    assert "partner directory: " in checked and "store is sound" in checked

    dump = tmp_path / "dump.json"
    site.manage("export_store", str(dump))
    document = orjson.loads(dump.read_bytes())
    exported = {item["partnerId"]: item for item in document["partners"]}
    assert {"acme", "globex"} <= set(exported)
    acme = exported["acme"]["keys"][0]
    assert acme["prefix"] == site.keys["acme"][3:11]
    assert acme["hash"].startswith("sha256$")
    for key in site.issued:
        assert key[12:].encode() not in dump.read_bytes()
    # Made by a partner's key: the actor is in the dump, as in the CSV export.
    actors = {r.get("createdBy") for e in document["events"] for r in e["reservations"]}
    assert f"partner:acme/{acme['prefix']}" in actors
    csv_rows = site.manage("export_reservations", DEFAULT).stdout.splitlines()
    assert csv_rows[0].endswith("createdBy,cancelledBy")
    assert any(f"partner:acme/{acme['prefix']}" in line for line in csv_rows)

    # Into an empty JSON store: the same keys work there (hashes moved, not keys).
    target = tmp_path / "moved"
    env = {"TICKETBOSS_STORE": "json", "TICKETBOSS_DATA_DIR": str(target)}
    moved = run_manage({**site.server.env, **env}, "import_store", str(dump))
    assert moved.returncode == 0, moved.stderr
    listing = run_manage({**site.server.env, **env}, "list_partners").stdout
    assert f"key {acme['prefix']}" in listing
    assert run_manage({**site.server.env, **env}, "check_store").returncode == 0
    again = run_manage({**site.server.env, **env}, "import_store", str(dump))
    assert again.returncode != 0 and "already exist" in again.stderr
