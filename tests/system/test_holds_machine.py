"""The holds state machine (tests/contract/test_holds_stateful.py) against a real
server: 2 workers over HTTP, its clock moved through the clock file, and `restart`
a kill -9 of the whole server followed by a fresh start on the same data, then
`manage.py check_store` on what the kill left."""

from __future__ import annotations

import json
import select
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from hypothesis import settings
from hypothesis.stateful import precondition, rule

from reservations import clock
from reservations.domain import HoldExpired, NotEnoughSeats, ReservationNotFound
from tests.contract.test_holds_stateful import START_MS, HoldMachine
from tests.support.server import ROOT, ServerProcess

pytestmark = pytest.mark.system

# Run in `manage.py shell`: each stdin line is one command's argv (JSON), answered with
# one line [exit code, stdout, stderr] on the original stdout, as `manage.py ARGV`
# would end. Stray prints go to stderr. reset_store() closes what a command opened, so
# the next one starts from the files as a new process would.
_COMMAND_LOOP = """
import io, json, os, sys, traceback
from django.core.management import call_command
from django.core.management.base import CommandError
from reservations.store import reset_store

answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
sys.stdout = sys.stderr
for line in sys.stdin:
    out, err, code = io.StringIO(), io.StringIO(), 0
    try:
        call_command(*json.loads(line), stdout=out, stderr=err, skip_checks=False)
    except CommandError as exc:
        err.write(f"CommandError: {exc}\\n")
        code = 1
    except Exception:
        err.write(traceback.format_exc())
        code = 1
    finally:
        reset_store()
    answers.write(json.dumps([code, out.getvalue(), err.getvalue()]) + "\\n")
    answers.flush()
"""


class ManageCommands:
    """`manage.py` commands on a server's data, in its environment, from one process.

    Why: each `manage.py` process spends 1-2 s starting Django, and the machine ran
    seed_event and check_store for every example (and check_store after every kill -9
    now): about as long as everything else the test does together.
    """

    def __init__(self, server: ServerProcess, log_path: Path) -> None:
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "shell", "--no-imports", "--command", _COMMAND_LOOP],
                cwd=ROOT,
                env=server.env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """What `manage.py ARGS` would have ended with (exit code, stdout, stderr)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(args) + "\n")
        self.process.stdin.flush()
        if not select.select([self.process.stdout], [], [], timeout)[0]:
            self.close()
            raise AssertionError(f"manage.py {' '.join(args)}: no answer in {timeout}s")
        answer = self.process.stdout.readline()
        if not answer:
            raise AssertionError(f"manage.py shell exited:\n{self.log_path.read_text()}")
        code, out, err = json.loads(answer)
        return subprocess.CompletedProcess(["manage.py", *args], code, out, err)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


class HttpStore:
    """The store calls the machine makes, as a partner makes them: over HTTP."""

    def __init__(self, server: ServerProcess, manage: ManageCommands) -> None:
        self.server = server
        self.manage = manage
        self.http = requests.Session()

    def _send(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        response = self.http.request(method, self.server.url(path), json=body, timeout=30)
        if response.status_code == 409:
            error = response.json()["error"]
            raise HoldExpired() if error == HoldExpired.message else NotEnoughSeats()
        if response.status_code == 404:
            raise ReservationNotFound()
        assert response.status_code < 300, response.text
        return response

    def ensure_event(self, *, event_id: str, name: str, total_seats: int) -> None:
        seeded = self.manage.run("seed_event", event_id, "--name", name, "--seats",
                                 str(total_seats))  # fmt: skip
        assert seeded.returncode == 0, seeded.stderr

    def reserve(self, *, event_id: str, partner_id: str, seats: int):  # type: ignore[no-untyped-def]
        body = {"partnerId": partner_id, "seats": seats}
        made = self._send("POST", f"/events/{event_id}/reservations", body).json()
        return SimpleNamespace(reservation=_reservation(made))

    def hold(self, *, event_id: str, partner_id: str, seats: int, hold_seconds: int):  # type: ignore[no-untyped-def]
        body = {"partnerId": partner_id, "seats": seats, "holdSeconds": hold_seconds}
        made = self._send("POST", f"/events/{event_id}/holds", body).json()
        return SimpleNamespace(reservation=_reservation(made))

    def confirm(self, *, reservation_id: str):  # type: ignore[no-untyped-def]
        return _reservation(self._send("POST", f"/reservations/{reservation_id}/confirm").json())

    def cancel(self, *, reservation_id: str) -> None:
        self._send("DELETE", f"/reservations/{reservation_id}")

    def get_reservation(self, *, reservation_id: str):  # type: ignore[no-untyped-def]
        return _reservation(self._send("GET", f"/reservations/{reservation_id}").json())

    def summary(self, *, event_id: str):  # type: ignore[no-untyped-def]
        data = self._send("GET", f"/events/{event_id}").json()
        return SimpleNamespace(
            available_seats=data["availableSeats"],
            held_seats=data["heldSeats"],
            hold_count=data["holdCount"],
            reservation_count=data["reservationCount"],
            version=data["version"],
        )

    def verify(self) -> list[str]:
        checked = self.manage.run("check_store")
        return [] if checked.returncode == 0 else [checked.stderr]

    def close(self) -> None:
        self.http.close()


def _reservation(data: dict) -> SimpleNamespace:
    return SimpleNamespace(
        reservation_id=data["reservationId"],
        status=data["status"],
        expires_at=data.get("expiresAt"),
    )


class ServerHoldMachine(HoldMachine):
    server: ServerProcess | None = None
    started_at_version = 0  # the model's version when the server last started

    # A kill -9 only once something was written since the server started: the model's
    # version moved (a booking, confirm, cancel, or an expiry, which the invariant's reads
    # record). Until then the files are the ones the last start read, so another kill and
    # start (1-2 s each) could find nothing new; most restarts drawn were such repeats.
    @precondition(lambda self: self.version() > self.started_at_version)
    @rule()
    def restart(self) -> None:
        """kill -9 with whatever holds are open, then start again on the same data; the
        data the kill left must pass check_store, and the invariant checks the answers."""
        server = type(self).server
        assert server is not None
        server.kill9()
        server.start()
        self.started_at_version = self.version()
        assert self.writer.verify() == []


def test_holds_agree_with_model_on_a_real_server(server_factory, tmp_path: Path) -> None:
    clock_path = tmp_path / "clock"
    clock.set_time(clock_path, at_ms=START_MS)
    server = server_factory(workers=2, env={"TICKETBOSS_CLOCK_FILE": str(clock_path),
                                            "TICKETBOSS_HOLD_MIN_SECONDS": "1"})  # fmt: skip
    manage = ManageCommands(server, tmp_path / "manage.log")
    ServerHoldMachine.server = server
    ServerHoldMachine.opener = staticmethod(lambda: HttpStore(server, manage))
    ServerHoldMachine.clock_path = clock_path
    try:
        ServerHoldMachine.TestCase.settings = settings(
            max_examples=6, stateful_step_count=25, deadline=None
        )
        ServerHoldMachine.TestCase().runTest()
    finally:
        ServerHoldMachine.server = None
        ServerHoldMachine.opener = None
        manage.close()
