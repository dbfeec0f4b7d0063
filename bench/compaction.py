"""`python -m bench.compaction`: what a big event's compaction costs the writers.

An event compacts (writes its snapshot and starts a new journal) once its journal holds
as many records as the event has reservations. Writing the snapshot of a big event takes
seconds (about 2 s at a million reservations here). This starts the README's server
(granian, 2 WSGI workers, JSON-file store, throttling off) on an event of `--reservations`
one-seat reservations, in two states, and drives reserve POSTs with wrk (16 keep-alive
connections) for `--duration` seconds on each:

- "compaction due": every record is still in the journal, so the first write compacts
  all of them while the load runs;
- "no compaction": the same reservations in a snapshot, so none is due in the run
  (the baseline, measured in the same rounds).

Every round also drives the baseline every ratio is taken against: a bare DRF no-op
POST on granian's WSGI (the framework's best here), same wrk, same keep-alive
connections. Rounds rotate the order. The table gives throughput (and x bare), p50, p99
and the slowest answer, and whether the snapshot was written during the run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.load import CONNECTIONS, LoadResult, run_wrk
from bench.prefill import prefill, prefill_journal
from bench.servers import WORKERS, Server, bare_server
from reservations.domain import DEFAULT_EVENT_ID
from reservations.store.jsonfile.event_log import SNAPSHOT_NAME

RESERVE_BODY = '{"partnerId": "bench-partner", "seats": 1}'
DUE = "compaction due"
STEADY = "no compaction"
BARE = "baseline: bare DRF no-op POST, granian"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.compaction", description=__doc__)
    parser.add_argument("--reservations", type=int, default=300_000)
    parser.add_argument("--duration", type=int, default=6, help="seconds of load per run")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ticketboss-bench-compaction-"))
    try:
        templates = {DUE: root / "due", STEADY: root / "steady"}
        started = time.perf_counter()
        prefill_journal(templates[DUE], args.reservations)
        prefill(templates[STEADY], args.reservations)
        print(f"prefilled {args.reservations} reservations twice in "
              f"{time.perf_counter() - started:.1f}s", flush=True)  # fmt: skip
        results: dict[str, list[tuple[LoadResult, bool]]] = {BARE: [], DUE: [], STEADY: []}
        baseline = bare_server(root / "bare.log")
        baseline.start()
        try:
            baseline.wait_all_workers_ready()
            for round_number in range(args.rounds):
                order = [BARE, DUE, STEADY]
                order = order[round_number % 3 :] + order[: round_number % 3]
                for label in order:
                    if label == BARE:
                        url = baseline.base_url + "/reservations"
                        result = run_wrk(
                            url, method="POST", body=RESERVE_BODY, duration_s=args.duration
                        )
                        results[BARE].append((result, False))
                    else:
                        results[label].append(_run(root, templates[label], label, args.duration))
                    print(f"round {round_number + 1}: {label}", flush=True)
        finally:
            baseline.stop()
        _report(args, results)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run(root: Path, template: Path, label: str, duration_s: int) -> tuple[LoadResult, bool]:
    """One server on a fresh copy of `template`; its load, and whether it compacted."""
    data_dir = root / "run"
    shutil.rmtree(data_dir, ignore_errors=True)
    shutil.copytree(template, data_dir)
    # The copy is dirty page cache: unflushed, the service's first fdatasync of the journal
    # would write the whole copied journal (230 MB at a million) and count it as a stall.
    os.sync()
    snapshot = data_dir / "events" / DEFAULT_EVENT_ID / SNAPSHOT_NAME
    before = snapshot.stat().st_mtime_ns if snapshot.exists() else None
    server = Server(
        "ticketboss_site.wsgi:application",
        "ticketboss_site.settings",
        root / f"service-{label.replace(' ', '-')}.log",
        data_dir=data_dir,
        env={"TICKETBOSS_DATA_DIR": str(data_dir)},
    )
    server.start(timeout=300)
    try:
        server.wait_all_workers_ready(timeout=300)
        result = run_wrk(
            server.base_url + "/reservations",
            method="POST",
            body=RESERVE_BODY,
            duration_s=duration_s,
        )
    finally:
        server.stop()
    compacted = snapshot.exists() and snapshot.stat().st_mtime_ns != before
    return result, compacted


def _median(runs: list[tuple[LoadResult, bool]], field: str) -> float:
    return statistics.median(float(getattr(result, field)) for result, _ in runs)


def _report(args: argparse.Namespace, results: dict[str, list[tuple[LoadResult, bool]]]) -> None:
    print(
        f"\nwrk, {CONNECTIONS} keep-alive connections, reserve POSTs, {args.rounds} rounds of "
        f"{args.duration}s; {WORKERS} workers; an event of {args.reservations} reservations. "
        "Medians over rounds.\n"
    )
    print(
        "| run | req/s | x bare | p50 ms | p99 ms | slowest ms "
        "| snapshot written in the run | non-2xx |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---:|")
    for label, runs in results.items():
        written = "-" if label == BARE else f"{sum(c for _, c in runs)} of {len(runs)}"
        print(
            f"| {label} | {_median(runs, 'requests_per_s'):.0f} "
            f"| {_x_bare(runs, results[BARE]):.2f} "
            f"| {_median(runs, 'p50_ms'):.1f} | {_median(runs, 'p99_ms'):.1f} "
            f"| {_median(runs, 'max_ms'):.0f} | {written} "
            f"| {sum(r.non2xx + r.errors for r, _ in runs)} |"
        )
    print(
        "\nx bare: median of per-round ratios against the bare view in the same round. The "
        "two TicketBoss rows differ only in whether a compaction falls in the run."
    )


def _x_bare(runs: list[tuple[LoadResult, bool]], bare: list[tuple[LoadResult, bool]]) -> float:
    pairs = zip(runs, bare, strict=True)
    return statistics.median(
        ours.requests_per_s / base.requests_per_s for (ours, _), (base, _) in pairs
    )


if __name__ == "__main__":
    main()
