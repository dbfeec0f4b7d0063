"""`python -m bench.nodes`: reserve/s of the JSON-file store vs PostgreSQL with 1 and 2 nodes.

Every row is the same load: two wrk processes at once, 16 connections each,
POST /events/bench/reservations (1 seat, event of 10 million seats so nothing
is refused). A node is gunicorn with 2 uvicorn workers, opening a database
connection per request (the default) or keeping a pool (TICKETBOSS_DB_POOL);
with 2 nodes each wrk drives its own node, as a load balancer would spread them. PostgreSQL 15 runs
in a temp folder with fsync on (both stores make every 201 durable). All of it
shares this machine's cores, so the table shows what the database costs and
whether a second node helps here, not what two machines would do.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.load import CONNECTIONS, LoadResult, ensure_wrk, run_wrk
from bench.servers import ROOT, WORKERS, Server
from tests.support.postgres import missing_requirement, running_cluster

EVENT = "bench"
BODY = '{"partnerId": "bench-partner", "seats": 1}'
WARMUP_S = 2
LOAD_GENERATORS = 2
POOL_SIZE = 8  # TICKETBOSS_DB_POOL: connections kept per worker process


@contextlib.contextmanager
def store_env(env: dict[str, str]) -> Iterator[None]:
    """bench.servers.Server passes this process's environment on: set the store there."""
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def seed(env: dict[str, str]) -> None:
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "seed_event",
            EVENT,
            "--name",
            "Bench",
            "--seats",
            "10000000",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )


def measure(root: Path, label: str, env: dict[str, str], nodes: int, duration_s: int) -> LoadResult:
    seed(env)
    servers = [
        Server(
            "ticketboss_site.asgi:application",
            "ticketboss_site.settings",
            root / f"{label.replace(' ', '-')}-{index}.log",
            data_dir=root / f"data-{label.replace(' ', '-')}",
        )
        for index in range(nodes)
    ]
    try:
        with store_env(env):
            for server in servers:
                server.start()
                server.wait_all_workers_ready()
        urls = [
            servers[index % nodes].base_url + f"/events/{EVENT}/reservations"
            for index in range(LOAD_GENERATORS)
        ]
        drive(urls, WARMUP_S)
        return drive(urls, duration_s)
    finally:
        for server in servers:
            server.stop()


def drive(urls: list[str], duration_s: int) -> LoadResult:
    """Run one wrk per url at once; add up their requests, keep the worst latencies."""
    with ThreadPoolExecutor(len(urls)) as pool:
        results = list(
            pool.map(
                lambda url: run_wrk(url, method="POST", body=BODY, duration_s=duration_s), urls
            )
        )
    return LoadResult(
        requests_per_s=sum(item.requests_per_s for item in results),
        p50_ms=max(item.p50_ms for item in results),
        p99_ms=max(item.p99_ms for item in results),
        errors=sum(item.errors for item in results),
        non2xx=sum(item.non2xx for item in results),
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.nodes", description=__doc__)
    parser.add_argument("--duration", type=int, default=10, help="seconds per row")
    args = parser.parse_args()
    ensure_wrk()
    reason = missing_requirement()
    if reason:
        raise SystemExit(f"cannot start PostgreSQL: {reason}")
    root = Path(tempfile.mkdtemp(prefix="ticketboss-bench-nodes-"))
    rows: list[tuple[str, LoadResult]] = []
    try:
        json_env = {"TICKETBOSS_STORE": "json", "TICKETBOSS_DATA_DIR": str(root / "data-json")}
        rows.append(("JSON files, 1 node", measure(root, "json", json_env, 1, args.duration)))
        with running_cluster(durable=True) as cluster:
            for pool in (0, POOL_SIZE):
                for nodes in (1, 2):
                    env = {
                        "TICKETBOSS_STORE": "db",
                        "DATABASE_URL": cluster.url(cluster.new_database()),
                        "TICKETBOSS_DB_POOL": str(pool),
                    }
                    label = f"PostgreSQL, {nodes} node{'s' * (nodes > 1)}"
                    label += f", pool of {pool}" if pool else ", connection per request"
                    tag = f"pg{nodes}-pool{pool}"
                    rows.append((label, measure(root, tag, env, nodes, args.duration)))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(
        f"\nPOST reserve, {LOAD_GENERATORS} wrk x {CONNECTIONS} connections, "
        f"{args.duration}s per row, {WORKERS} workers per node, {os.cpu_count()} cores shared\n"
    )
    print("| store, nodes | reserve/s | p50 ms | p99 ms | non-2xx / errors |")
    print("|---|---:|---:|---:|---:|")
    for label, result in rows:
        print(
            f"| {label} | {result.requests_per_s:,.0f} | {result.p50_ms:.1f} | "
            f"{result.p99_ms:.1f} | {result.non2xx} / {result.errors} |"
        )


if __name__ == "__main__":
    main()
