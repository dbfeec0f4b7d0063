"""deploy/nginx.conf in front of two nodes: requests and live streams pass through it."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.postgres.conftest import EVENT, SEATS, summaries
from tests.support.server import ROOT, ServerProcess, free_port, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.system]

EXAMPLE = ROOT / "deploy" / "nginx.conf"


def local_config(nodes: list[ServerProcess], port: int, prefix: Path) -> str:
    """The example with this machine's node addresses, a free port and private paths."""
    text = EXAMPLE.read_text()
    servers = "".join(f"        server 127.0.0.1:{node.port};\n" for node in nodes)
    text, count = re.subn(r"(        server \S+:8000[^\n]*\n)+", servers, text)
    assert count == 1, "the example's upstream block changed shape"
    text = text.replace("listen 80;", f"listen 127.0.0.1:{port};")
    text = text.replace("worker_processes auto;", "worker_processes 1;")
    paths = "".join(
        f"    {kind}_temp_path {prefix / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    text = text.replace("http {\n", f"http {{\n    access_log off;\n{paths}", 1)
    return f"pid {prefix / 'nginx.pid'};\nerror_log {prefix / 'error.log'};\n{text}"


@pytest.fixture
def balancer(two_nodes, tmp_path: Path) -> Iterator[str]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        from tests.conftest import skip_or_fail

        skip_or_fail("nginx is not installed (apt-get install nginx-light)")
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    port = free_port()
    config = prefix / "nginx.conf"
    config.write_text(local_config(list(two_nodes), port, prefix))
    process = subprocess.Popen(
        [nginx, "-p", str(prefix), "-c", str(config), "-g", "daemon off; user root;"],
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        try:
            return requests.get(url + "/reservations", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(answers, timeout=15, message="nginx in front of the nodes")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_example_nginx_config_balances_requests_and_streams(balancer: str) -> None:
    made = requests.post(
        balancer + f"/events/{EVENT}/reservations", json={"partnerId": "lb", "seats": 5}, timeout=10
    )
    assert made.status_code == 201
    with requests.get(balancer + f"/events/{EVENT}/stream", stream=True, timeout=(5, 5)) as stream:
        assert stream.status_code == 200
        messages = summaries(stream)
        _at, first = next(messages)
        assert first["availableSeats"] == SEATS - 5
        sent = time.monotonic()
        cancel = requests.delete(balancer + f"/reservations/{made.json()['reservationId']}")
        assert cancel.status_code == 204
        arrived, latest = next(messages)
    assert latest["availableSeats"] == SEATS
    assert arrived - sent < 1.0  # not held back in a proxy buffer
