"""`python -m bench`: TicketBoss against the best Django + DRF can do here, in one run, as tables.

Starts two baselines and the real service, each with 2 worker processes:
- a bare DRF no-op view (bench/bare_site: no middleware, JSON only) on gunicorn's
  gthread worker, 2 x 8 threads: the common Django deployment, the gate's baseline;
- the same bare view on granian's WSGI, 2 x 8 threads: the fastest serving found here;
- TicketBoss as the README runs it (`python -m ticketboss_site.serve`, granian WSGI,
  JSON-file store in a temp folder, throttling off), empty, with 100k reservations,
  and in keys mode with a partner key on every request. Loads: summary, reserve,
  reserve then cancel, hold, hold then confirm.
wrk drives each with 16 connections kept alive (as client pools and proxies do), in
rounds that rotate the order of the servers so a noisy neighbour hits all alike; ratios
are medians of per-round ratios, each with its confidence interval (bench.median_interval).
Every round starts every server afresh and stops it after: a process kept a speed of its
own for its life, a few percent apart between identical deployments (docs/scaling.md, "An
interval for every median"), enough to carry a target at its edge either way. For the
reserve load only, a floor is measured too: the bare view plus the store's durable
reserve and nothing else (bench/floor_site), so the table shows what share of the
reserve's gap is the durable write itself. Rows with `Connection: close` are for
reference. Then 1M reservations are loaded to time a restart and weigh the workers.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.load import CONNECTIONS, LoadResult, ensure_wrk, run_wrk
from bench.median_interval import Interval, median_interval
from bench.prefill import prefill
from bench.servers import ROOT, THREADS, WORKERS, Server, bare_server, free_port

PARTNER = "bench-partner"
RESERVE_BODY = '{"partnerId": "bench-partner", "seats": 1}'
WARMUP_S = 1
OUR_APP = "ticketboss_site.wsgi:application"
# Reserve POST only: the bare view plus the store's durable reserve (bench/floor_site).
FLOOR = "floor"
# Below this (under 5 rounds) an interval is too likely to miss the median to judge by.
TRUSTED_COVERAGE = 0.9


@dataclass(frozen=True, slots=True)
class Load:
    label: str
    method: str
    body: str = ""
    close: bool = False
    mix: str | None = None
    path: str = "/reservations"


RESERVE = Load("reserve POST", "POST", RESERVE_BODY)
LOADS = (
    Load("summary GET", "GET"),
    RESERVE,
    Load("reserve + cancel", "POST", RESERVE_BODY, mix="cancel"),
    Load("hold POST", "POST", RESERVE_BODY, path="/holds"),
    Load("hold + confirm", "POST", RESERVE_BODY, mix="confirm", path="/holds"),
    Load("summary GET, Connection: close", "GET", close=True),
    Load("reserve POST, Connection: close", "POST", RESERVE_BODY, close=True),
)


@dataclass(slots=True)
class Runs:
    """Every run of one load on one server."""

    results: list[LoadResult] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # worker CPU per request
    min_share: list[float] = field(default_factory=list)  # least busy worker's CPU share

    @property
    def rate(self) -> float:
        return statistics.fmean(r.requests_per_s for r in self.results)

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(r, attribute) for r in self.results)


@dataclass(frozen=True, slots=True)
class Target:
    label: str
    value: float
    limit: float
    higher_is_better: bool
    interval: Interval | None = None  # of a median of per-round ratios

    @property
    def met(self) -> bool:
        return self.value >= self.limit if self.higher_is_better else self.value <= self.limit

    @property
    def verdict(self) -> str:
        met = "yes" if self.met else "NO"
        if self.interval is None or self.interval.coverage < TRUSTED_COVERAGE:
            return met
        if self.interval.holds(self.limit):
            return f"{met}, within this run's noise: the interval holds the limit"
        return met


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    # Many short rounds: a round's ratio swings about as much over 1 s as over 6 s, while
    # the interval of the median narrows with their number (9 leave out the extremes).
    parser.add_argument("--duration", type=int, default=1, help="seconds per wrk run")
    parser.add_argument(
        "--rounds", type=int, default=9, help="runs per server and load, on new processes each"
    )
    parser.add_argument("--skip-1m", action="store_true", help="skip the 1M restart")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder and logs")
    args = parser.parse_args()
    ensure_wrk()
    root = Path(tempfile.mkdtemp(prefix="ticketboss-bench-"))
    try:
        run(root, duration_s=args.duration, rounds=args.rounds, with_1m=not args.skip_1m)
    finally:
        if args.keep:
            print(f"\nkept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def run(root: Path, *, duration_s: int, rounds: int, with_1m: bool) -> None:
    servers = {
        "bare, gthread": bare_server(root / "gthread.log", server="gthread"),
        "bare, granian": bare_server(root / "granian.log"),
        "empty store": _service(root, "empty store", 0),
        "100k stored": _service(root, "100k stored", 100_000),
        "keys": _service(root, "keys", 0, keys=True),
        FLOOR: _service(root, FLOOR, 0, floor=True),
    }  # fmt: skip
    labels = list(servers)
    restarts: dict[str, list[float]] = {"100k stored": []}
    rss: list[tuple[str, list[float]]] = []
    runs = {
        (load.label, label): Runs()
        for load in LOADS
        for label in labels
        if label != FLOOR or load is RESERVE
    }
    for round_index in range(rounds):
        order = labels[round_index % len(labels) :] + labels[: round_index % len(labels)]
        # New processes every round, on new ports, started in the round's order.
        fresh = {label: dataclasses.replace(servers[label], port=free_port()) for label in order}
        try:
            for label, server in fresh.items():
                seconds = server.start()
                if label in restarts:
                    restarts[label].append(seconds)
            for server in fresh.values():
                server.wait_all_workers_ready()
                _drive(server, RESERVE, WARMUP_S)  # lazy imports, URL resolver, first threads
            for load in LOADS:
                for label in order:
                    if label != FLOOR or load is RESERVE:
                        _measure(fresh[label], load, duration_s, runs[(load.label, label)])
            if round_index == 0:
                rss += [(label, server.worker_rss_mib()) for label, server in fresh.items()]
        finally:
            for server in fresh.values():
                server.stop()
        print(f"round {round_index + 1} of {rounds} measured", flush=True)

    restart_medians = [(label, statistics.median(times)) for label, times in restarts.items()]
    if with_1m:
        service = _service(root, "1M stored", 1_000_000)
        try:
            restart_medians.append(("1M stored", service.start()))
            service.wait_all_workers_ready()
            rss.append(("1M stored", service.worker_rss_mib()))
        finally:
            service.stop()

    print_report(duration_s, rounds, runs, restart_medians, rss)


def _measure(server: Server, load: Load, duration_s: int, entry: Runs) -> None:
    before = server.cpu_by_worker()
    result = _drive(server, load, duration_s)
    after = server.cpu_by_worker()
    used = [after[pid] - before.get(pid, 0.0) for pid in after]
    entry.results.append(result)
    entry.cpu_ms.append(1000 * sum(used) / max(result.requests, 1))
    entry.min_share.append(min(used) / sum(used) if sum(used) > 0 else 0.0)


def _drive(server: Server, load: Load, duration_s: float) -> LoadResult:
    key = server.env.get("BENCH_KEY")
    return run_wrk(
        server.base_url + load.path,
        method=load.method,
        body=load.body,
        duration_s=duration_s,
        close=load.close,
        mix=load.mix,
        headers={"Authorization": f"Bearer {key}"} if key else None,
    )


def _service(
    root: Path, label: str, count: int, *, keys: bool = False, floor: bool = False
) -> Server:
    """TicketBoss on a store prefilled with `count` reservations; with `keys`, in keys
    mode with one partner whose key every request carries; with `floor`, the bare view
    plus the store's reserve (bench/floor_site) on the bare view's granian instead."""
    data_dir = root / label.replace(" ", "-")
    started = time.perf_counter()
    prefill(data_dir, count)
    gc.collect()
    print(f"prefilled {count} reservations in {time.perf_counter() - started:.1f}s", flush=True)
    env = {"TICKETBOSS_DATA_DIR": str(data_dir)}
    _manage(env, "migrate", "--no-input", "-v", "0")  # organizer accounts, as ./scripts/run
    if keys:
        env["TICKETBOSS_AUTH"] = "keys"
        _manage(env, "create_partner", PARTNER)
        env["BENCH_KEY"] = _manage(env, "issue_key", PARTNER).strip()
    return Server(
        OUR_APP,
        "bench.floor_site.settings" if floor else "ticketboss_site.settings",
        root / f"service-{data_dir.name}.log",
        data_dir=data_dir,
        env=env,
        server="granian" if floor else "ticketboss",
    )


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "ticketboss_site.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _least_busy(runs: Runs) -> str:
    """The least busy worker's share of the CPU, median over rounds (50% is even)."""
    return f"{100 * statistics.median(runs.min_share):.0f}%"


def _per_round(runs: Runs, baseline: Runs) -> list[float]:
    """Each round's ratio: the two runs were close together in time, in the same round."""
    pairs = zip(runs.results, baseline.results, strict=True)
    return [s.requests_per_s / b.requests_per_s for s, b in pairs]


def _ratios(runs: Runs, baseline: Runs) -> float:
    """Median of the per-round ratios."""
    return statistics.median(_per_round(runs, baseline))


def _ratio_target(label: str, runs: Runs, baseline: Runs, limit: float) -> Target:
    ratios = _per_round(runs, baseline)
    return Target(label, statistics.median(ratios), limit, True, median_interval(ratios))


def print_report(
    duration_s: int,
    rounds: int,
    runs: dict[tuple[str, str], Runs],
    restarts: list[tuple[str, float]],
    rss: list[tuple[str, list[float]]],
) -> None:
    print(
        f"\nwrk, {CONNECTIONS} connections kept alive unless the row says otherwise; {rounds} "
        f"rounds of {duration_s}s on each server in rotating order, every server started "
        f"afresh each round; {WORKERS} workers x "
        f"{THREADS} threads everywhere. x gthread / x granian: median of per-round ratios "
        "against the bare DRF view on that server; p50/p99: median over rounds; CPU: worker "
        "user+system time per request; least busy worker: its share of the workers' CPU "
        "(median over rounds; 50% is an even split).\n"
    )
    print(
        "| load | bare gthread req/s | bare granian req/s | bare gthread p99 ms "
        "| least busy worker, gthread / granian |"
    )
    print("|---|---:|---:|---:|---:|")
    for load in LOADS:
        gthread, granian = runs[(load.label, "bare, gthread")], runs[(load.label, "bare, granian")]
        print(
            f"| {load.label} | {gthread.rate:.0f} | {granian.rate:.0f} | "
            f"{gthread.median('p99_ms'):.1f} | {_least_busy(gthread)} / {_least_busy(granian)} |"
        )
    print(
        "\n| TicketBoss | req/s | x gthread | x granian | p50 ms | p99 ms | CPU ms/req "
        "| least busy worker | non-2xx |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for load in LOADS:
        gthread, granian = runs[(load.label, "bare, gthread")], runs[(load.label, "bare, granian")]
        for store in ("empty store", "100k stored", "keys"):
            ours = runs[(load.label, store)]
            failures = sum(r.non2xx + r.errors for r in ours.results)
            print(
                f"| {load.label}, {store} | {ours.rate:.0f} | {_ratios(ours, gthread):.2f} | "
                f"{_ratios(ours, granian):.2f} | {ours.median('p50_ms'):.1f} | "
                f"{ours.median('p99_ms'):.1f} | {statistics.median(ours.cpu_ms):.2f} | "
                f"{_least_busy(ours)} | {failures} |"
            )
    floor = runs[(RESERVE.label, FLOOR)]
    gthread = runs[(RESERVE.label, "bare, gthread")]
    granian = runs[(RESERVE.label, "bare, granian")]
    print(
        "\n| floor: the bare view + the store's durable reserve only (granian; no middleware, "
        "validation or access rules) | req/s | x gthread | x granian | p99 ms | CPU ms/req |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    print(
        f"| {RESERVE.label} | {floor.rate:.0f} | {_ratios(floor, gthread):.2f} | "
        f"{_ratios(floor, granian):.2f} | {floor.median('p99_ms'):.1f} | "
        f"{statistics.median(floor.cpu_ms):.2f} |"
    )
    print(
        "\n| restart (start to first 200 on GET /reservations; 100k: median of the rounds) "
        "| seconds |"
    )
    print("|---|---:|")
    for label, seconds in restarts:
        print(f"| {label} | {seconds:.2f} |")
    print("\n| RSS per worker | MiB |")
    print("|---|---:|")
    for label, sizes in rss:
        print(f"| {label} | {' / '.join(f'{size:.0f}' for size in sizes)} |")

    def ours(load: str, store: str = "empty store") -> Runs:
        return runs[(load, store)]

    keep_alive = [load.label for load in LOADS if not load.close]
    targets = [
        _ratio_target(
            "summary >= 0.90x bare GET (gthread)",
            ours("summary GET"),
            runs[("summary GET", "bare, gthread")],
            0.90,
        ),
        _ratio_target(
            "reserve >= 0.80x bare POST (gthread)",
            ours("reserve POST"),
            runs[("reserve POST", "bare, gthread")],
            0.80,
        ),
        # Per round, 100k against the empty store (as keys and hold below): the same
        # baseline cancels out, and a quotient of two medians could pair rounds apart.
        _ratio_target(
            "100k: reserve keeps >= 0.90 of the empty store's throughput",
            ours("reserve POST", "100k stored"),
            ours("reserve POST"),
            0.90,
        ),
        Target("reserve p99 <= 25 ms", ours("reserve POST").median("p99_ms"), 25, False),
        Target(
            "every worker >= 35% of the CPU (keep-alive rows, worst)",
            100
            * min(
                statistics.median(ours(load, store).min_share)
                for load in keep_alive
                for store in ("empty store", "100k stored")
            ),
            35,
            True,
        ),
    ]
    targets.append(
        _ratio_target(
            "keys: reserve keeps >= 0.95 of open mode's throughput",
            ours("reserve POST", "keys"),
            ours("reserve POST"),
            0.95,
        )
    )
    targets.append(
        _ratio_target(
            "a hold costs <= 1.2x a reserve (hold req/s >= reserve req/s / 1.2)",
            ours("hold POST"),
            ours("reserve POST"),
            1 / 1.2,
        )
    )
    limits = {"100k stored": 5.0, "1M stored": 20.0}
    targets += [
        Target(f"restart {label} <= {limits[label]:.0f} s", seconds, limits[label], False)
        for label, seconds in restarts
    ]
    print("\n| target | measured | interval of the median | met |")
    print("|---|---:|---|---|")
    for target in targets:
        interval = "-" if target.interval is None else str(target.interval)
        print(f"| {target.label} | {target.value:.2f} | {interval} | {target.verdict} |")
    print(
        "\ninterval: where the median of the per-round ratios lies, with the confidence in "
        "brackets (order statistics, no assumption about the spread; more --rounds narrow it)."
    )
    print(
        f"\nThe reserve target's floor: the bare view with only the store's durable reserve "
        f"added reaches {_ratios(floor, gthread):.2f}x bare POST (gthread) in this run."
    )


if __name__ == "__main__":
    main()
