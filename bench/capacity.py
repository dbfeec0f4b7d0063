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
    notify_per_s: float  # NOTIFY deliveries the primary sustains (a budget, see docs)
    max_connections: int


def bounds(i: Inputs, nodes: int, *, hot: bool) -> dict[str, float]:
    """reserve/s each resource allows with `nodes` app nodes."""
    writers = nodes * i.workers * i.threads  # most reservations in flight at once
    committers = nodes * i.workers  # one batch in flight each
    cycle_ms = i.rtt_ms + i.commit_ms  # one batch: one round trip, one flush
    # Near any limit every worker's writers queue, so a batch holds all of them.
    batch = i.threads
    found = {
        "app CPU": nodes * i.node_cores / (i.app_cpu_ms / 1000),
        # a writer waits for the batch in flight, then rides the next one
        "threads x latency": writers / ((i.service_ms + 2 * cycle_ms) / 1000),
        "primary CPU": i.db_cores / ((i.db_commit_cpu_ms / batch + i.db_row_cpu_ms) / 1000),
        "WAL disk": i.wal_mb_s * 1e6 / i.wal_bytes,
    }
    if hot:
        # batches of one event take its row lock one after the other
        found["event row lock"] = batch / (i.commit_ms / 1000)
        # each batch notifies every listening worker once
        found["NOTIFY fan-out"] = i.notify_per_s * batch / committers
    else:  # a batch is one delivery per listener, however many events it changed
        found["NOTIFY fan-out"] = i.notify_per_s * batch / committers
    return found


def connections_needed(i: Inputs, nodes: int) -> int:
    """Per worker: its committer, its listener, and its pool for reads and cancels
    (TICKETBOSS_DB_POOL, 8 by default, the same as `threads` here)."""
    return nodes * i.workers * (2 + i.threads)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity", description=__doc__)
    add = parser.add_argument
    add("--app-cpu-ms", type=float, default=2.0)
    add("--node-cores", type=int, default=2)
    add("--workers", type=int, default=2)
    add("--threads", type=int, default=8)
    add("--rtt-ms", type=float, default=0.5)
    add("--service-ms", type=float, default=3.0)
    add("--commit-ms", type=float, default=0.8)
    add("--db-commit-cpu-ms", type=float, default=0.72)
    add("--db-row-cpu-ms", type=float, default=0.05)
    add("--db-cores", type=int, default=8)
    add("--wal-bytes", type=int, default=630)
    add("--wal-mb-s", type=float, default=200)
    add("--notify-per-s", type=float, default=40_000)
    add("--max-connections", type=int, default=500)
    add("--nodes", default="1,2,4,8,16,32,64")
    args = vars(parser.parse_args())
    node_counts = [int(item) for item in args.pop("nodes").split(",")]
    inputs = Inputs(**args)
    print(
        "| app nodes | one hot event, reserve/s | bound by | many events, reserve/s | bound by "
        "| connections at peak |"
    )
    print("|---:|---:|---|---:|---|---:|")
    for nodes in node_counts:
        cells = []
        for hot in (True, False):
            found = bounds(inputs, nodes, hot=hot)
            limit = min(found, key=found.__getitem__)
            cells.append(f"{found[limit]:,.0f} | {limit}")
        needed = connections_needed(inputs, nodes)
        over = " (over max_connections)" if needed > inputs.max_connections else ""
        print(f"| {nodes} | " + " | ".join(cells) + f" | {needed}{over} |")


if __name__ == "__main__":
    main()
