"""What PostgreSQL spent during a benchmark row: CPU, commits, WAL bytes.

These are the inputs of the capacity model (docs/scaling.md): reservations per
commit (the group-commit batch size), database CPU per reservation and WAL bytes
per reservation, read from /proc and PostgreSQL's own counters before and after.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from tests.support.postgres import PostgresCluster


@dataclass(frozen=True, slots=True)
class PgCounters:
    cpu_s: float  # postmaster and every backend, living or exited
    commits: int  # xact_commit of every database of the cluster
    wal_bytes: int


def read_counters(cluster: PostgresCluster) -> PgCounters:
    with cluster.connect() as conn:
        commits, wal = conn.execute(
            "SELECT (SELECT sum(xact_commit) FROM pg_stat_database)::bigint, "
            "pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint"
        ).fetchone()
    return PgCounters(cpu_s=_cluster_cpu_s(cluster), commits=int(commits), wal_bytes=int(wal))


def _cluster_cpu_s(cluster: PostgresCluster) -> float:
    """The postmaster's own and its reaped children's CPU (cutime, cstime: backends
    that exited, as with a connection per request), plus its living children's."""
    pid = int((cluster.data_dir / "postmaster.pid").read_text().split()[0])
    ticks = os.sysconf("SC_CLK_TCK")
    fields = _stat(pid)
    total = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for child in children:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            child_fields = _stat(int(child))
            total += int(child_fields[11]) + int(child_fields[12])
    return total / ticks


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
