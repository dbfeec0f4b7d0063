"""Load for tests that need writes going on while they look: reserve and cancel, no pause."""

from __future__ import annotations

import threading

import requests

from tests.support.server import ServerProcess


class Writers:
    """Clients that reserve and cancel without pause while a test runs."""

    def __init__(self, server: ServerProcess, *, event_id: str, clients: int) -> None:
        self.server = server
        self.event_id = event_id
        self.stop = threading.Event()
        self.acknowledged = [0] * clients
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self._churn, args=(n,)) for n in range(clients)]

    def _churn(self, client: int) -> None:
        mine: list[str] = []
        with requests.Session() as http:
            while not self.stop.is_set():
                made = http.post(
                    self.server.url(f"/events/{self.event_id}/reservations"),
                    json={"partnerId": f"client-{client}", "seats": 1 + client % 3},
                    timeout=10,
                )
                if made.status_code != 201:
                    self.errors.append(f"reserve {made.status_code}: {made.text}")
                    return
                mine.append(made.json()["reservationId"])
                self.acknowledged[client] += 1
                if len(mine) == 3:
                    gone = http.delete(self.server.url(f"/reservations/{mine.pop(0)}"), timeout=10)
                    if gone.status_code != 204:
                        self.errors.append(f"cancel {gone.status_code}: {gone.text}")
                        return
                    self.acknowledged[client] += 1

    def __enter__(self) -> Writers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)
