"""`python -m bench.nodes`: reserve/s of the JSON-file store vs PostgreSQL, 1 and 2 nodes.

Every row is the same load: two wrk processes at once, 16 connections each (`--connections`), POST
reserve (1 seat; events of 10 million seats, so nothing is refused), either all
on one hot event or spread at random over 10 events. A node is the README's
server (`python -m ticketboss_site.serve`: granian, 2 workers; bench.servers.Server);
with 2 nodes each wrk drives its own node, as a load balancer would spread them.
Clients keep their connections alive, as HTTP client pools and a load balancer's
upstream keep-alive do (bench.load does the same); each row prints the least busy
worker's share of its node's CPU, so a node that left a worker idle shows.
PostgreSQL 15 runs in a temp folder with fsync and synchronous_commit on (both
stores make every 201 durable).

The rows run in rounds, the hot-event rows first, then the 10-event rows, each group
forwards in even rounds and backwards in odd ones: the rows a target compares run next to
each other (seconds apart), each first in every other round, so a noisy neighbour on this
shared machine or a drift during the run hits both alike: compare rows within one run.
Rounds are short and many (12 of 2 s): a round's ratio swings as much at 1 s as at 6 s,
and the median firms up with their number.

Every round starts every server afresh (in the round's order) and stops it after: two
deployments of the same code, each started once, kept a speed of their own for their
whole life (in four runs, medians of 1.01 to 1.07 of each other over 12 to 16 rounds,
app CPU per reservation 4 to 10% apart), which more rounds cannot average out; new
processes every round turn that into round-to-round noise, which the median and its
interval take in. One PostgreSQL node is deployed twice, on two databases, and measured
as two rows of each kind, so both have the same history: their ratio (A/A: the same
thing measured twice) shows this run's own noise. Each ratio's median comes with its
confidence interval (bench.median_interval: no assumption about the spread, narrower
with more `--rounds`); a target whose interval holds 1 differs by less than this run
can see, and the interval's low end is the largest loss the run leaves possible.

Besides throughput, each row records what the capacity model in docs/scaling.md is
built from: app CPU per reservation, PostgreSQL CPU per reservation, reservations per
commit (the group-commit batch) and WAL bytes per reservation. Their sum, the CPU a
reservation costs, is compared round by round too, with its interval: where throughput
alone leaves a difference to guesswork, it shows whether a deployment does more work
per reservation (more processes on the same cores, smaller group-commit batches). It
swings about as much as throughput here: a busy neighbour slows the shared cores, so
the same work takes more CPU time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench.load import CONNECTIONS, REPORT_LUA, LoadResult, ensure_wrk, run_wrk_script
from bench.median_interval import Interval, median_interval
from bench.pg_metrics import PgCounters, read_counters
from bench.servers import ROOT, WORKERS, Server, bare_server
from tests.support.postgres import PostgresCluster, missing_requirement, running_cluster

HOT_EVENT = "bench"
SPREAD_EVENTS = [f"bench-{index}" for index in range(10)]
SEATS = 10_000_000
BODY = '{"partnerId": "bench-partner", "seats": 1}'
WARMUP_S = 1
LOAD_GENERATORS = 2
APP = "ticketboss_site.wsgi:application"  # the production server's app (scripts/run)
BARE_LABEL = "bare DRF no-op, granian"
# The same view on twice the worker processes: what 4 processes on this machine's cores cost
# any server, beside what the second 2-worker node costs TicketBoss.
BARE_4_LABEL = "bare DRF no-op, granian, 4 workers"
DB_1 = "PostgreSQL, 1 node"
DB_1_AGAIN = "PostgreSQL, 1 node, again (A/A)"
DB_2x1 = "PostgreSQL, 2 nodes x 1 worker"
# Below this (under 5 rounds) an interval is too likely to miss the median to judge by.
TRUSTED_COVERAGE = 0.9

# Each request picks one of `paths` at random, on a kept-alive connection.
_SCRIPT = """
local paths = %(paths)s
wrk.method = "POST"
wrk.body = %(body)s
wrk.headers["Content-Type"] = "application/json"
math.randomseed(os.time())
request = function()
  return wrk.format(nil, paths[math.random(#paths)])
end
%(report)s"""


@dataclass
class Deployment:
    """Some nodes on one store, started once for all rounds."""

    label: str
    env: dict[str, str]
    nodes: int
    workers: int = WORKERS  # per node
    bare: bool = False  # the bare DRF no-op (bench/bare_site) instead of TicketBoss
    servers: list[Server] = field(default_factory=list)

    @property
    def is_db(self) -> bool:
        return self.env.get("TICKETBOSS_STORE") == "db"


@dataclass
class Row:
    deployment: Deployment
    events: list[str]
    runs: list[LoadResult] = field(default_factory=list)
    app_cpu_s: list[float] = field(default_factory=list)  # masters and workers, per run
    min_share: list[float] = field(default_factory=list)  # least busy worker, per run
    pg: list[PgCounters] = field(default_factory=list)  # (before, after) per run, flattened

    @property
    def work_ms(self) -> list[float]:
        """Per run: CPU of the deployment's processes and of PostgreSQL per reservation,
        the work a reservation costs, whichever machines it runs on."""
        return [
            1000 * (app + after.cpu_s - before.cpu_s) / max(run.requests, 1)
            for app, before, after, run in zip(
                self.app_cpu_s, self.pg[::2], self.pg[1::2], self.runs, strict=True
            )
        ]

    @property
    def label(self) -> str:
        spread = "1 hot event" if len(self.events) == 1 else f"{len(self.events)} events"
        return f"{self.deployment.label}, {spread}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.nodes", description=__doc__)
    parser.add_argument("--duration", type=int, default=2, help="seconds per row and round")
    parser.add_argument("--rounds", type=int, default=12, help="every row runs once per round")
    parser.add_argument(
        "--pool",
        type=int,
        default=None,
        help="TICKETBOSS_DB_POOL of the db nodes (default: the server's own default)",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=CONNECTIONS,
        help=f"keep-alive connections per wrk (default {CONNECTIONS}); more clients let each "
        "process's group commit gather bigger batches",
    )
    args = parser.parse_args()
    ensure_wrk()
    reason = missing_requirement()
    if reason:
        raise SystemExit(f"cannot start PostgreSQL: {reason}")
    root = Path(tempfile.mkdtemp(prefix="ticketboss-bench-nodes-"))
    loads: list[float] = [os.getloadavg()[0]]
    try:
        with running_cluster(durable=True) as cluster:
            deployments = _deployments(root, cluster, pool=args.pool)
            hot = [Row(d, [HOT_EVENT]) for d in deployments]
            spread = [Row(d, SPREAD_EVENTS) for d in deployments if not d.bare]
            rows = hot + spread
            for deployment in deployments:
                if not deployment.bare:
                    seed_events(deployment.env)
            for round_index in range(args.rounds):
                forwards = round_index % 2 == 0
                # New processes every round, started in the round's order: see above.
                with _running(root, deployments if forwards else deployments[::-1]):
                    for group in (hot, spread):
                        for row in group if forwards else group[::-1]:
                            _measure(row, cluster, args.duration, args.connections)
                loads.append(os.getloadavg()[0])
    finally:
        shutil.rmtree(root, ignore_errors=True)
    _print_report(rows, args, loads)


def _deployments(root: Path, cluster: PostgresCluster, *, pool: int | None) -> list[Deployment]:
    """The baseline (on 2 and 4 workers), the JSON store, and PostgreSQL with 2 nodes of one
    worker each (the same 2 workers as 1 node: what the second node costs when it brings no
    cores, as here, where every node shares this machine's cores), 1 node (twice: the A/A
    control) and 2 nodes of 2 workers. Listed in the order the hot-event rows run: every
    row compared with 1 node runs at most two rows from it, the A/A row and 2 nodes of one
    worker right beside it."""
    json_env = {"TICKETBOSS_STORE": "json", "TICKETBOSS_DATA_DIR": str(root / "data-json")}
    found = [Deployment("JSON files, 1 node", json_env, 1)]
    for label, nodes, workers in (
        (DB_2x1, 2, 1),
        (DB_1, 1, WORKERS),
        (DB_1_AGAIN, 1, WORKERS),
        ("PostgreSQL, 2 nodes", 2, WORKERS),
    ):
        db_env = {
            "TICKETBOSS_STORE": "db",
            "DATABASE_URL": cluster.url(cluster.new_database()),
        }
        if pool is not None:
            db_env["TICKETBOSS_DB_POOL"] = str(pool)
        found.append(Deployment(label, db_env, nodes, workers=workers))
    return [
        Deployment(BARE_LABEL, {}, 1, bare=True),
        Deployment(BARE_4_LABEL, {}, 1, workers=2 * WORKERS, bare=True),
        *found,
    ]


@contextlib.contextmanager
def _running(root: Path, deployments: list[Deployment]) -> Iterator[None]:
    """Every deployment's servers, started now and stopped after."""
    try:
        for deployment in deployments:
            deployment.servers = []
            slug = re.sub(r"[^A-Za-z0-9]+", "-", deployment.label).strip("-")
            for index in range(deployment.nodes):
                server = (
                    bare_server(root / f"{slug}.log", workers=deployment.workers)
                    if deployment.bare
                    else Server(
                        APP,
                        "ticketboss_site.settings",
                        root / f"{slug}-{index}.log",
                        data_dir=Path(deployment.env.get("TICKETBOSS_DATA_DIR", root / "unused")),
                        workers=deployment.workers,
                    )
                )
                deployment.servers.append(server)
                with environment(deployment.env):
                    server.start()
                    server.wait_all_workers_ready()
        yield
    finally:
        for deployment in deployments:
            for server in deployment.servers:
                server.stop()


@contextlib.contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
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


def seed_events(env: dict[str, str]) -> None:
    """Every event of the benchmark, in one manage.py process."""
    script = (
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        f"for event in {[HOT_EVENT, *SPREAD_EVENTS]!r}:\n"
        f"    call_command('seed_event', event, name='Bench', seats={SEATS})\n"
    )
    subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "ticketboss_site.settings", **env},
        check=True,
        capture_output=True,
    )


def _measure(row: Row, cluster: PostgresCluster, duration_s: int, connections: int) -> None:
    servers = row.deployment.servers
    urls = [servers[index % len(servers)].base_url for index in range(LOAD_GENERATORS)]
    drive_all(urls, row.events, WARMUP_S, connections)
    cpu_before = [server.cpu_by_worker() for server in servers]
    app_before = sum(server.cpu_seconds_all() for server in servers)
    pg_before = read_counters(cluster)
    result = drive_all(urls, row.events, duration_s, connections)
    row.pg += [pg_before, read_counters(cluster)]
    row.app_cpu_s.append(sum(server.cpu_seconds_all() for server in servers) - app_before)
    shares = []
    for server, before in zip(servers, cpu_before, strict=True):
        used = [seconds - before.get(pid, 0.0) for pid, seconds in server.cpu_by_worker().items()]
        workers = row.deployment.workers
        shares.append(min(used) / sum(used) if len(used) == workers and sum(used) > 0 else 0.0)
    row.min_share.append(min(shares))
    row.runs.append(result)


def drive_all(
    base_urls: list[str], events: list[str], duration_s: int, connections: int = CONNECTIONS
) -> LoadResult:
    """One wrk per base url at once; add up their requests, keep the worst latencies."""
    with ThreadPoolExecutor(len(base_urls)) as pool:
        results = list(
            pool.map(lambda url: run_wrk_events(url, events, duration_s, connections), base_urls)
        )
    return LoadResult(
        requests=sum(item.requests for item in results),
        requests_per_s=sum(item.requests_per_s for item in results),
        p50_ms=max(item.p50_ms for item in results),
        p99_ms=max(item.p99_ms for item in results),
        errors=sum(item.errors for item in results),
        non2xx=sum(item.non2xx for item in results),
    )


def run_wrk_events(
    base_url: str, events: list[str], duration_s: int, connections: int = CONNECTIONS
) -> LoadResult:
    paths = "{" + ", ".join(json.dumps(f"/events/{e}/reservations") for e in events) + "}"
    script = _SCRIPT % {"paths": paths, "body": json.dumps(BODY), "report": REPORT_LUA}
    return run_wrk_script(base_url, script, duration_s=duration_s, connections=connections)


def _print_report(rows: list[Row], args: argparse.Namespace, loads: list[float]) -> None:
    print(
        f"\nPOST reserve, {LOAD_GENERATORS} wrk x {args.connections} connections, "
        f"{args.rounds} rounds"
        f" x {args.duration}s per row (servers started afresh every round), {WORKERS} workers"
        f" per node, {os.cpu_count()} cores shared,"
        f" load average {min(loads):.1f} to {max(loads):.1f}\n"
    )
    print(
        "| store, nodes, events | reserve/s | per node | p50 ms | p99 ms "
        "| least busy worker | non-2xx / errors |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        rate = statistics.median(run.requests_per_s for run in row.runs)
        share = statistics.median(row.min_share)
        print(
            f"| {row.label} | {rate:,.0f} | {rate / row.deployment.nodes:,.0f} | "
            f"{statistics.median(run.p50_ms for run in row.runs):.1f} | "
            f"{statistics.median(run.p99_ms for run in row.runs):.1f} | "
            f"{f'{100 * share:.0f}%' if row.deployment.workers > 1 else '-'} | "
            f"{sum(run.non2xx for run in row.runs)} / {sum(run.errors for run in row.runs)} |"
        )
    print(
        "\nreserve/s is the median of the rounds; p50 and p99 too (worst wrk of each run); "
        "least busy worker: its share of its node's worker CPU (50% is an even split; the "
        "worst node), median of the rounds.\n"
    )
    _print_ratios(rows)
    _print_model_inputs(rows)


def _print_ratios(rows: list[Row]) -> None:
    """The targets of issue 16, round by round (the rows of one ratio ran seconds apart),
    each with its median's confidence interval, below the A/A ratio: what this run's noise
    alone does to a ratio."""
    by_label = {row.label: row for row in rows}

    def per_round(upper: str, lower: str) -> list[float]:
        top = by_label[f"{upper}, 1 hot event"].runs
        bottom = by_label[f"{lower}, 1 hot event"].runs
        return [a.requests_per_s / b.requests_per_s for a, b in zip(top, bottom, strict=True)]

    def work_per_round(upper: str, lower: str) -> list[float]:
        top = by_label[f"{upper}, 1 hot event"].work_ms
        bottom = by_label[f"{lower}, 1 hot event"].work_ms
        return [a / b for a, b in zip(top, bottom, strict=True)]

    pairs = [
        ("A/A: PostgreSQL 1 node, again / 1 node", DB_1_AGAIN, DB_1, None),
        ("PostgreSQL 1 node / JSON", DB_1, "JSON files, 1 node", 0.7),
        ("PostgreSQL 2 nodes x 1 worker / 1 node", DB_2x1, DB_1, 1.0),
        (
            "PostgreSQL 2 nodes / 1 node (4 workers on the cores of 2)",
            "PostgreSQL, 2 nodes",
            DB_1,
            1.0,
        ),
        ("bare DRF no-op, 4 workers / 2 workers", BARE_4_LABEL, BARE_LABEL, None),
        ("JSON / bare DRF no-op", "JSON files, 1 node", BARE_LABEL, None),
        ("PostgreSQL 1 node / bare DRF no-op", DB_1, BARE_LABEL, None),
    ]
    print("| ratio, hot event | per round | median | interval of the median | target | verdict |")
    print("|---|---|---:|---|---:|---|")
    for title, upper, lower, target in pairs:
        ratios = per_round(upper, lower)
        median = statistics.median(ratios)
        interval = median_interval(ratios)
        goal = "-" if target is None else f">= {target:g}"
        verdict = (
            _aa_verdict(interval) if upper == DB_1_AGAIN else _verdict(median, interval, target)
        )
        print(
            f"| {title} | {', '.join(f'{ratio:.2f}' for ratio in ratios)} | {median:.3f} | "
            f"{interval} | {goal} | {verdict} |"
        )
    print(
        "\ninterval: where the median of the rounds lies, with the confidence in brackets (the "
        "sign-test interval: order statistics, no assumption about the spread; more --rounds "
        "narrow it). verdict: the median against the target; an interval that holds 1 is a "
        "difference this run cannot see, and its low end the largest loss it leaves possible.\n"
    )
    print(
        "| work per reservation (CPU of the nodes' processes + PostgreSQL's), hot event "
        "| per round | median | interval of the median | verdict |"
    )
    print("|---|---|---:|---|---|")
    for title, upper in (
        ("A/A: PostgreSQL 1 node, again / 1 node", DB_1_AGAIN),
        ("PostgreSQL 2 nodes x 1 worker / 1 node", DB_2x1),
        ("PostgreSQL 2 nodes / 1 node (4 workers on the cores of 2)", "PostgreSQL, 2 nodes"),
    ):
        ratios = work_per_round(upper, DB_1)
        interval = median_interval(ratios)
        print(
            f"| {title} | {', '.join(f'{ratio:.2f}' for ratio in ratios)} | "
            f"{statistics.median(ratios):.3f} | {interval} | "
            f"{_aa_verdict(interval) if upper == DB_1_AGAIN else _work_verdict(interval)} |"
        )
    print(
        "\nwork per reservation: what a reservation costs in CPU wherever it runs, the cost a "
        "second node could add; on this machine's shared cores it sets throughput, on "
        "machines of their own each node brings its cores (docs/scaling.md).\n"
    )


def _verdict(median: float, interval: Interval, target: float | None) -> str:
    if target is None:
        return ""
    met = "met" if median >= target else "not met"
    if target != 1.0:
        return met
    if interval.coverage < TRUSTED_COVERAGE:
        return f"{met}; too few rounds to tell a difference from noise"
    if interval.high < 1.0:
        return f"{met}; a loss: the interval lies below 1"
    if interval.low > 1.0:
        return f"{met}; a gain: the interval lies above 1"
    largest_loss = 100 * (1 - interval.low)
    return f"{met}; no difference this run can see; a loss over {largest_loss:.0f}% ruled out"


def _work_verdict(interval: Interval) -> str:
    """More work per reservation is the loss a second node could bring."""
    if interval.coverage < TRUSTED_COVERAGE:
        return "too few rounds to tell a difference from noise"
    if interval.low > 1.0:
        return f"more work: the interval lies above 1 (at least {100 * (interval.low - 1):.0f}%)"
    if interval.high < 1.0:
        return "less work: the interval lies below 1"
    extra = 100 * (interval.high - 1)
    return f"no difference this run can see; more than {extra:.0f}% extra work ruled out"


def _aa_verdict(interval: Interval) -> str:
    """The same deployment twice: an interval without 1 means the run itself is skewed."""
    if interval.coverage < TRUSTED_COVERAGE:
        return "too few rounds for an interval"
    if interval.holds(1.0):
        return "holds 1, as it should"
    return "misses 1: this run favoured one of two equal rows (a stall?); read its ratios warily"


def _print_model_inputs(rows: list[Row]) -> None:
    print(
        "| row | app CPU ms / reserve | PG CPU ms / reserve | reserves / commit | WAL B / reserve |"
    )
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        done = sum(run.requests for run in row.runs)
        if not done:
            continue
        pg_cpu = commits = wal = 0.0
        for before, after in zip(row.pg[::2], row.pg[1::2], strict=True):
            pg_cpu += after.cpu_s - before.cpu_s
            commits += after.commits - before.commits
            wal += after.wal_bytes - before.wal_bytes
        db = row.deployment.is_db
        print(
            f"| {row.label} | {1000 * sum(row.app_cpu_s) / done:.2f} | "
            + (
                f"{1000 * pg_cpu / done:.2f} | {done / max(commits, 1):.1f} | {wal / done:,.0f} |"
                if db
                else "- | - | - |"
            )
        )


if __name__ == "__main__":
    main()
