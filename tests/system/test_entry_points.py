"""Django's usual entry points, started as Django's deployment docs say, and the start-up output.

CONTRACT.md "Running it": `ticketboss_site.wsgi:application` under a WSGI server and
`ticketboss_site.asgi:application` under an ASGI server either serve correctly or refuse
to start with a one-line reason; never a 500 on every request.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.support.server import GUNICORN, ROOT, ServerProcess, free_port, wait_until
from tests.system.test_live_stream import EVENT, open_stream

pytestmark = pytest.mark.system

UVICORN = str(Path(sys.executable).with_name("uvicorn"))


class UvicornServer(ServerProcess):
    """`uvicorn ticketboss_site.asgi:application`, as Django's ASGI docs start it."""

    def command(self) -> list[str]:
        return [UVICORN, "ticketboss_site.asgi:application", "--port", str(self.port)]


def _serves_the_api_and_a_stream(server: ServerProcess) -> None:
    summary = requests.get(server.url("/reservations"), timeout=10)
    assert summary.status_code == 200, summary.text
    with open_stream(server) as stream:
        first = stream.next_summary()
        booked = requests.post(
            server.url("/reservations"), json={"partnerId": "entry", "seats": 3}, timeout=10
        )
        assert booked.status_code == 201, booked.text
        assert stream.next_summary()["availableSeats"] == first["availableSeats"] - 3
    reservation_id = booked.json()["reservationId"]
    assert (
        requests.get(server.url(f"/reservations/{reservation_id}"), timeout=10).status_code == 200
    )
    missing = requests.get(server.url("/reservations/not-an-id"), timeout=10)
    assert missing.status_code == 404 and "error" in missing.json()


def test_gunicorn_serves_the_wsgi_app(server_factory) -> None:
    server = server_factory(app="ticketboss_site.wsgi:application")
    _serves_the_api_and_a_stream(server)


def test_gunicorn_wsgi_caps_streams_and_says_so(server_factory) -> None:
    """Each stream holds a gthread thread: past the cap, 503 JSON that tells the page to poll."""
    server = server_factory(
        app="ticketboss_site.wsgi:application",
        workers=1,
        env={"TICKETBOSS_STREAMS_PER_WORKER": "2", "TICKETBOSS_STREAM_KEEPALIVE": "0.5"},
    )
    with open_stream(server), open_stream(server):
        refused = requests.get(server.url(f"/events/{EVENT}/stream"), timeout=10)
        assert refused.status_code == 503
        assert "poll" in refused.json()["error"] and refused.headers["Retry-After"]
        # Requests still have their threads.
        assert requests.get(server.url("/reservations"), timeout=10).status_code == 200

    def slot_free() -> bool:
        with requests.get(server.url(f"/events/{EVENT}/stream"), stream=True, timeout=10) as r:
            return r.status_code == 200

    # A gone client is noticed at the next keep-alive write (0.5 s here), freeing its slot.
    wait_until(slot_free, timeout=10, message="a stream slot to free up once a client left")


def test_gunicorn_with_an_asgi_worker_serves_the_asgi_app(server_factory) -> None:
    server = server_factory(
        app="ticketboss_site.asgi:application",
        extra_args=("-k", "ticketboss_site.workers.TicketBossWorker"),
    )
    _serves_the_api_and_a_stream(server)


def test_uvicorn_serves_the_asgi_app(tmp_path) -> None:
    server = UvicornServer(data_dir=tmp_path / "data").start()
    try:
        _serves_the_api_and_a_stream(server)
    finally:
        server.stop()


def test_gunicorn_refuses_the_asgi_app_on_a_wsgi_worker_with_one_line(tmp_path) -> None:
    result = subprocess.run(
        [GUNICORN, "ticketboss_site.asgi:application", "--bind", f"127.0.0.1:{free_port()}"],
        cwd=ROOT,
        env={**os.environ, "TICKETBOSS_DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "ASGI" in lines[0] and "ticketboss_site.wsgi:application" in lines[0]


def test_start_up_says_the_development_key_once_in_plain_words(tmp_path) -> None:
    """No Python warning with a source line, and nothing repeated by each worker."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SECRET_KEY"}
    server = ServerProcess(data_dir=tmp_path / "data", workers=2, env=env)
    server.env.pop("DJANGO_SECRET_KEY", None)
    server.start()
    try:
        wait_until(
            lambda: len(server.worker_pids()) == 2, timeout=30, message="both workers started"
        )
        requests.get(server.url("/reservations"), timeout=10)
    finally:
        assert server.process is not None
        os.killpg(server.process.pid, signal.SIGTERM)
        server.wait_exit(timeout=30)
    output = server.log()
    mentions = [line for line in output.splitlines() if "DJANGO_SECRET_KEY" in line]
    assert len(mentions) == 1, output
    assert "development key" in mentions[0]
    assert "Warning" not in output and "warnings.warn" not in output, output


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [("TICKETBOSS_DEFAULT_EVENT", "Bad Event", "TICKETBOSS_DEFAULT_EVENT"),
     ("TICKETBOSS_STORE", "nope", "TICKETBOSS_STORE"),
     ("TICKETBOSS_LOG_LEVEL", "loud", "TICKETBOSS_LOG_LEVEL"),
     ("TICKETBOSS_LOCK_TIMEOUT", "5s", "TICKETBOSS_LOCK_TIMEOUT"),
     ("TICKETBOSS_STREAMS_PER_WORKER", "-5", "TICKETBOSS_STREAMS_PER_WORKER"),
     ("TICKETBOSS_WORKERS", "0", "TICKETBOSS_WORKERS"),
     ("TICKETBOSS_THREADS", "many", "TICKETBOSS_THREADS")],
)  # fmt: skip
def test_a_bad_setting_stops_the_server_with_one_line(tmp_path, name, value, named) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ticketboss_site.serve", "--bind", f"127.0.0.1:{free_port()}"],
        cwd=ROOT,
        env={**os.environ, "TICKETBOSS_DATA_DIR": str(tmp_path / "data"), name: value},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and named in lines[0], lines
