"""`python -m bench.nodes_netns`: app nodes a network hop from PostgreSQL, against the model.

Each node (bench.servers.Server, 2 workers) runs in its own network namespace
(bench.netns) with its own wrk, and reaches PostgreSQL through a link whose every
byte is delayed (bench.delay_relay; this kernel has no netem). One hot event, 2
wrk x 16 connections in all, as bench.nodes. For each one-way delay it measures the
round trip a query sees from inside a namespace, then throughput, latency and
reservations per commit, and prints them next to the capacity model's prediction
(docs/scaling.md): each writer waits for the batch in flight and then rides the
next, so the response time grows by two round trips, and C clients make C /
response time requests per second, never more than with no delay.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

from bench.load import CONNECTIONS, LoadResult
from bench.netns import NodeNet, node_namespaces
from bench.nodes import APP, HOT_EVENT, LOAD_GENERATORS, drive_all, environment, seed_events
from bench.pg_metrics import read_counters
from bench.servers import ROOT, WORKERS, Server
from tests.support.postgres import PG_USER, PostgresCluster, missing_requirement, running_cluster

RELAY_PORT = 6543
RELAY = [sys.executable, "-m", "bench.delay_relay"]
CLIENTS = LOAD_GENERATORS * CONNECTIONS
WARMUP_S = 2


@contextlib.contextmanager
def relays(cluster: PostgresCluster, nets: list[NodeNet], delay_ms: float) -> Iterator[None]:
    """One delaying relay per node link, host side."""
    socket_path = str(cluster.socket_dir / f".s.PGSQL.{cluster.port}")
    started = []
    try:
        for net in nets:
            process = subprocess.Popen(
                [*RELAY, net.host_address, str(RELAY_PORT), socket_path, str(delay_ms)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            started.append(process)
            assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        yield
    finally:
        for process in started:
            process.terminate()
            process.wait(timeout=10)


def round_trip_ms(net: NodeNet, dbname: str) -> float:
    """Median time of `SELECT 1` from inside the node's namespace, through its link."""

    def probe() -> float:
        with psycopg.connect(
            host=net.host_address, port=RELAY_PORT, user=PG_USER, dbname=dbname
        ) as conn:
            times = []
            for _ in range(20):
                started = time.perf_counter()
                conn.execute("SELECT 1").fetchone()
                times.append(time.perf_counter() - started)
        return 1000 * statistics.median(times)

    return net.executor.submit(probe).result()


def measure(
    root: Path, cluster: PostgresCluster, nets: list[NodeNet], duration_s: int
) -> dict[str, float]:
    dbname = cluster.new_database()
    env = {"TICKETBOSS_STORE": "db", "DATABASE_URL": cluster.url(dbname)}
    seed_events(env)
    servers: list[Server] = []
    try:
        for net in nets:
            url = f"postgres://{PG_USER}@{net.host_address}:{RELAY_PORT}/{dbname}"
            server = Server(APP, "ticketboss_site.settings", root / f"ns-{net.name}.log")
            servers.append(server)
            with environment({**env, "DATABASE_URL": url, "TICKETBOSS_DATA_DIR": str(root)}):
                net.executor.submit(server.start).result()
            net.executor.submit(server.wait_all_workers_ready).result()
        rtt = statistics.median(round_trip_ms(net, dbname) for net in nets)
        per_node = LOAD_GENERATORS // len(nets)

        def drive(seconds: int) -> list[LoadResult]:
            """Each node's wrk run from its namespace's thread (wrk inherits the namespace)."""
            futures = [
                net.executor.submit(drive_all, [server.base_url] * per_node, [HOT_EVENT], seconds)
                for net, server in zip(nets, servers, strict=True)
            ]
            return [future.result() for future in futures]

        drive(WARMUP_S)
        before = read_counters(cluster)
        results = drive(duration_s)
        after = read_counters(cluster)
    finally:
        for net, server in zip(nets, servers, strict=False):
            net.executor.submit(server.stop).result()
        cluster.drop_database(dbname)
    done = sum(result.requests for result in results)
    return {
        "rtt_ms": rtt,
        "rate": sum(result.requests_per_s for result in results),
        "p50_ms": max(result.p50_ms for result in results),
        "p99_ms": max(result.p99_ms for result in results),
        "batch": done / max(after.commits - before.commits, 1),
        "failed": sum(result.non2xx + result.errors for result in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.nodes_netns", description=__doc__)
    parser.add_argument("--delays", default="0,1,5", help="one-way delays to try, ms")
    parser.add_argument("--duration", type=int, default=8, help="seconds per row")
    args = parser.parse_args()
    if os.geteuid() != 0 or missing_requirement():
        raise SystemExit(f"needs root and PostgreSQL: {missing_requirement() or 'not root'}")
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="tb-netns-") as folder,
        running_cluster(durable=True) as cluster,
        node_namespaces(2) as nets,
    ):
        for delay in (float(item) for item in args.delays.split(",")):
            with relays(cluster, nets, delay):
                for nodes in (1, 2):
                    found = measure(Path(folder), cluster, nets[:nodes], args.duration)
                    rows.append((delay, nodes, found))
                    print(delay, nodes, found, flush=True)
    print_rows(rows, args.duration)


def print_rows(rows: list[tuple[float, int, dict[str, float]]], duration_s: int) -> None:
    print(
        f"\nOne hot event, {CLIENTS} clients in all, {WORKERS} workers per node, {duration_s}s "
        f"per row, load average {os.getloadavg()[0]:.1f}\n"
    )
    print(
        "| one-way delay ms | nodes | RTT ms | reserve/s | model | p50 ms | p99 ms "
        "| reserves/commit | failed |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for delay, nodes, found in rows:
        base = min((row for row in rows if row[1] == nodes), key=lambda row: row[0])[2]
        print(
            f"| {delay:g} | {nodes} | {found['rtt_ms']:.1f} | {found['rate']:,.0f} | "
            f"{predicted_rate(base, found['rtt_ms']):,.0f} | {found['p50_ms']:.1f} | "
            f"{found['p99_ms']:.1f} | {found['batch']:.1f} | {found['failed']:.0f} |"
        )


def predicted_rate(base: dict[str, float], rtt_ms: float) -> float:
    """The model for this closed loop: each writer waits for the batch in flight, then
    rides the next, so a longer round trip adds two of them to its response time;
    C clients then make C / response time requests per second (Little's law)."""
    response_ms = base["p50_ms"] + 2 * (rtt_ms - base["rtt_ms"])
    return min(base["rate"], CLIENTS / (response_ms / 1000))


if __name__ == "__main__":
    main()
