"""The server's worker processes over their life: a crashed worker is replaced, and a stop
that reaches every process at once is a clean stop whatever order they take it in."""

from __future__ import annotations

import os
import select
import signal

import pytest
import requests

from tests.support.server import wait_until

pytestmark = pytest.mark.system


def _stop_and_wait(pids: list[int], timeout: float) -> None:
    """SIGTERM processes that are not our children and wait until each has ended (its
    pidfd, opened before the signal so that the pid cannot be reaped first, turns
    readable)."""
    fds = [os.pidfd_open(pid) for pid in pids]
    try:
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
        for pid, fd in zip(pids, fds, strict=True):
            readable, _, _ = select.select([fd], [], [], timeout)
            assert readable, f"process {pid} still running after {timeout} s"
    finally:
        for fd in fds:
            os.close(fd)


def test_workers_ending_before_the_server_takes_the_same_stop_is_a_clean_stop(
    server_factory,
) -> None:
    """Ctrl-C or `kill` of the process group reaches the server and its workers at once,
    and a worker may be done before the server has handled its own signal. That order,
    forced here, is still a stop with status 0, not a worker crash."""
    server = server_factory(workers=2)
    wait_until(lambda: len(server.worker_pids()) == 2, timeout=30, message="both workers")
    _stop_and_wait(server.worker_pids(), timeout=15)
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGTERM)
    assert server.wait_exit(timeout=15) == 0, server.log()
    assert "Unexpected exit" not in server.log()


def test_a_killed_worker_is_replaced_and_nothing_booked_is_lost(server_factory) -> None:
    server = server_factory(workers=2)
    wait_until(lambda: len(server.worker_pids()) == 2, timeout=30, message="both workers")
    booked = requests.post(
        server.url("/reservations"), json={"partnerId": "crash", "seats": 2}, timeout=10
    )
    assert booked.status_code == 201, booked.text
    victim = server.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)
    wait_until(
        lambda: len(server.worker_pids()) == 2 and victim not in server.worker_pids(),
        timeout=30,
        message="a new worker in place of the killed one",
    )
    assert server.process is not None and server.process.poll() is None, server.log()
    for _ in range(10):  # a new connection each: both workers, old and new, answer
        again = requests.post(
            server.url("/reservations"), json={"partnerId": "crash", "seats": 1}, timeout=10
        )
        assert again.status_code == 201, again.text
    summary = requests.get(server.url("/reservations"), timeout=10).json()
    assert summary["totalSeats"] - summary["availableSeats"] == 12, summary
    cancelled = requests.delete(
        server.url(f"/reservations/{booked.json()['reservationId']}"), timeout=10
    )
    assert cancelled.status_code == 204, cancelled.text
