"""The access mode's defaults and `check --deploy`; key format, hashing and constant-time
checks; the JSON partner directory's file (no server needed)."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import pytest

from reservations import keys
from reservations.domain import StoreCorrupt
from reservations.store.jsonfile.partners import JsonPartnerDirectory
from tests.support.server import run_manage, wait_until

REAL_HOST = {
    "DJANGO_ALLOWED_HOSTS": "tickets.example.com",
    "DJANGO_SECRET_KEY": "x" * 50,
}


def _mode(**env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k != "TICKETBOSS_AUTH"}
    code = "from django.conf import settings; print(settings.TICKETBOSS_AUTH)"
    result = run_manage({**base, **env}, "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def _deploy_check(**env: str):
    base = {k: v for k, v in os.environ.items() if k != "TICKETBOSS_AUTH"}
    return run_manage({**base, **env}, "check", "--deploy")


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        ({}, "open"),
        ({"DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1"}, "open"),
        (REAL_HOST, "keys"),
        ({**REAL_HOST, "DJANGO_ALLOWED_HOSTS": "localhost,tickets.example.com"}, "keys"),
        ({**REAL_HOST, "TICKETBOSS_AUTH": "open"}, "open"),
        ({"TICKETBOSS_AUTH": "keys"}, "keys"),
    ],
    ids=["local-default", "loopback-hosts", "real-host", "mixed-hosts", "open-on-purpose", "keys"],
)
def test_mode_defaults_to_open_locally_and_keys_on_a_real_host(env, mode) -> None:
    assert _mode(**env) == mode


def test_an_unknown_mode_refuses_to_start() -> None:
    result = run_manage({**os.environ, "TICKETBOSS_AUTH": "maybe"}, "check")
    assert result.returncode != 0 and "TICKETBOSS_AUTH must be 'open' or 'keys'" in result.stderr


def test_check_deploy_fails_on_open_unless_chosen_on_purpose() -> None:
    default = _deploy_check()
    assert default.returncode != 0
    assert "ticketboss.E001" in default.stderr
    on_purpose = _deploy_check(**REAL_HOST, TICKETBOSS_AUTH="open")
    assert "ticketboss.E001" not in on_purpose.stderr
    assert "ticketboss.W001" in on_purpose.stderr
    production = _deploy_check(**REAL_HOST)
    assert "ticketboss." not in production.stderr


# ---------------------------------------------------------------------- keys


def test_keys_have_the_contract_shape_and_only_a_hash_is_kept() -> None:
    prefix = keys.new_prefix()
    key = keys.new_key(prefix)
    assert keys.prefix_of(key) == prefix and len(prefix) == 8 and prefix.isalnum()
    assert len(key) - len("tb_") - 8 - 1 >= 32
    stored = keys.hash_key(key)
    assert keys.is_hash(stored) and key not in stored and key[12:] not in stored
    assert keys.matches(key, stored)
    assert not keys.matches(key[:-1] + "x", stored)
    assert not keys.matches(key, None)


@pytest.mark.parametrize(
    "text", ["", "tb_", "tb_abc_" + "x" * 40, "tb_abcdefgh_short", "xx_abcdefgh_" + "x" * 40]
)
def test_malformed_keys_have_no_prefix(text: str) -> None:
    assert keys.prefix_of(text) is None


def test_a_wrong_secret_costs_the_same_wherever_it_differs(monkeypatch) -> None:
    """The digest, not the key, is compared, with hmac.compare_digest: where a wrong
    secret differs from the right one tells an attacker nothing."""
    compared: list[tuple[str, str]] = []
    real = keys.constant_time_compare
    monkeypatch.setattr(
        keys, "constant_time_compare", lambda a, b: compared.append((a, b)) or real(a, b)
    )
    key = keys.new_key(keys.new_prefix())
    stored = keys.hash_key(key)
    keys.matches("x" + key[1:], stored)
    keys.matches(key, None)
    assert [b for _a, b in compared] == [stored, keys._NO_KEY_HASH]
    monkeypatch.undo()

    wrong_first = key[:12] + ("A" if key[12] != "A" else "B") + key[13:]
    wrong_last = key[:-1] + ("A" if key[-1] != "A" else "B")
    timings = {name: [] for name in ("first", "last", "unknown")}
    for _round in range(30):
        for name, candidate, against in (
            ("first", wrong_first, stored),
            ("last", wrong_last, stored),
            ("unknown", key, None),
        ):
            start = time.perf_counter_ns()
            for _ in range(200):
                keys.matches(candidate, against)
            timings[name].append(time.perf_counter_ns() - start)
    medians = {name: statistics.median(values) for name, values in timings.items()}
    assert max(medians.values()) < 1.5 * min(medians.values()), medians


# ---------------------------------------------------------------------- the JSON directory


def test_revocation_is_seen_by_another_worker_within_a_second(tmp_path: Path) -> None:
    admin, worker = JsonPartnerDirectory(tmp_path), JsonPartnerDirectory(tmp_path)
    admin.create_partner(partner_id="acme", name="ACME")
    issued = admin.issue_key(partner_id="acme")
    prefix = issued.record.prefix
    assert worker.key(prefix).active
    admin.revoke_key(prefix=prefix)
    wait_until(lambda: not worker.key(prefix).active, timeout=1.0, message="revocation seen")
    assert (tmp_path / "partners.json").read_text().count(issued.key[12:]) == 0


def test_a_damaged_partners_file_fails_check_store_and_names_it(tmp_path: Path) -> None:
    directory = JsonPartnerDirectory(tmp_path)
    directory.create_partner(partner_id="acme", name="ACME")
    directory.issue_key(partner_id="acme")
    assert directory.verify() == []
    path = tmp_path / "partners.json"
    path.write_text(path.read_text().replace("sha256$", "md5$"))
    assert any("not a sha256 digest" in problem for problem in directory.verify())
    path.write_text("{not json")
    assert str(path) in directory.verify()[0]
    with pytest.raises(StoreCorrupt):
        directory.key("AAAAAAAA")
    env = {**os.environ, "TICKETBOSS_DATA_DIR": str(tmp_path)}
    checked = run_manage(env, "check_store")
    assert checked.returncode != 0 and str(path) in checked.stderr


def test_session_and_csrf_cookies_are_locked_down_in_production() -> None:
    names = [
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "CSRF_COOKIE_HTTPONLY",
        "SESSION_COOKIE_SAMESITE",
        "SESSION_COOKIE_NAME",
        "CSRF_COOKIE_NAME",
    ]
    code = f"from django.conf import settings; print([getattr(settings, n) for n in {names!r}])"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TICKETBOSS_"))}
    result = run_manage({**base, **REAL_HOST}, "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(
        [True, True, True, True, "Lax", "__Host-sessionid", "__Host-csrftoken"]
    )
