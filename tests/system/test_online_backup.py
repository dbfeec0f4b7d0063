"""export_store while the service takes writes: each dump restores to a sound store."""

from __future__ import annotations

import threading
from pathlib import Path

import orjson
import pytest
import requests

from tests.support.server import ServerProcess, run_manage

pytestmark = pytest.mark.system

EVENT = "backup-fest"


class Writers:
    """Clients that reserve and cancel without pause while a test runs."""

    def __init__(self, server: ServerProcess, clients: int) -> None:
        self.server = server
        self.stop = threading.Event()
        self.acknowledged = [0] * clients
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self._churn, args=(n,)) for n in range(clients)]

    def _churn(self, client: int) -> None:
        mine: list[str] = []
        with requests.Session() as http:
            while not self.stop.is_set():
                made = http.post(
                    self.server.url(f"/events/{EVENT}/reservations"),
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


def test_dumps_taken_under_writes_restore_to_sound_stores(server_factory, tmp_path: Path) -> None:
    server = server_factory(env={"TICKETBOSS_COMPACT_MIN_RECORDS": "200"})
    seeded = server.manage("seed_event", EVENT, "--name", "Backup Fest", "--seats", "1000000")
    assert seeded.returncode == 0, seeded.stderr
    versions = []
    with Writers(server, clients=4) as writers:
        for number in range(3):
            before = sum(writers.acknowledged)
            dump = tmp_path / f"dump-{number}.json"
            exported = server.manage("export_store", str(dump))
            assert exported.returncode == 0, exported.stderr
            assert sum(writers.acknowledged) > before, "the dump was not taken under writes"
            restored = {**server.env, "TICKETBOSS_DATA_DIR": str(tmp_path / f"restored-{number}")}
            imported = run_manage(restored, "import_store", str(dump))
            assert imported.returncode == 0, imported.stderr  # seat counts agree with rows
            checked = run_manage(restored, "check_store")
            assert checked.returncode == 0, checked.stdout + checked.stderr
            event = next(e for e in orjson.loads(dump.read_bytes())["events"]
                         if e["eventId"] == EVENT)  # fmt: skip
            versions.append(event["version"])
    assert writers.errors == []
    assert versions == sorted(versions) and versions[0] < versions[-1]
