"""`python -m bench.hot_row`: how many batches per second one event's row takes, and K rows.

The `db` store's fast path sends a batch as one message (INSERT the batch's
reservations; UPDATE the event's counters; commit), so the event's row lock is
held from that UPDATE until the commit is flushed. This measures that limit with
PostgreSQL alone (pgbench, no app in the way), on the real tables, fsync and
synchronous_commit on: batch transactions per second and latency with every
client on one event row, and with the seats split over K counter rows (each batch
picks one at random), to see whether splitting an event's availability pays.

The last rows add a NOTIFY to every batch, as the store did before 2026-11-27: a
notifying commit holds one lock for the whole cluster until its flush is done
(PostgreSQL's async.c), so those batches commit one at a time whatever rows they
touch. The store now notifies at most once per TICKETBOSS_STREAM_MIN_INTERVAL per
process, so its batches are the rows without.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
from pathlib import Path

from tests.support.postgres import PG_BIN, PG_USER, PostgresCluster, running_cluster

# One batch, sent as one message (`\\;` joins the statements), as orm_batch's fast path.
_SCRIPT = """\\set k random(1, {rows})
INSERT INTO ticketboss_reservation (reservation_id, event_id, partner_id, seats, status, \
created_at, created_by) SELECT gen_random_uuid(), 'hot-' || :k, 'bench', 1, 'confirmed', now(), \
'open' FROM generate_series(1, {batch}) \\;
UPDATE ticketboss_event SET available_seats = available_seats - {batch}, \
reservation_count = reservation_count + {batch}, version = version + {batch} \
WHERE event_id = 'hot-' || :k RETURNING available_seats{notify}
"""
NOTIFY = ", pg_notify('bench', event_id)"


def run_pgbench(
    cluster: PostgresCluster,
    dbname: str,
    *,
    rows: int,
    batch: int,
    clients: int,
    duration_s: int,
    notify: bool = False,
) -> tuple[float, float]:
    """(transactions/s, mean latency ms) of the batch script."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(_SCRIPT.format(rows=rows, batch=batch, notify=NOTIFY if notify else ""))
    os.chmod(script.name, 0o644)
    try:
        completed = subprocess.run(
            [
                *("runuser", "-u", PG_USER, "--", str(PG_BIN / "pgbench"), "-n", "-M", "simple"),
                *("-h", str(cluster.socket_dir), "-p", str(cluster.port)),
                *("-c", str(clients), "-j", str(min(clients, 2)), "-T", str(duration_s)),
                *("-f", script.name, dbname),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        Path(script.name).unlink()
    tps = float(re.search(r"tps = ([\d.]+)", completed.stdout).group(1))
    latency = float(re.search(r"latency average = ([\d.]+) ms", completed.stdout).group(1))
    return tps, latency


def seed_rows(cluster: PostgresCluster, dbname: str, rows: int) -> None:
    with cluster.connect(dbname) as conn:
        for index in range(1, rows + 1):
            conn.execute(
                "INSERT INTO ticketboss_event (event_id, name, total_seats, available_seats, "
                "reservation_count, version) VALUES (%s, 'hot', 1000000000, 1000000000, 0, 0)",
                [f"hot-{index}"],
            )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hot_row", description=__doc__)
    parser.add_argument("--duration", type=int, default=5, help="seconds per row")
    parser.add_argument("--clients", type=int, default=8, help="batches in flight at once")
    args = parser.parse_args()
    print(
        f"\npgbench, {args.clients} clients, {args.duration}s per row, fsync on, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}\n"
    )
    print(
        "| counter rows K | batch size | clients | NOTIFY per batch | batches/s | reserves/s "
        "| latency ms |"
    )
    print("|---:|---:|---:|---|---:|---:|---:|")
    shapes = [
        (rows, batch, clients, False)
        for batch in (1, 8)
        for clients in (1, args.clients)
        for rows in ((1, 2, 4, 8) if clients > 1 else (1,))
    ]
    shapes += [(rows, 8, args.clients, True) for rows in (1, 8)]
    with running_cluster(durable=True) as cluster:
        dbname = cluster.new_database()
        seed_rows(cluster, dbname, 8)
        for rows, batch, clients, notify in shapes:
            tps, latency = run_pgbench(
                cluster,
                dbname,
                rows=rows,
                batch=batch,
                clients=clients,
                duration_s=args.duration,
                notify=notify,
            )
            print(
                f"| {rows} | {batch} | {clients} | {'yes' if notify else 'no'} | {tps:,.0f} "
                f"| {tps * batch:,.0f} | {latency:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
