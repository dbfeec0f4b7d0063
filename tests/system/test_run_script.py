"""`./scripts/run` clears expired sign-in sessions before it serves.

Django never deletes an expired session by itself; without `clearsessions` the table
only grows. The script runs it at every start (after `migrate`); long-running
deployments add a cron line (docs/access.md).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

import requests

from tests.support.server import ROOT, free_port, run_manage, wait_until

IMPORTS = """
from datetime import timedelta
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone
"""
# One session that expired an hour ago and one that is good for another hour.
MAKE = """
for name, hours in (("expired", -1), ("current", 1)):
    session = SessionStore()
    session["who"] = name
    session.create()
    Session.objects.filter(session_key=session.session_key).update(
        expire_date=timezone.now() + timedelta(hours=hours)
    )
"""
LIST = """
decode = SessionStore().decode
print(",".join(sorted(decode(row.session_data)["who"] for row in Session.objects.all())))
"""


def _sessions(env: dict[str, str], *, make: bool = False) -> str:
    """The stored sessions by name (after making the two when `make`)."""
    result = run_manage(env, "shell", "-c", IMPORTS + (MAKE if make else "") + LIST)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_the_run_script_clears_expired_sessions_and_keeps_current_ones(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ticketboss_site.settings",
        "TICKETBOSS_DATA_DIR": str(tmp_path / "data"),
        "PYTHONUNBUFFERED": "1",
    }
    migrated = run_manage(env, "migrate", "--no-input", "-v", "0")
    assert migrated.returncode == 0, migrated.stderr
    assert _sessions(env, make=True) == "current,expired"

    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(ROOT / "scripts" / "run"), "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def serving() -> bool:
        assert process.poll() is None, log_path.read_text(errors="replace")
        with contextlib.suppress(requests.RequestException):
            return requests.get(f"http://127.0.0.1:{port}/reservations", timeout=1).ok
        return False

    try:
        wait_until(serving, timeout=120, message="./scripts/run to serve")
        assert _sessions(env) == "current"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
