"""`python -m bench.notify_fanout`: what PostgreSQL spends delivering one NOTIFY to L listeners.

Every committed batch of the `db` store sends one NOTIFY per event it changed, and
PostgreSQL delivers it to every listening worker (reservations.store.notify). This
sends notifications as fast as one session can commit them while L listener
sessions (threads of this process, as the workers' listeners) count what they
receive, and reports deliveries per second and primary CPU per delivery: the
NOTIFY budget of the capacity model (bench.capacity, docs/scaling.md).
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import psycopg

from bench.pg_metrics import read_counters
from tests.support.postgres import PG_USER, PostgresCluster, running_cluster


def run(cluster: PostgresCluster, listeners: int, duration_s: float) -> tuple[float, float]:
    """(deliveries per second, primary CPU microseconds per delivery)."""
    stop = threading.Event()
    ready = threading.Barrier(listeners + 1)
    counts = [0] * listeners

    def listen(index: int) -> None:
        with psycopg.connect(
            host=str(cluster.socket_dir), port=cluster.port, user=PG_USER, autocommit=True
        ) as conn:
            conn.execute("LISTEN bench")
            ready.wait(timeout=30)
            while not stop.is_set():
                for _ in conn.notifies(timeout=0.2):
                    counts[index] += 1

    threads = [threading.Thread(target=listen, args=(i,)) for i in range(listeners)]
    for thread in threads:
        thread.start()
    ready.wait(timeout=30)
    with cluster.connect() as sender:
        before = read_counters(cluster)
        started = time.monotonic()
        while time.monotonic() - started < duration_s:
            sender.execute("SELECT pg_notify('bench', 'event')")
        elapsed = time.monotonic() - started
        cpu = read_counters(cluster).cpu_s - before.cpu_s
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    delivered = sum(counts)
    return delivered / elapsed, 1e6 * cpu / max(delivered, 1)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.notify_fanout", description=__doc__)
    parser.add_argument("--duration", type=float, default=4)
    args = parser.parse_args()
    print(f"\nload average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores shared\n")
    print("| listeners | deliveries/s | primary CPU µs / delivery |")
    print("|---:|---:|---:|")
    with running_cluster(durable=True) as cluster:
        for listeners in (1, 4, 16, 64):
            rate, cpu_us = run(cluster, listeners, args.duration)
            print(f"| {listeners} | {rate:,.0f} | {cpu_us:.1f} |", flush=True)


if __name__ == "__main__":
    main()
