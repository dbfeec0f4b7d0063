"""Fault injection on real servers and real files: full disk, fsync order, crash
leftovers, corruption. (kill -9 rounds and torn tails: test_crash_recovery.py.)"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import skip_or_fail
from tests.support.server import ServerProcess, run_manage, wait_until

pytestmark = pytest.mark.system

EVENT = "node-meetup-2025"
JSON = {"Content-Type": "application/json"}


# --------------------------------------------------------------------------- helpers


def reserve(server: ServerProcess, partner: str, seats: int = 1) -> requests.Response:
    return requests.post(
        server.url("/reservations"), json={"partnerId": partner, "seats": seats}, timeout=10
    )


def summary(server: ServerProcess) -> dict:
    response = requests.get(server.url(f"/events/{EVENT}"), timeout=10)
    assert response.status_code == 200
    return response.json()


def event_dir(data_dir: Path) -> Path:
    return data_dir / "events" / EVENT


def fingerprint(folder: Path) -> dict[str, str]:
    """sha256 of every file in a folder: proof that nothing was rewritten."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.iterdir())
        if path.is_file()
    }


def check_store(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return run_manage({**os.environ, "TICKETBOSS_DATA_DIR": str(data_dir)}, "check_store")


def assert_holds(server: ServerProcess, confirmed: dict[str, int]) -> None:
    """Every acknowledged reservation is confirmed and the summary adds up."""
    for reservation_id, seats in confirmed.items():
        body = requests.get(server.url(f"/reservations/{reservation_id}"), timeout=10).json()
        assert (body["status"], body["seats"]) == ("confirmed", seats), body
    state = summary(server)
    assert state["reservationCount"] == len(confirmed)
    assert state["reservedSeats"] == sum(confirmed.values())
    assert state["availableSeats"] == state["totalSeats"] - sum(confirmed.values())


# --------------------------------------------------------------------------- full disk


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 512 KiB tmpfs, mounted as root (CI runs as root); unmounted at teardown."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        skip_or_fail("mounting a tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k,mode=0755", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        skip_or_fail(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def assert_refused(response: requests.Response) -> None:
    request = response.request
    seen = f"{request.method} {request.url} -> {response.status_code} {response.text!r}"
    assert response.status_code == 503, seen
    assert response.headers["Content-Type"].startswith("application/json")
    assert set(response.json()) == {"error"}
    assert int(response.headers["Retry-After"]) >= 1


def fill(disk: Path) -> Path:
    """Write a filler file until the disk says ENOSPC."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for size in (64 * 1024, 4096, 512, 64, 1):
            chunk = b"\0" * size
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, chunk)
    finally:
        os.close(fd)
    with pytest.raises(OSError) as full:
        (disk / "probe").write_bytes(b"x" * 4096)
    assert full.value.errno == errno.ENOSPC
    return filler


def test_full_disk_refuses_with_503_changes_nothing_and_recovers(
    small_disk, server_factory, tmp_path
):
    data_dir = small_disk / "data"
    log = tmp_path / "server.log"  # off the small disk: logs must not take its space
    server = server_factory(data_dir=data_dir, log_path=log)
    confirmed: dict[str, int] = {}
    for i in range(3):
        made = reserve(server, f"before-{i}", 2)
        assert made.status_code == 201
        confirmed[made.json()["reservationId"]] = 2

    filler = fill(small_disk)
    # Small appends may still fit in the journal's last allocated page, so go on
    # (keeping what is acknowledged) until a reservation and then a cancel are refused.
    # Each refusal must leave the files and the summary as they were just before it.
    folder = event_dir(data_dir)
    for i in range(200):
        before = fingerprint(folder), summary(server)
        attempt = reserve(server, f"during-{i}")
        if attempt.status_code != 201:
            break
        confirmed[attempt.json()["reservationId"]] = 1
    assert_refused(attempt)
    assert (fingerprint(folder), summary(server)) == before
    for victim in list(confirmed):
        before = fingerprint(folder), summary(server)
        attempt = requests.delete(server.url(f"/reservations/{victim}"), timeout=10)
        if attempt.status_code != 204:
            break
        del confirmed[victim]
    assert_refused(attempt)
    assert (fingerprint(folder), summary(server)) == before

    # A retry is refused again while its record cannot fit. (Not a retry of the same
    # cancel: a record's CRC is written in decimal, so the same cancel may come out a
    # byte shorter and fit in the page's last bytes; a partner id 80 characters longer
    # than the refused reservation's cannot.)
    assert_refused(reserve(server, "again-" + "x" * 90))
    assert (fingerprint(folder), summary(server)) == before  # nothing on disk nor in memory
    assert_holds(server, confirmed)

    filler.unlink()  # space returns: the same server works again, no restart
    made = reserve(server, "after", 4)
    assert made.status_code == 201
    confirmed[made.json()["reservationId"]] = 4
    assert requests.delete(server.url(f"/reservations/{victim}"), timeout=10).status_code == 204
    del confirmed[victim]
    assert_holds(server, confirmed)
    server.stop()

    restarted = server_factory(data_dir=data_dir, log_path=log)  # nothing acknowledged lost
    assert_holds(restarted, confirmed)
    restarted.stop()
    report = check_store(data_dir)
    assert report.returncode == 0, report.stderr


# --------------------------------------------------------------------------- fsync order


@dataclass
class Syscall:
    pid: str
    name: str
    start: float
    end: float
    text: str


_LINE = re.compile(r"^(\d+) +(\d+\.\d+) (.*)$")
_CALL = re.compile(r"^(\w+)\(")
_RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>")


def parse_strace(text: str) -> list[Syscall]:
    """Syscalls with start and end times, joining `<unfinished ...>` / `resumed` pairs."""
    calls: list[Syscall] = []
    pending: dict[str, Syscall] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        pid, stamp, rest = match.group(1), float(match.group(2)), match.group(3)
        resumed = _RESUMED.match(rest)
        if resumed and pid in pending:
            call = pending.pop(pid)
            call.end, call.text = stamp, call.text + rest
            calls.append(call)
            continue
        called = _CALL.match(rest)
        if not called:
            continue
        call = Syscall(pid, called.group(1), stamp, stamp, rest)
        if rest.endswith("<unfinished ...>"):
            pending[pid] = call
        else:
            calls.append(call)
    return sorted(calls, key=lambda call: call.start)


def request_on_own_port(server: ServerProcess, method: str, path: str, body: dict | None):
    """One request on a fresh connection; returns (status, body bytes, client port)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.connect()
    port = connection.sock.getsockname()[1]
    payload = json.dumps(body) if body is not None else None
    connection.request(method, path, body=payload, headers=JSON if body is not None else {})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data, port


def test_every_acknowledged_write_is_fdatasynced_before_the_answer(server_factory, tmp_path):
    strace = shutil.which("strace")
    if strace is None:
        skip_or_fail("strace is not installed (scripts/test installs it as root)")
    server = server_factory(workers=1)
    worker = (Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")).read_text()
    trace, errors = tmp_path / "trace.txt", tmp_path / "strace.err"
    tracer = subprocess.Popen(
        [strace, "-f", "-p", worker.split()[0], "-yy", "-ttt", "-s", "400", "-o", str(trace),
         "-e", "trace=write,writev,pwrite64,sendto,sendmsg,fsync,fdatasync"],
        stderr=errors.open("wb"),
    )  # fmt: skip
    try:
        wait_until(lambda: "attached" in errors.read_text(), timeout=10, message="strace")
        acknowledged: list[tuple[str, str, int]] = []  # (reservation id, op, client port)
        for i in range(8):
            status, data, port = request_on_own_port(
                server, "POST", "/reservations", {"partnerId": f"traced-{i}", "seats": 1}
            )
            assert status == 201
            acknowledged.append((json.loads(data)["reservationId"], "reserve", port))
        for reservation_id, _, _ in acknowledged[:4]:
            status, _, port = request_on_own_port(
                server, "DELETE", f"/reservations/{reservation_id}", None
            )
            assert status == 204
            acknowledged.append((reservation_id, "cancel", port))
    finally:
        tracer.terminate()
        tracer.wait(timeout=10)
    calls = parse_strace(trace.read_text())
    if not any(call.name in ("fdatasync", "fsync") for call in calls):
        skip_or_fail(f"strace saw no syscalls (ptrace not allowed?): {errors.read_text()}")
    for reservation_id, op, port in acknowledged:
        append = next(
            c for c in calls
            if c.name in ("write", "writev", "pwrite64") and "journal.jsonl>" in c.text
            and f'\\"op\\":\\"{op}\\"' in c.text and reservation_id in c.text
        )  # fmt: skip
        sync = next(
            c for c in calls
            if c.name in ("fdatasync", "fsync") and c.pid == append.pid
            and "journal.jsonl>" in c.text and c.start >= append.end
        )  # fmt: skip
        answer = next(
            c for c in calls
            if c.name in ("write", "writev", "sendto", "sendmsg")
            and f"->127.0.0.1:{port}]" in c.text and "HTTP/1.1 " in c.text
        )  # fmt: skip
        assert sync.text.rstrip().endswith("= 0"), sync.text
        assert append.end <= sync.start and sync.end <= answer.start, (op, reservation_id)


# --------------------------------------------------------------------------- crash leftovers


def test_restart_after_crash_with_leftover_temp_and_lock_files(server_factory, tmp_path):
    data_dir = tmp_path / "data"
    server = server_factory(data_dir=data_dir)
    confirmed = {}
    for i in range(5):
        made = reserve(server, f"crash-{i}", 3)
        assert made.status_code == 201
        confirmed[made.json()["reservationId"]] = 3
    server.kill9()
    folder = event_dir(data_dir)
    # What a crash mid-compaction leaves: half-written temp files, and the lock file.
    (folder / "snapshot.json.tmp").write_bytes(b'{"format": 1, "kind": "ticketboss-ev')
    (folder / "journal.jsonl.tmp").write_bytes(b'{"seq":3,"op":"beg')
    (folder / ".lock").write_bytes(b"pid 12345 was here\n")
    journal = (folder / "journal.jsonl").read_bytes()

    restarted = server_factory(data_dir=data_dir)
    assert not list(folder.glob("*.tmp"))
    assert (folder / "journal.jsonl").read_bytes() == journal
    assert_holds(restarted, confirmed)
    made = reserve(restarted, "after-crash", 2)
    assert made.status_code == 201
    confirmed[made.json()["reservationId"]] = 2
    assert_holds(restarted, confirmed)
    restarted.stop()
    assert check_store(data_dir).returncode == 0


# --------------------------------------------------------------------------- corruption


def _damage_middle_line(path: Path, lines_with: bytes) -> int:
    """Change one character inside a middle line holding `lines_with`; returns its
    1-based line number. The length stays the same, so only the checks can tell."""
    lines = path.read_bytes().split(b"\n")
    candidates = [i for i, line in enumerate(lines) if lines_with in line]
    assert len(candidates) >= 3, f"{path} is too short to damage its middle"
    index = candidates[len(candidates) // 2]
    line = lines[index]
    at = line.index(b'"partnerId":"') + len(b'"partnerId":"')
    lines[index] = line[:at] + (b"X" if line[at : at + 1] != b"X" else b"Y") + line[at + 1 :]
    path.write_bytes(b"\n".join(lines))
    return index + 1


@pytest.mark.parametrize("damaged", ["journal.jsonl", "snapshot.json"])
def test_corruption_in_the_middle_refuses_to_start_and_rewrites_nothing(
    server_factory, tmp_path, damaged
):
    data_dir = tmp_path / "data"
    env = {"TICKETBOSS_COMPACT_MIN_RECORDS": "5"}
    server = server_factory(data_dir=data_dir, env=env)
    folder = event_dir(data_dir)
    for i in range(40):
        assert reserve(server, f"corrupt-{i}").status_code == 201
        journal_records = (folder / "journal.jsonl").read_bytes().count(b'"op":"reserve"')
        if i >= 11 and (folder / "snapshot.json").exists() and journal_records >= 3:
            break
    assert (folder / "snapshot.json").exists(), "no snapshot was written"
    server.stop()

    line = _damage_middle_line(folder / damaged, b'"reservationId"')
    before = fingerprint(folder)
    refused = server_factory(data_dir=data_dir, env=env, expect_ready=False)
    assert refused.wait_exit(timeout=60) != 0
    log = refused.log()
    path = str(folder / damaged)
    expected = f"{path}:{line}" if damaged == "journal.jsonl" else path
    assert "refuses to start" in log and expected in log, log[-3000:]
    assert fingerprint(folder) == before  # the damaged store was left exactly as found

    report = check_store(data_dir)
    assert report.returncode != 0 and expected in report.stderr, report.stderr
    assert fingerprint(folder) == before
