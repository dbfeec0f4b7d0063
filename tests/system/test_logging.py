"""What the server's log says at each TICKETBOSS_LOG_LEVEL: a refused request is the
client's business, not a warning, and a level means what it says for every logger."""

from __future__ import annotations

import pytest
import requests

JSON = {"Content-Type": "application/json"}
REFUSAL_LINES = ("Bad Request: /reservations", "Not Found: /nope", "Conflict: /reservations")
CSRF_LINE = "Forbidden (CSRF cookie not set.): /accounts/login/"
ORGANIZERS_ONLY_LINE = "Forbidden: /events/node-meetup-2025/reservations"


def _sell_out_and_refuse(server) -> None:
    """A sell-out (the default event's 500 seats, then a 409), a 400, a 404, an organizer's
    page asked for by someone else (403), and a sign-in form posted without its CSRF
    cookie (403)."""
    for _ in range(50):
        booked = requests.post(
            server.url("/reservations"), json={"partnerId": "p", "seats": 10}, timeout=10
        )
        assert booked.status_code == 201
    sold_out = requests.post(
        server.url("/reservations"), json={"partnerId": "p", "seats": 1}, timeout=10
    )
    assert sold_out.status_code == 409
    bad = requests.post(server.url("/reservations"), data=b'{"partnerId": "p"}', headers=JSON)
    assert bad.status_code == 400
    assert requests.get(server.url("/nope"), timeout=10).status_code == 404
    organizers_only = requests.get(server.url("/events/node-meetup-2025/reservations"), timeout=10)
    assert organizers_only.status_code == 403
    forged = requests.post(server.url("/accounts/login/"), data={"username": "x"}, timeout=10)
    assert forged.status_code == 403


@pytest.mark.parametrize("level", [None, "WARNING"])
def test_refusals_leave_no_line_at_the_default_level(server_factory, level) -> None:
    """A sell-out answers thousands of 409s a second: none of them (nor 400s, 404s) is
    logged, while refusals of access (403: not an organizer, a failed CSRF check) still
    are: someone may be probing."""
    env = {"TICKETBOSS_LOG_LEVEL": level} if level else {}
    server = server_factory(workers=1, env=env)
    _sell_out_and_refuse(server)
    server.stop()  # the log is complete once the server has ended
    log = server.log()
    assert not [line for line in REFUSAL_LINES if line in log], log[-2000:]
    assert f"WARNING django.security.csrf: {CSRF_LINE}" in log
    assert f"WARNING django.request: {ORGANIZERS_ONLY_LINE}" in log


def test_refusals_are_info_lines(server_factory) -> None:
    server = server_factory(workers=1, env={"TICKETBOSS_LOG_LEVEL": "info"})
    _sell_out_and_refuse(server)
    server.stop()
    log = server.log()
    for line in REFUSAL_LINES:
        assert f"INFO django.request: {line}" in log, log[-2000:]


def test_error_level_keeps_django_warnings_out_too(server_factory) -> None:
    """Django's own loggers pass WARNING records up whatever the root level says; the
    level is enforced where the lines are written."""
    server = server_factory(workers=1, env={"TICKETBOSS_LOG_LEVEL": "ERROR"})
    _sell_out_and_refuse(server)
    server.stop()
    log = server.log()
    assert " WARNING " not in log and " INFO " not in log, log[-2000:]
