"""Real TicketBoss servers for tests: the production server (`python -m ticketboss_site.serve`,
as ./scripts/run starts it) or, when a test names an app, gunicorn; on free loopback ports."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def run_manage(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`manage.py ARGS` in a separate process, as an operator would run it."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


ACCOUNTS_DB = "accounts.sqlite3"  # settings.DATABASES for the JSON store
_accounts_template: Path | None = None
_accounts_template_lock = threading.Lock()


def prepare_accounts_database(env: dict[str, str], data_dir: Path) -> None:
    """What `./scripts/run` does before serving (`manage.py migrate`), for a JSON-store
    data folder: Django's users, sessions and sign-in failures live in SQLite there.

    Migrating takes seconds, so it runs once per test process into a template that
    each new data folder gets a copy of. A `db` store's database is migrated by its
    own fixtures (tests/support/postgres.py).
    """
    global _accounts_template
    target = Path(data_dir) / ACCOUNTS_DB
    if env.get("TICKETBOSS_STORE", "json") != "json" or target.exists():
        return
    with _accounts_template_lock:
        if _accounts_template is None:
            folder = Path(tempfile.mkdtemp(prefix="tb-accounts-"))
            result = run_manage(
                {**env, "TICKETBOSS_DATA_DIR": str(folder)}, "migrate", "--no-input", "-v", "0"
            )
            if result.returncode != 0:
                raise AssertionError(f"manage.py migrate failed:\n{result.stderr}")
            _accounts_template = folder / ACCOUNTS_DB
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_accounts_template, target)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(
    condition: Callable[[], bool],
    *,
    timeout: float,
    interval: float = 0.02,
    message: str = "condition",
) -> None:
    """Poll `condition` until it holds or the deadline passes (then AssertionError)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


class ServerProcess:
    """One server (master and workers) in its own process group.

    Without `app`, the production server; with `app` (e.g. "ticketboss_site.wsgi:application"),
    gunicorn serving that app with the project's gunicorn.conf.py.
    """

    def __init__(
        self,
        *,
        data_dir: Path,
        workers: int = 2,
        port: int | None = None,
        env: dict[str, str] | None = None,
        app: str | None = None,
        extra_args: tuple[str, ...] = (),
        log_path: Path | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.app = app
        self.extra_args = extra_args
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "ticketboss_site.settings",
            "TICKETBOSS_DATA_DIR": str(self.data_dir),
            "TICKETBOSS_THROTTLE": "off",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.log_path = log_path or self.data_dir.parent / f"server-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout: float = 30.0, expect_ready: bool = True) -> ServerProcess:
        prepare_accounts_database(self.env, self.data_dir)
        log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env=self.env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log_file.close()
        if expect_ready:
            wait_until(self._ready, timeout=timeout, message=f"server on {self.base_url}")
        return self

    def command(self) -> list[str]:
        where = ["--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers)]
        if self.app is None:
            return [sys.executable, "-m", "ticketboss_site.serve", *where, *self.extra_args]
        return [GUNICORN, self.app, *where, *self.extra_args]

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(
                f"server exited with {self.process.returncode} before it was ready:\n{self.log()}"
            )
        try:
            return requests.get(self.base_url + "/reservations", timeout=1).status_code < 500
        except requests.RequestException:
            return False

    def worker_pids(self) -> list[int]:
        """The master's child processes (its workers)."""
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except FileNotFoundError:
            return []

    def manage(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`manage.py ARGS` on this server's data (its environment)."""
        return run_manage(self.env, *args)

    def url(self, path: str) -> str:
        return self.base_url + path

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_exit(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def kill9(self) -> None:
        """Power-cut stand-in: SIGKILL the master and every worker at once."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill9()
        except ProcessLookupError:
            pass
