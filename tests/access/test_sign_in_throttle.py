"""Failed sign-ins: throttled per account and per address; 10 wrong passwords in a row
lock the account for 15 minutes; a forged X-Forwarded-For dodges nothing.

The server trusts one proxy here (TICKETBOSS_NUM_PROXIES=1), as behind nginx: the
address is the last X-Forwarded-For entry, the one the proxy appended. The test plays
that proxy, so it can sign in "from" several addresses; whatever a client writes in
front of that entry is forged and must not count.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import RequestFactory

from reservations.accounts import client_address
from tests.access.conftest import STORES, Site, start_site

WRONG = "not the password"


def from_address(address: str, forged: str = "203.0.113.7") -> dict[str, str]:
    """Headers as the trusted proxy passes them on: the client's forgery, then the truth."""
    return {"X-Forwarded-For": f"{forged}, {address}"}


def fail(site: Site, username: str, address: str, times: int) -> None:
    for attempt in range(times):
        _session, answer = site.sign_in(
            username, WRONG, **from_address(address, forged=f"198.51.100.{attempt}")
        )
        assert answer.status_code in (200, 429), answer.text
        if answer.status_code == 200:
            assert "Please enter a correct username and password" in answer.text


def signs_in(site: Site, username: str, address: str) -> int:
    _session, answer = site.sign_in(username, **from_address(address))
    return answer.status_code


@pytest.fixture(scope="module", params=STORES)
def throttled_site(request, tmp_path_factory) -> Iterator[Site]:
    """One site per store; each test signs in from its own addresses and accounts."""
    folder = tmp_path_factory.mktemp(f"throttle-{request.param}")
    for site in start_site(request, folder, request.param, TICKETBOSS_NUM_PROXIES="1"):
        site.set_up(superusers=("boss",), staff=("victim", "steady"))
        yield site


def test_ten_wrong_passwords_lock_the_account_and_the_address(throttled_site: Site) -> None:
    site = throttled_site
    fail(site, "victim", "10.0.0.1", 10)
    # The account is locked from anywhere, even with its right password...
    locked = site.sign_in("victim", **from_address("10.0.0.2"))[1]
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.text
    assert "sessionid" not in locked.cookies
    # ...and so is the address, for every account; other addresses and accounts are fine.
    assert signs_in(site, "boss", "10.0.0.1") == 429
    assert signs_in(site, "boss", "10.0.0.2") == 302


def test_ten_failures_from_one_address_lock_that_address(throttled_site: Site) -> None:
    site = throttled_site
    for index in range(10):
        fail(site, f"guess-{index}", "10.0.0.3", 1)
    assert signs_in(site, "boss", "10.0.0.3") == 429
    assert signs_in(site, "boss", "10.0.0.4") == 302


def test_only_failures_in_a_row_count(throttled_site: Site) -> None:
    site = throttled_site
    fail(site, "steady", "10.0.0.5", 9)
    assert signs_in(site, "steady", "10.0.0.5") == 302
    fail(site, "steady", "10.0.0.6", 9)
    assert signs_in(site, "steady", "10.0.0.6") == 302


@pytest.mark.parametrize(
    ("proxies", "forwarded", "address"),
    [
        (0, "203.0.113.7", "127.0.0.1"),
        (0, "203.0.113.7, 10.0.0.9", "127.0.0.1"),
        (1, "203.0.113.7, 10.0.0.9", "10.0.0.9"),
        (1, None, "127.0.0.1"),
    ],
    ids=["direct-forged", "direct-forged-chain", "one-proxy", "one-proxy-no-header"],
)
def test_the_address_counted_is_never_the_clients_own_claim(
    settings, proxies: int, forwarded: str | None, address: str
) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": proxies}
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="127.0.0.1", **extra)
    assert client_address(request) == address
