"""Servers for the benchmarks: start, time to first 200, worker CPU and RSS, stop.

`server` picks how an app is served:
- "ticketboss": the README's production server, `python -m ticketboss_site.serve`
  (granian WSGI), exactly as `./scripts/run` starts it;
- "gthread": gunicorn's gthread worker, 2 workers x 8 threads (the common Django
  deployment), with bench/bare_site/gunicorn_conf.py instead of the project's file;
- "granian": granian's WSGI, 2 workers x 8 threads (the fastest serving found here).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
GRANIAN = str(Path(sys.executable).with_name("granian"))
WORKERS = 2
THREADS = 8
# The baseline of every ratio: a bare DRF no-op view (bench/bare_site), the framework's best.
BARE_APP = "bench.bare_site.wsgi:application"
BARE_SETTINGS = "bench.bare_site.settings"


def bare_server(log_path: Path, *, server: str = "granian", workers: int = WORKERS) -> Server:
    """The bare view served by `server` (default granian's WSGI, the fastest found here)."""
    return Server(BARE_APP, BARE_SETTINGS, log_path, server=server, workers=workers)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """One server master and its workers, in its own process group."""

    app: str
    settings_module: str
    log_path: Path
    data_dir: Path | None = None
    server: str = "ticketboss"
    env: dict[str, str] = field(default_factory=dict)
    workers: int = WORKERS
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        bind = f"127.0.0.1:{self.port}"
        if self.server == "ticketboss":
            return [sys.executable, "-m", "ticketboss_site.serve", "--bind", bind]
        if self.server == "gthread":
            config = "python:bench.bare_site.gunicorn_conf"
            return [GUNICORN, self.app, "--config", config, "--bind", bind]
        if self.server == "granian":
            return [
                GRANIAN, "--interface", "wsgi", "--workers", str(self.workers),
                "--blocking-threads", str(THREADS), "--backpressure", str(THREADS),
                "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
                self.app,
            ]  # fmt: skip
        raise ValueError(f"unknown server {self.server!r}")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 120.0) -> float:
        """Start the server; seconds from launch to the first 200 on GET /reservations."""
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": self.settings_module,
            "DJANGO_SECRET_KEY": "bench-key-local-use-only-0123456789abcdef0123456789abcdef",
            "TICKETBOSS_THROTTLE": "off",
            "PYTHONUNBUFFERED": "1",
            "TICKETBOSS_WORKERS": str(self.workers),
            "TICKETBOSS_THREADS": str(THREADS),
            **self.env,
        }
        env.pop("TICKETBOSS_ACCESS_LOG", None)
        if self.data_dir is not None:
            env["TICKETBOSS_DATA_DIR"] = str(self.data_dir)
        command = self.command()
        with open(self.log_path, "ab") as log_file:
            started = time.perf_counter()
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = started + timeout
        while not self._answers_200():
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.app} exited early; see {self.log_path}")
            if time.perf_counter() > deadline:
                self.stop()
                raise RuntimeError(f"{self.app} not ready after {timeout}s; see {self.log_path}")
            time.sleep(0.005)
        return time.perf_counter() - started

    def wait_all_workers_ready(self, *, timeout: float = 120.0) -> None:
        """Every worker has booted (workers start independently)."""
        deadline = time.perf_counter() + timeout
        while len(self.worker_pids()) < self.workers or not self._all_answer():
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{self.app}: workers not all ready; see {self.log_path}")
            time.sleep(0.05)

    def _all_answer(self) -> bool:
        return all(self._answers_200() for _ in range(4 * self.workers))

    def _answers_200(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("GET", "/reservations")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except FileNotFoundError:
            return []

    def worker_rss_mib(self) -> list[float]:
        """Resident memory of each worker, from /proc/<pid>/status (VmRSS)."""
        sizes = []
        for pid in self.worker_pids():
            with contextlib.suppress(FileNotFoundError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes.append(int(line.split()[1]) / 1024)
        return sizes

    def worker_cpu_seconds(self) -> float:
        """User + system CPU time used so far by all workers (all their threads)."""
        return sum(self.cpu_by_worker().values())

    def cpu_seconds_all(self) -> float:
        """User + system CPU seconds so far of the master and its workers: a node's whole
        work, for comparing deployments with different numbers of masters."""
        assert self.process is not None
        return sum(self.cpu_by_worker().values()) + _cpu_seconds(self.process.pid)

    def cpu_by_worker(self) -> dict[int, float]:
        """User + system CPU seconds of each worker so far, by pid."""
        seconds = {}
        for pid in self.worker_pids():
            with contextlib.suppress(FileNotFoundError):
                seconds[pid] = _cpu_seconds(pid)
        return seconds

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)
        except ProcessLookupError:
            pass


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
