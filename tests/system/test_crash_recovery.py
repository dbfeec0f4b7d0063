"""Pull the plug: kill -9 under load, torn last lines, corruption in the middle."""

from __future__ import annotations

import hashlib
import random
import subprocess
import threading
from pathlib import Path

import pytest
import requests

from tests.support.server import wait_until

DEFAULT = "node-meetup-2025"
ROUNDS = 3
WRITERS = 8


def _journal(server) -> Path:
    return server.data_dir / "events" / DEFAULT / "journal.jsonl"


def _check_store(server) -> subprocess.CompletedProcess[str]:
    return server.manage("check_store")


def _folder_digest(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


class Load:
    """Writers that reserve and cancel until stopped, recording what was acknowledged."""

    def __init__(self, server) -> None:
        self.server = server
        self.confirmed: set[str] = set()  # 201 seen, no cancel sent
        self.cancelled: set[str] = set()  # 204 seen
        self.unsure: set[str] = set()  # cancel sent, answer lost in the crash
        self.acks = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(WRITERS)]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def _run(self, index: int) -> None:
        rng = random.Random(index)
        with requests.Session() as http:
            while not self.stop.is_set():
                try:
                    with self.lock:
                        victim = (
                            rng.random() < 0.3 and self.confirmed and self.confirmed.pop()
                        ) or None
                        if victim:
                            self.unsure.add(victim)
                    if victim:
                        response = http.delete(
                            self.server.url(f"/reservations/{victim}"), timeout=5
                        )
                        if response.status_code == 204:
                            with self.lock:
                                self.unsure.discard(victim)
                                self.cancelled.add(victim)
                                self.acks += 1
                        continue
                    response = http.post(
                        self.server.url("/reservations"),
                        json={"partnerId": f"w{index}", "seats": 1},
                        timeout=5,
                    )
                    if response.status_code == 201:
                        with self.lock:
                            self.confirmed.add(response.json()["reservationId"])
                            self.acks += 1
                except requests.RequestException:
                    pass  # the server is being killed; unanswered requests prove nothing


@pytest.mark.parametrize(
    "compacting",
    [
        pytest.param({"TICKETBOSS_BACKGROUND_COMPACT_FROM": "1000000"}, id="under-the-lock"),
        pytest.param({"TICKETBOSS_BACKGROUND_COMPACT_FROM": "0"}, id="in-the-background"),
    ],
)
def test_kill9_rounds_under_load_lose_no_acknowledged_write(server_factory, compacting) -> None:
    env = {"TICKETBOSS_COMPACT_MIN_RECORDS": "60", **compacting}
    server = server_factory(workers=2, env=env)
    # room for every round: make the default event big
    seed = server.manage("seed_event", DEFAULT, "--name", "Node.js Meet-up", "--seats", "100000")
    assert seed.returncode == 0, seed.stderr
    all_confirmed: set[str] = set()
    all_cancelled: set[str] = set()
    for round_number in range(ROUNDS):
        with Load(server) as load:
            target = load.acks + 150
            wait_until(
                lambda load=load, target=target: load.acks >= target,
                timeout=60,
                message=f"150 acknowledged writes in round {round_number}",
            )
            server.kill9()
        all_confirmed |= load.confirmed
        all_cancelled |= load.cancelled
        all_confirmed -= all_cancelled
        server.start()
        for rid in load.unsure:  # a cancel whose answer was lost may have happened
            status = requests.get(server.url(f"/reservations/{rid}"), timeout=10).json()["status"]
            (all_cancelled if status == "cancelled" else all_confirmed).add(rid)
        all_confirmed -= all_cancelled

        check = _check_store(server)
        assert check.returncode == 0, check.stderr
        with requests.Session() as http:
            for rid in all_confirmed:
                assert http.get(server.url(f"/reservations/{rid}")).json()["status"] == "confirmed"
            for rid in all_cancelled:
                assert http.get(server.url(f"/reservations/{rid}")).json()["status"] == "cancelled"
        summary = requests.get(server.url("/reservations"), timeout=10).json()
        assert summary["reservationCount"] >= len(all_confirmed)
        assert summary["reservedSeats"] == summary["reservationCount"]  # 1 seat each
    assert len(all_cancelled) > 0 and len(all_confirmed) > ROUNDS * 50


@pytest.mark.parametrize(
    "tail",
    [b'{"seq":99,"op":"reserve","reserv', b'{"seq":4,"op":"cancel","reservationId":"x","crc":1}\n'],
    ids=["unterminated", "bad-crc-last-line"],
)
def test_torn_last_line_is_dropped_on_start(server_factory, tail) -> None:
    server = server_factory(workers=1)
    made = requests.post(server.url("/reservations"), json={"partnerId": "p", "seats": 2}).json()
    before = requests.get(server.url("/reservations")).json()
    server.kill9()
    journal = _journal(server)
    good = journal.read_bytes()
    journal.write_bytes(good + tail)

    server.start()
    assert requests.get(server.url("/reservations")).json() == before
    detail = requests.get(server.url(f"/reservations/{made['reservationId']}")).json()
    assert detail["status"] == "confirmed"
    assert journal.read_bytes() == good
    assert "torn last line" in server.log()
    again = requests.post(server.url("/reservations"), json={"partnerId": "p", "seats": 1})
    assert again.status_code == 201
    assert _check_store(server).returncode == 0


def test_corruption_mid_journal_refuses_to_start_and_touches_nothing(server_factory) -> None:
    server = server_factory(workers=2)
    for i in range(5):
        requests.post(server.url("/reservations"), json={"partnerId": f"p{i}", "seats": 1})
    server.stop()
    journal = _journal(server)
    lines = journal.read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b'"seats":1', b'"seats":9')
    journal.write_bytes(b"\n".join(lines))
    before = _folder_digest(server.data_dir)

    server.start(expect_ready=False)
    # README, "When the service refuses to start": exit code 4, said once per worker,
    # and no new workers started to refuse it again.
    assert server.wait_exit(timeout=60) == 4, server.log()
    assert f"{journal}:4" in server.log()
    assert 1 <= server.log().count("refuses to start") <= 2
    assert "Unexpected exit" not in server.log()
    assert _folder_digest(server.data_dir) == before

    check = _check_store(server)
    assert check.returncode != 0
    assert f"{journal}:4" in check.stderr
    assert _folder_digest(server.data_dir) == before
