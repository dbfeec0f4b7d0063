"""The holds state machine (tests/contract/test_holds_stateful.py) against a real
server: 2 workers over HTTP, its clock moved through the clock file, and `restart`
a kill -9 of the whole server followed by a fresh start on the same data."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from hypothesis import settings
from hypothesis.stateful import rule

from reservations import clock
from reservations.domain import HoldExpired, NotEnoughSeats, ReservationNotFound
from tests.contract.test_holds_stateful import START_MS, HoldMachine
from tests.support.server import ServerProcess

pytestmark = pytest.mark.system


class HttpStore:
    """The store calls the machine makes, as a partner makes them: over HTTP."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
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
        seeded = self.server.manage("seed_event", event_id, "--name", name, "--seats",
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
        checked = self.server.manage("check_store")
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

    @rule()
    def restart(self) -> None:
        """kill -9 with whatever holds are open, then start again on the same data."""
        server = type(self).server
        assert server is not None
        server.kill9()
        server.start()


def test_holds_agree_with_model_on_a_real_server(server_factory, tmp_path: Path) -> None:
    clock_path = tmp_path / "clock"
    clock.set_time(clock_path, at_ms=START_MS)
    server = server_factory(workers=2, env={"TICKETBOSS_CLOCK_FILE": str(clock_path),
                                            "TICKETBOSS_HOLD_MIN_SECONDS": "1"})  # fmt: skip
    ServerHoldMachine.server = server
    ServerHoldMachine.opener = staticmethod(lambda: HttpStore(server))
    ServerHoldMachine.clock_path = clock_path
    try:
        ServerHoldMachine.TestCase.settings = settings(
            max_examples=6, stateful_step_count=25, deadline=None
        )
        ServerHoldMachine.TestCase().runTest()
    finally:
        ServerHoldMachine.server = None
        ServerHoldMachine.opener = None
