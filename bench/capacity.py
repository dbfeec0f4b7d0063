"""`python -m bench.capacity`: the capacity model of docs/scaling.md, as a table.

Predicted reserve/s of the `db` store for N app nodes on their own machines and
one PostgreSQL primary, for one hot event and for many events, from the inputs
that bench.nodes, bench.hot_row and bench.nodes_netns measure. Each bound is one
resource; the prediction is the smallest, and the table names it.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Inputs:
    app_cpu_ms: float  # app CPU per reservation, HTTP included (bench.nodes)
    node_cores: int
    workers: int  # per node
    threads: int  # writers in flight per worker, which its committer batches (clients add more)
    rtt_ms: float  # app node to primary
    service_ms: float  # a request's own time besides waiting for its batch
    commit_ms: float  # one batch transaction on the primary, lock to flush (bench.hot_row)
    db_commit_cpu_ms: float  # primary CPU per batch
    db_row_cpu_ms: float  # primary CPU per reservation in a batch
    db_cores: int
    wal_bytes: int  # per reservation (bench.nodes)
    wal_mb_s: float  # what the primary's WAL disk sustains
    notify_per_s: float  # NOTIFY deliveries one primary core sustains (bench.notify_fanout)
    notify_interval_s: float  # a worker announces its batches at most once per this
    max_connections: int


def announcements(i: Inputs, nodes: int) -> tuple[float, float]:
    """(NOTIFYs/s, deliveries/s) at full load: every worker announces its batches at most
    once per interval, to every listening worker, whatever the write rate."""
    committers = nodes * i.workers
    notifies = committers / i.notify_interval_s
    return notifies, notifies * committers


def notify_lock_share(i: Inputs, nodes: int) -> float:
    """Share of the time the cluster-wide NOTIFY lock is held: a notifying commit holds it
    until its flush is done, so notifying commits go one at a time."""
    notifies, _deliveries = announcements(i, nodes)
    return notifies * i.commit_ms / 1000


def bounds(i: Inputs, nodes: int, *, hot: bool) -> dict[str, float]:
    """reserve/s each resource allows with `nodes` app nodes."""
    writers = nodes * i.workers * i.threads  # most reservations in flight at once
    cycle_ms = i.rtt_ms + i.commit_ms  # one batch: one round trip, one flush
    # Near any limit every worker's writers queue, so a batch holds all of them.
    batch = i.threads
    _notifies, deliveries = announcements(i, nodes)
    notify_cores = deliveries / i.notify_per_s  # taken off the primary, whatever it writes
    found = {
        "app CPU": nodes * i.node_cores / (i.app_cpu_ms / 1000),
        # a writer waits for the batch in flight, then rides the next one
        "threads x latency": writers / ((i.service_ms + 2 * cycle_ms) / 1000),
        "primary CPU": max(i.db_cores - notify_cores, 0)
        / ((i.db_commit_cpu_ms / batch + i.db_row_cpu_ms) / 1000),
        "WAL disk": i.wal_mb_s * 1e6 / i.wal_bytes,
    }
    if hot:  # batches of one event take its row lock one after the other
        found["event row lock"] = batch / (i.commit_ms / 1000)
    return found


def connections_needed(i: Inputs, nodes: int) -> int:
    """Per worker: its committer, its listener, and its pool for reads and cancels
    (TICKETBOSS_DB_POOL, 8 by default, the same as `threads` here)."""
    return nodes * i.workers * (2 + i.threads)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity", description=__doc__)
    add = parser.add_argument
    add("--app-cpu-ms", type=float, default=0.86)
    add("--node-cores", type=int, default=2)
    add("--workers", type=int, default=2)
    add("--threads", type=int, default=8)
    add("--rtt-ms", type=float, default=0.5)
    add("--service-ms", type=float, default=3.0)
    add("--commit-ms", type=float, default=0.5)
    add("--db-commit-cpu-ms", type=float, default=0.36)
    add("--db-row-cpu-ms", type=float, default=0.026)
    add("--db-cores", type=int, default=8)
    add("--wal-bytes", type=int, default=640)
    add("--wal-mb-s", type=float, default=200)
    add("--notify-per-s", type=float, default=40_000)
    add("--notify-interval-s", type=float, default=0.1)
    add("--max-connections", type=int, default=500)
    add("--nodes", default="1,2,4,8,16,32,64")
    args = vars(parser.parse_args())
    node_counts = [int(item) for item in args.pop("nodes").split(",")]
    inputs = Inputs(**args)
    print(
        "| app nodes | one hot event, reserve/s | bound by | many events, reserve/s | bound by "
        "| connections at peak | NOTIFY deliveries/s | NOTIFY lock held |"
    )
    print("|---:|---:|---|---:|---|---:|---:|---:|")
    for nodes in node_counts:
        cells = []
        for hot in (True, False):
            found = bounds(inputs, nodes, hot=hot)
            limit = min(found, key=found.__getitem__)
            cells.append(f"{found[limit]:,.0f} | {limit}")
        needed = connections_needed(inputs, nodes)
        over = " (over max_connections)" if needed > inputs.max_connections else ""
        _notifies, deliveries = announcements(inputs, nodes)
        share = notify_lock_share(inputs, nodes)
        print(
            f"| {nodes} | " + " | ".join(cells) + f" | {needed}{over} | {deliveries:,.0f} "
            f"| {share:.0%} |"
        )


if __name__ == "__main__":
    main()
