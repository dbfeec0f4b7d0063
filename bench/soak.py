"""`python -m bench.soak --minutes 10`: steady mixed load, then memory and invariants.

Starts the real service (the README's server: granian, 2 WSGI workers, JSON-file store in a temp
folder, throttling off, compaction every few thousand records so it happens
during the run), then for the whole duration drives it at a fixed request rate:
reservations, cancels of earlier reservations, summary reads, and live-stream
clients that connect, read a few messages and reconnect. It prints the workers'
resident memory at the start (after a warm-up) and at the end, the error count,
and checks at the end that the summary equals the sum of the confirmed
reservations the clients were told about and that `manage.py check_store`
finds the store sound. Exit status 0 only when all of that holds.

Memory: every reservation stays in each worker's memory (ids are never reused),
packed to about 170 bytes (reservations/reservation_table.py), so RSS grows a
little with the data by design. Two gates: the workers' RSS at the end is less
than 10% above the start, and less than 10% above fresh workers that load the
same data and take the same warm-up load (what the soaked workers hold beyond
their data would be a leak). The cost per stored reservation is printed too.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.servers import ROOT, WORKERS, Server

EVENT = "soak-event"
SEATS = 10_000_000
MAX_GROWTH = 0.10


@dataclass
class Ledger:
    """What the clients were told: every acknowledged, still-confirmed reservation."""

    confirmed: dict[str, int] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors[what] += 1


def client(base: str, rate: float, stop: threading.Event, ledger: Ledger, seed: int) -> None:
    """One keep-alive connection issuing requests on a fixed schedule (no bursts)."""
    rng = random.Random(seed)
    mine: list[str] = []
    interval = 1.0 / rate
    next_at = time.monotonic() + rng.random() * interval
    with requests.Session() as http:
        while not stop.is_set():
            delay = next_at - time.monotonic()
            if delay > 0:
                stop.wait(delay)
            next_at += interval
            roll = rng.random()
            try:
                if roll < 0.4 or (roll < 0.6 and not mine):
                    seats = rng.randint(1, 10)
                    body = {"partnerId": f"soak-{seed}", "seats": seats}
                    answer = http.post(f"{base}/events/{EVENT}/reservations", json=body, timeout=30)
                    if answer.status_code != 201:
                        ledger.error(f"reserve {answer.status_code}")
                        continue
                    reservation_id = answer.json()["reservationId"]
                    mine.append(reservation_id)
                    with ledger.lock:
                        ledger.confirmed[reservation_id] = seats
                        ledger.counts["reserve"] += 1
                elif roll < 0.6:
                    reservation_id = mine.pop(rng.randrange(len(mine)))
                    answer = http.delete(f"{base}/reservations/{reservation_id}", timeout=30)
                    if answer.status_code != 204:
                        ledger.error(f"cancel {answer.status_code}")
                        continue
                    with ledger.lock:
                        del ledger.confirmed[reservation_id]
                        ledger.counts["cancel"] += 1
                else:
                    answer = http.get(f"{base}/events/{EVENT}", timeout=30)
                    if answer.status_code != 200:
                        ledger.error(f"summary {answer.status_code}")
                        continue
                    with ledger.lock:
                        ledger.counts["summary"] += 1
            except requests.RequestException as exc:
                ledger.error(type(exc).__name__)


def stream_reader(base: str, stop: threading.Event, ledger: Ledger, messages: int) -> None:
    """Connects, reads `messages` summaries, disconnects, again: connection churn."""
    while not stop.is_set():
        try:
            with requests.get(f"{base}/events/{EVENT}/stream", stream=True, timeout=30) as answer:
                if answer.status_code != 200:
                    ledger.error(f"stream {answer.status_code}")
                    stop.wait(1)
                    continue
                seen = 0
                for line in answer.iter_lines():
                    if line.startswith(b"event: summary"):
                        seen += 1
                    if seen >= messages or stop.is_set():
                        break
            with ledger.lock:
                ledger.counts["stream"] += 1
        except requests.RequestException as exc:
            ledger.error(f"stream {type(exc).__name__}")


def rss(server: Server) -> float:
    return sum(server.worker_rss_mib())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="duration of the load")
    parser.add_argument("--rate", type=float, default=60.0, help="requests per second, total")
    parser.add_argument("--clients", type=int, default=6, help="request connections")
    parser.add_argument("--streams", type=int, default=4, help="live-stream readers")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds before the 1st RSS")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ticketboss-soak-"))
    try:
        ok = run(root, args)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    sys.exit(0 if ok else 1)


def run(root: Path, args: argparse.Namespace) -> bool:
    data_dir = root / "data"
    env = {**os.environ, "TICKETBOSS_DATA_DIR": str(data_dir)}
    manage = [sys.executable, "manage.py"]
    seed = ["seed_event", EVENT, "--name", "Soak", "--seats", str(SEATS)]
    subprocess.run([*manage, *seed], cwd=ROOT, env=env, check=True, capture_output=True)
    os.environ["TICKETBOSS_COMPACT_MIN_RECORDS"] = "2000"  # several compactions per run
    ledger = Ledger()
    duration = args.minutes * 60
    warmup = min(args.warmup, duration / 4)
    print(f"soak: {args.minutes:g} min at {args.rate:g} req/s, {args.streams} stream readers")
    print(f"{'t (s)':>7} {'RSS MiB':>8} {'reserve':>8} {'cancel':>7} {'summary':>8} "
          f"{'streams':>8} {'errors':>7}")  # fmt: skip
    memory = Memory()
    with serving(root, data_dir, "soak") as server, driving(server, ledger, args):
        started = time.monotonic()
        time.sleep(warmup)
        memory.start, memory.stored_start = rss(server), ledger.counts["reserve"]
        while (left := started + duration - time.monotonic()) > 0:
            time.sleep(min(60.0, left))
            with ledger.lock:
                c, e = dict(ledger.counts), sum(ledger.errors.values())
            print(f"{time.monotonic() - started:7.0f} {rss(server):8.1f} {c.get('reserve', 0):8} "
                  f"{c.get('cancel', 0):7} {c.get('summary', 0):8} {c.get('stream', 0):8} {e:7}",
                  flush=True)  # fmt: skip
        memory.end, memory.stored_end = rss(server), ledger.counts["reserve"]
    # The store keeps every reservation in memory (ids are never reused), so RSS grows
    # with the data. Fresh workers loading the same data, warmed up by the same load,
    # show what that data costs; what the soaked workers hold beyond it is the leak.
    with serving(root, data_dir, "fresh") as server:
        with driving(server, ledger, args):
            time.sleep(warmup)
        memory.fresh = rss(server)
        summary = requests.get(f"{server.base_url}/events/{EVENT}", timeout=30).json()
    check = subprocess.run([*manage, "check_store"], cwd=ROOT, env=env, capture_output=True,
                           text=True)  # fmt: skip
    return report(ledger, summary, check, memory)


@dataclass
class Memory:
    start: float = 0.0
    end: float = 0.0
    fresh: float = 0.0
    stored_start: int = 0
    stored_end: int = 0


@contextlib.contextmanager
def serving(root: Path, data_dir: Path, label: str) -> Iterator[Server]:
    server = Server("ticketboss_site.wsgi:application", "ticketboss_site.settings",
                    root / f"server-{label}.log", data_dir=data_dir)  # fmt: skip
    try:
        server.start()
        server.wait_all_workers_ready()
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def driving(server: Server, ledger: Ledger, args: argparse.Namespace) -> Iterator[None]:
    """Request clients and stream readers run while the block runs."""
    stop = threading.Event()
    per_client = args.rate / args.clients
    threads = [
        threading.Thread(target=client, args=(server.base_url, per_client, stop, ledger, i))
        for i in range(args.clients)
    ] + [
        threading.Thread(target=stream_reader, args=(server.base_url, stop, ledger, 50))
        for _ in range(args.streams)
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)


def report(
    ledger: Ledger,
    summary: dict,
    check: subprocess.CompletedProcess[str],
    memory: Memory,
) -> bool:
    confirmed_seats = sum(ledger.confirmed.values())
    growth = (memory.end - memory.start) / memory.start
    beyond_data = (memory.end - memory.fresh) / memory.fresh
    errors = sum(ledger.errors.values())
    checks = {
        "summary reservedSeats == sum of confirmed seats": summary["reservedSeats"]
        == confirmed_seats,
        "summary reservationCount == confirmed reservations": summary["reservationCount"]
        == len(ledger.confirmed),
        "availableSeats == totalSeats - reservedSeats": summary["availableSeats"]
        == summary["totalSeats"] - summary["reservedSeats"],
        "check_store: store is sound": check.returncode == 0,
        f"worker memory growth over the run < {MAX_GROWTH:.0%}": growth < MAX_GROWTH,
        f"worker memory beyond fresh workers with the same data < {MAX_GROWTH:.0%}": beyond_data
        < MAX_GROWTH,
        "no errors": errors == 0,
    }
    print()
    print(f"requests: {dict(ledger.counts)}")
    print(f"errors: {errors} {dict(ledger.errors) if errors else ''}")
    print(f"worker RSS (sum of {WORKERS}): start {memory.start:.1f} MiB, end {memory.end:.1f} MiB "
          f"({growth:+.1%}) while stored reservations went {memory.stored_start} -> "
          f"{memory.stored_end}")  # fmt: skip
    added = max(memory.stored_end - memory.stored_start, 1)
    per_reservation = (memory.end - memory.start) * 2**20 / added / WORKERS
    print(f"that is {per_reservation:.0f} bytes per worker per stored reservation")
    print(f"fresh workers on the same data, after the same warm-up: {memory.fresh:.1f} MiB; "
          f"soaked workers hold {beyond_data:+.1%} more")  # fmt: skip
    print(f"summary: {summary}")
    print(f"ledger: {len(ledger.confirmed)} confirmed reservations, {confirmed_seats} seats")
    print(f"check_store: {check.stdout.strip() if check.returncode == 0 else check.stderr}")
    for name, held in checks.items():
        print(f"  [{'ok' if held else 'FAIL'}] {name}")
    return all(checks.values())


if __name__ == "__main__":
    main()
