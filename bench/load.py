"""The load generator: wrk (Debian's), with a Lua script for bodies and a JSON report.

Clients keep their connections alive, as HTTP client pools and proxies do; `close=True`
sends `Connection: close` on every request instead (a new connection each time), for
reference. `mix="cancel"` alternates on each wrk thread: a POST, then a DELETE of the
id that POST answered with (reserve then cancel, the cancel path under load);
`mix="confirm"` a POST of a hold, then the confirm of the id it answered with.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CONNECTIONS = 16
THREADS = 2

_SCRIPT = """
wrk.method = %(method)s
wrk.body = %(body)s
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
%(headers)s
%(mix)s
%(report)s"""

# Every script ends with this: wrk's summary as one JSON line that run_wrk_script reads.
REPORT_LUA = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH-JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "errors": %d, "non2xx": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect + e.read + e.write + e.timeout, e.status))
end
"""

_CANCEL_MIX = """
local ids = {}
request = function()
  local id = table.remove(ids)
  if id then
    return wrk.format("DELETE", wrk.path .. "/" .. id, nil, "")
  end
  return wrk.format("POST", wrk.path, nil, wrk.body)
end
response = function(status, headers, body)
  if status == 201 then
    local id = string.match(body, '"reservationId":"([^"]+)"')
    if id then table.insert(ids, id) end
  end
end
"""


_CONFIRM_MIX = _CANCEL_MIX.replace(
    'wrk.format("DELETE", wrk.path .. "/" .. id, nil, "")',
    'wrk.format("POST", "/reservations/" .. id .. "/confirm", nil, "")',
)
_MIXES = {"cancel": _CANCEL_MIX, "confirm": _CONFIRM_MIX}


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors and timeouts
    non2xx: int
    max_ms: float | None = None  # the slowest answer; None where results were merged


def ensure_wrk() -> str:
    """Path of wrk; installs Debian's package when missing and running as root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("wrk is missing: install it (`apt-get install wrk`) and run again.")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk could not be installed.")
    return found


def run_wrk(
    url: str,
    *,
    method: str,
    body: str = "",
    duration_s: float,
    close: bool = False,
    headers: dict[str, str] | None = None,
    mix: str | None = None,
    connections: int = CONNECTIONS,
) -> LoadResult:
    """Drive `url` with `connections` connections (kept alive unless `close`) for `duration_s`."""
    header_lines = dict(headers or {})
    if close:
        header_lines["Connection"] = "close"
    script = _SCRIPT % {
        "method": json.dumps(method),
        "body": json.dumps(body),
        "headers": "\n".join(
            f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}"
            for name, value in header_lines.items()
        ),
        "mix": _MIXES[mix] if mix else "",
        "report": REPORT_LUA,
    }
    return run_wrk_script(url, script, duration_s=duration_s, connections=connections)


def run_wrk_script(
    url: str, script: str, *, duration_s: float, connections: int = CONNECTIONS
) -> LoadResult:
    """Run wrk with a Lua `script` (ending in REPORT_LUA) and read its report."""
    with tempfile.TemporaryDirectory() as folder:
        script_path = Path(folder) / "bench.lua"
        script_path.write_text(script)
        completed = subprocess.run(
            [
                ensure_wrk(),
                f"-t{THREADS}",
                f"-c{connections}",
                f"-d{duration_s}s",
                "--timeout",
                "10s",
                "-s",
                str(script_path),
                url,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH-JSON "):
            data = json.loads(line.removeprefix("BENCH-JSON "))
            return LoadResult(
                requests=data["requests"],
                requests_per_s=data["requests"] / (data["duration_us"] / 1e6),
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                errors=data["errors"],
                non2xx=data["non2xx"],
                max_ms=data["max_us"] / 1000,
            )
    raise RuntimeError(f"wrk gave no report:\n{completed.stdout}\n{completed.stderr}")
