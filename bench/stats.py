"""`python -m bench.stats`: an event's organizer stats with 1,000,000 reservations stored.

CONTRACT.md "Events and partners": `GET /events/{eventId}/stats` is computed from
counters every write keeps, O(minutes + partners), never by scanning reservations;
the target is under 50 ms with 1M reservations stored. This fills one event with
1M one-seat reservations of 50 partners spread over a day (bench.prefill writes the
store's own files), starts the real server (bench.servers, 2 workers), signs in an
organizer (a staff user made with manage.py, signed in through /accounts/login/),
and times the endpoint over HTTP with a kept-alive session. A row also times
`store.stats()` in-process (the store's share of the request). The db row does the
same on PostgreSQL (a throwaway cluster, as bench.nodes), when the db store has stats.
The first row is the framework's floor in the same run: a bare DRF no-op GET on granian.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from bench.prefill import prefill, prefilled_state
from bench.servers import ROOT, Server, bare_server
from reservations.domain import DEFAULT_EVENT_ID

TARGET_MS = 50.0
MINUTES = 24 * 60
USERNAME = "bench-organizer"
PASSWORD = "bench organizer password 0123456789"
OUR_APP = "ticketboss_site.wsgi:application"
SETTINGS = "ticketboss_site.settings"


@dataclass
class Row:
    label: str
    timings_ms: list[float] | None = None
    note: str = ""

    def cells(self) -> list[str]:
        if not self.timings_ms:
            return [self.label, "-", "-", "-", f"{TARGET_MS:.0f}", self.note]
        ordered = sorted(self.timings_ms)
        p50 = statistics.median(ordered)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        verdict = "yes" if p99 < TARGET_MS else "NO"
        return [
            self.label,
            str(len(ordered)),
            f"{p50:.2f}",
            f"{p99:.2f}",
            f"{TARGET_MS:.0f}",
            f"{verdict}{'; ' + self.note if self.note else ''}",
        ]


def timed(call: Callable[[], object], count: int, warmup: int = 10) -> list[float]:
    for _ in range(warmup):
        call()
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


# ---------------------------------------------------------------------- HTTP


def manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")


def add_organizer(env: dict[str, str]) -> None:
    manage(env, "migrate", "--no-input", "-v", "0")
    code = (
        "from django.contrib.auth.models import User\n"
        f"User.objects.create_user({USERNAME!r}, password={PASSWORD!r}, is_staff=True)"
    )
    manage(env, "shell", "-c", code)


def signed_in(base_url: str) -> requests.Session:
    """An organizer's session, signed in as a browser does (form, CSRF token, POST)."""
    session = requests.Session()
    form = session.get(f"{base_url}/accounts/login/", timeout=30)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    if form.status_code != 200 or match is None:
        raise RuntimeError(f"no sign-in form at /accounts/login/ ({form.status_code})")
    answer = session.post(
        f"{base_url}/accounts/login/",
        data={"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": match[1]},
        headers={"Referer": f"{base_url}/accounts/login/"},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"signing in answered {answer.status_code}")
    return session


def http_row(label: str, env: dict[str, str], data_dir: Path, requests_count: int) -> Row:
    """Time GET /events/{id}/stats on the real server, signed in as an organizer."""
    add_organizer({**env, "TICKETBOSS_DATA_DIR": str(data_dir)})
    server = Server(
        app=OUR_APP,
        settings_module=SETTINGS,
        log_path=data_dir.parent / f"{label.split()[0]}-server.log",
        data_dir=data_dir,
        env=env,
    )
    started = time.perf_counter()
    server.start(timeout=600)
    try:
        server.wait_all_workers_ready(timeout=600)
        ready_s = time.perf_counter() - started
        session = signed_in(server.base_url)
        url = f"{server.base_url}/events/{DEFAULT_EVENT_ID}/stats"
        first = session.get(url, timeout=60)
        if first.status_code != 200:
            return Row(label, note=f"skipped: the endpoint answered {first.status_code}")
        body = first.json()
        minutes, partners = len(body.get("perMinute", [])), len(body.get("partners", []))

        def get() -> None:
            answer = session.get(url, timeout=60)
            if answer.status_code != 200:
                raise RuntimeError(f"stats answered {answer.status_code}")

        timings = timed(get, requests_count)
        # The same server's floor on this machine: the public summary, same session.
        summary_url = f"{server.base_url}/events/{DEFAULT_EVENT_ID}"
        floor = statistics.median(timed(lambda: session.get(summary_url, timeout=60), 100))
        note = (
            f"{minutes} minutes, {partners} partners; GET /events/{{id}} p50 {floor:.2f} ms "
            f"beside it; ready in {ready_s:.0f} s"
        )
        return Row(label, timings, note)
    finally:
        server.stop()


def bare_row(root: Path, requests_count: int) -> Row:
    """The framework's floor in the same run: a bare DRF no-op GET on granian (the fastest
    serving found here, as `python -m bench` uses it), same client, kept-alive session."""
    server = bare_server(root / "bare.log")
    server.start(timeout=120)
    try:
        server.wait_all_workers_ready(timeout=120)
        with requests.Session() as session:
            url = f"{server.base_url}/reservations"

            def get() -> None:
                if session.get(url, timeout=60).status_code != 200:
                    raise RuntimeError("the bare view did not answer 200")

            timings = timed(get, requests_count)
        return Row("bare DRF GET, granian (baseline)", timings, "same client, same run")
    finally:
        server.stop()


# ---------------------------------------------------------------------- in-process


def json_in_process_row(data_dir: Path, count: int) -> Row:
    from reservations.store.jsonfile import JsonFileStore

    store = JsonFileStore(data_dir)
    try:
        timings = timed(lambda: store.stats(event_id=DEFAULT_EVENT_ID), count)
    finally:
        store.close()
    return Row("json, store.stats() in-process", timings, "no HTTP, no serializing")


# ---------------------------------------------------------------------- PostgreSQL


def db_stats_missing() -> str | None:
    """Why the db row cannot run here, or None."""
    from tests.support.postgres import missing_requirement

    reason = missing_requirement()
    if reason:
        return reason
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    django.setup()  # the ORM's models need the app registry, even just to be imported
    from reservations.store.orm import OrmStore

    if not callable(getattr(OrmStore, "stats", None)):
        return "the db store has no stats yet"
    return None


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """DATABASE_URL of a fresh, migrated database on a throwaway, durable cluster."""
    from tests.support.postgres import running_cluster

    with running_cluster(durable=True) as cluster:
        yield cluster.url(cluster.new_database())


def load_into_db(database_url: str, reservations: int) -> None:
    """The same event as the JSON store's, written by the db store's own load_events
    (in a child process: Django set up for that database)."""
    env = {
        "TICKETBOSS_STORE": "db",
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
    }
    subprocess.run(
        [sys.executable, "-m", "bench.stats", "--load-db", str(reservations)],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        timeout=3600,
    )


def _load_db_here(reservations: int) -> None:
    import django

    django.setup()
    from reservations.store.orm import OrmStore

    store = OrmStore()
    try:
        store.load_events([prefilled_state(reservations, minutes=MINUTES)])
    finally:
        store.close()


# ---------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reservations", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--no-db", action="store_true", help="skip the PostgreSQL row")
    parser.add_argument("--load-db", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_db is not None:
        _load_db_here(args.load_db)
        return
    root = Path(tempfile.mkdtemp(prefix="tb-stats-"))
    rows: list[Row] = []
    try:
        data_dir = root / "json"
        started = time.perf_counter()
        prefill(data_dir, args.reservations, minutes=MINUTES)
        elapsed = time.perf_counter() - started
        print(f"json: {args.reservations:,} reservations written in {elapsed:.0f} s")
        rows.append(bare_row(root, args.requests))
        rows.append(json_in_process_row(data_dir, args.requests))
        rows.append(http_row("json, GET /events/{id}/stats", {}, data_dir, args.requests))
        reason = "--no-db" if args.no_db else db_stats_missing()
        if reason:
            rows.append(Row("db PostgreSQL, GET /events/{id}/stats", note=f"skipped: {reason}"))
        else:
            with postgres_database() as url:
                started = time.perf_counter()
                load_into_db(url, args.reservations)
                print(f"db: loaded in {time.perf_counter() - started:.0f} s")
                env = {"TICKETBOSS_STORE": "db", "DATABASE_URL": url}
                (root / "db").mkdir()
                rows.append(
                    http_row(
                        "db PostgreSQL, GET /events/{id}/stats", env, root / "db", args.requests
                    )
                )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print_table(args.reservations, rows)


def print_table(reservations: int, rows: list[Row]) -> None:
    header = ["stats of 1 event", "requests", "p50 ms", "p99 ms", "target ms", "p99 < target"]
    table = [header, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(header) - 1)]
    print(f"\n{reservations:,} reservations stored, {MINUTES} minutes of sales, 50 partners")
    for line in table:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False)),
            line[-1],
        )


if __name__ == "__main__":
    main()
