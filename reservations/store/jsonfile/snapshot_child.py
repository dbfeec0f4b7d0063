"""A big event's snapshot written by a forked child process, as Redis's BGSAVE does.

Why a child, not a thread: encoding a snapshot is pure Python. In a thread of the worker it
holds the GIL, and each request thread of that worker then waits up to the switch interval
(5 ms) every time it wants the GIL back, many times a request: at 300,000 reservations,
either one 650 ms stall of every writer, or, yielding every 256 rows, a third to a half of
the worker's throughput for over 6 s (`python -m bench.compaction`). A forked child gets
the image for free (its memory is the parent's, copied only where written) and has a GIL
and a core's share of its own.

Linux only, like the rest of the store (flock, fdatasync).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from reservations.store.jsonfile.snapshot import SnapshotImage, write_snapshot_image


def write_snapshot_in_child(path: Path, image: SnapshotImage, *, keep_fds: Iterable[int]) -> None:
    """Write `image` to `path` (atomically, durably) in a child; return once it is written,
    or raise OSError when the child could not write it.

    The child closes every descriptor it inherited except stdin/out/err and `keep_fds` (a
    client's socket it held would keep that connection from closing, and the compaction
    guard must stay held until it ends), writes, and leaves with os._exit: the parent's
    other threads do not exist in it and their locks were copied in any state, so it runs
    nothing of theirs (no logging, no cleanup).
    """
    kept = sorted(fd for fd in keep_fds if fd > 2)
    pid = os.fork()
    if pid == 0:  # the child
        status = 1
        try:
            _close_all_but(kept)
            write_snapshot_image(path, image)
            status = 0
        except BaseException as exc:
            os.write(2, f"ticketboss: writing {path} failed: {exc!r}\n".encode())
        finally:
            os._exit(status)
    _pid, wait_status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(wait_status)
    if code != 0:
        raise OSError(f"the process writing {path} ended with status {code}")


def _close_all_but(kept: list[int]) -> None:
    low = 3
    for fd in kept:
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))
