"""`python -m bench`: TicketBoss against the bare Django/DRF ceiling, in one run, as one table.

Starts the bare site (bench/bare_site: our framework stack, none of our code)
and the real service (gunicorn, 2 uvicorn workers, JSON-file store in a temp
folder, throttling off), drives each with wrk at 16 connections, alternating
bare and service runs of the same length so a noisy neighbour hits both alike,
then refills the store with 100k and 1M reservations to measure throughput
with data, restart time and memory. Ratios are within this one run.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.load import CONNECTIONS, LoadResult, ensure_wrk, run_wrk
from bench.prefill import prefill
from bench.servers import WORKERS, Server

RESERVE_BODY = '{"partnerId": "bench-partner", "seats": 1}'
WARMUP_S = 2


@dataclass(frozen=True, slots=True)
class Target:
    label: str
    value: float
    limit: float
    higher_is_better: bool

    @property
    def met(self) -> bool:
        return self.value >= self.limit if self.higher_is_better else self.value <= self.limit


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--duration", type=int, default=3, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=6, help="alternating runs per app and row")
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


@dataclass(frozen=True, slots=True)
class Row:
    """One load on TicketBoss and the same load on the bare site, in alternating rounds."""

    label: str
    service: list[LoadResult]
    bare: list[LoadResult]
    service_cpu_ms: list[float]  # worker CPU per request, per round
    bare_cpu_ms: list[float]

    @property
    def ratio(self) -> float:
        """Median of the per-round ratios: each round's two runs are back to back."""
        pairs = zip(self.service, self.bare, strict=True)
        return _median([s.requests_per_s / b.requests_per_s for s, b in pairs])


def run(root: Path, *, duration_s: int, rounds: int, with_1m: bool) -> None:
    rows: list[Row] = []
    restarts: list[tuple[str, float]] = []
    rss: list[tuple[str, list[float]]] = []
    stores = (("empty store", 0), ("100k stored", 100_000))
    bare = Server("bench.bare_site.asgi:application", "bench.bare_site.settings", root / "bare.log")
    services: list[tuple[str, Server]] = []
    try:
        bare.start()
        for label, count in stores:
            service = _prefilled_service(root, label, count)
            services.append((label, service))
            seconds = service.start()
            if count:
                restarts.append((label, seconds))
        for server in (bare, *(service for _, service in services)):
            server.wait_all_workers_ready()
        for kind, method in (("summary", "GET"), ("reserve", "POST")):
            results, cpu_ms = _interleaved(
                [bare, *(s for _, s in services)], method, duration_s, rounds
            )
            for index, (label, _) in enumerate(services, start=1):
                rows.append(
                    Row(f"{kind}, {label}", results[index], results[0], cpu_ms[index], cpu_ms[0])
                )
            print(f"measured {kind}", flush=True)
        rss.append(("bare site", bare.worker_rss_mib()))
        rss += [(f"TicketBoss, {label}", service.worker_rss_mib()) for label, service in services]
    finally:
        bare.stop()
        for _, service in services:
            service.stop()

    if with_1m:
        service = _prefilled_service(root, "1M stored", 1_000_000)
        try:
            restarts.append(("1M stored", service.start()))
            service.wait_all_workers_ready()
            rss.append(("TicketBoss, 1M stored", service.worker_rss_mib()))
        finally:
            service.stop()

    print_report(duration_s, rounds, rows, restarts, rss)


def _interleaved(
    servers: list[Server], method: str, duration_s: int, rounds: int
) -> tuple[list[list[LoadResult]], list[list[float]]]:
    """Runs on each server back to back, in a rotating order, so that a noisy
    neighbour or a drift over time hits every server alike."""
    body = RESERVE_BODY if method == "POST" else ""
    results: list[list[LoadResult]] = [[] for _ in servers]
    cpu_ms: list[list[float]] = [[] for _ in servers]
    for server in servers:  # warm-up: lazy imports, URL resolver, first threads
        run_wrk(server.base_url + "/reservations", method=method, body=body, duration_s=WARMUP_S)
    for round_index in range(rounds):
        for offset in range(len(servers)):
            index = (round_index + offset) % len(servers)
            server = servers[index]
            cpu_before = server.worker_cpu_seconds()
            result = run_wrk(
                server.base_url + "/reservations", method=method, body=body, duration_s=duration_s
            )
            cpu = server.worker_cpu_seconds() - cpu_before
            results[index].append(result)
            cpu_ms[index].append(1000 * cpu / max(result.requests, 1))
    return results, cpu_ms


def _rate(results: list[LoadResult]) -> float:
    return statistics.fmean(result.requests_per_s for result in results)


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _prefilled_service(root: Path, label: str, count: int) -> Server:
    data_dir = root / label.replace(" ", "-")
    started = time.perf_counter()
    prefill(data_dir, count)
    gc.collect()
    print(f"prefilled {count} reservations in {time.perf_counter() - started:.1f}s", flush=True)
    return Server(
        "ticketboss_site.asgi:application",
        "ticketboss_site.settings",
        root / f"service-{data_dir.name}.log",
        data_dir=data_dir,
    )


def print_report(
    duration_s: int,
    rounds: int,
    rows: list[Row],
    restarts: list[tuple[str, float]],
    rss: list[tuple[str, list[float]]],
) -> None:
    print(
        f"\nwrk, {CONNECTIONS} connections, a new connection per request; {rounds} rounds of "
        f"{duration_s}s on each server (bare, empty store, 100k stored) in rotating order; "
        f"gunicorn + uvicorn workers, {WORKERS} workers each. "
        "x bare: median of the per-round ratios; p50/p99: median over the rounds; "
        "CPU: user+system time of the workers per request served (median over the rounds).\n"
    )
    print(
        "| load | req/s | bare req/s | x bare | p50 ms | p99 ms | bare p99 ms "
        "| CPU ms/req | bare CPU ms/req | non-2xx |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        failures = sum(result.non2xx + result.errors for result in row.service + row.bare)
        print(
            f"| {row.label} | {_rate(row.service):.0f} | {_rate(row.bare):.0f} | "
            f"{row.ratio:.2f} | {_median([r.p50_ms for r in row.service]):.1f} | "
            f"{_median([r.p99_ms for r in row.service]):.1f} | "
            f"{_median([r.p99_ms for r in row.bare]):.1f} | "
            f"{_median(row.service_cpu_ms):.2f} | {_median(row.bare_cpu_ms):.2f} | {failures} |"
        )
    print("\n| restart (gunicorn start to first 200 on GET /reservations) | seconds |")
    print("|---|---:|")
    for label, seconds in restarts:
        print(f"| {label} | {seconds:.2f} |")
    print("\n| RSS per worker | MiB |")
    print("|---|---:|")
    for label, sizes in rss:
        print(f"| {label} | {' / '.join(f'{size:.0f}' for size in sizes)} |")

    by_label = {row.label: row for row in rows}
    reserve = by_label["reserve, empty store"]
    targets = [
        Target("reserve >= 0.80x bare POST", reserve.ratio, 0.80, True),
        Target("summary >= 0.90x bare GET", by_label["summary, empty store"].ratio, 0.90, True),
        Target("reserve p99 <= 25 ms", _median([r.p99_ms for r in reserve.service]), 25, False),
        Target(
            "100k: reserve keeps >= 0.90 of its empty-store ratio",
            by_label["reserve, 100k stored"].ratio / reserve.ratio,
            0.90,
            True,
        ),
    ]
    limits = {"100k stored": 5.0, "1M stored": 20.0}
    targets += [
        Target(f"restart {label} <= {limits[label]:.0f} s", seconds, limits[label], False)
        for label, seconds in restarts
    ]
    print("\n| target | measured | met |")
    print("|---|---:|---|")
    for target in targets:
        print(f"| {target.label} | {target.value:.2f} | {'yes' if target.met else 'NO'} |")


if __name__ == "__main__":
    main()
