"""glibc malloc settings for long-running worker processes.

Why: soak runs showed a worker's memory growing by more than its data during
its first thousands of writes. Django's ASGI adapter runs each request in a
thread, and glibc gives threads their own malloc arenas (up to 8 per core),
each keeping the high-water mark of what it once held; its mmap threshold also
rises after the first big free, so later big transient buffers (journal reads,
snapshot chunks, dict resizes) land in those arenas instead of being handed
back to the system. Two arenas and a fixed 128 KiB threshold keep that growth
to the data. A variable set in the environment (MALLOC_ARENA_MAX,
MALLOC_MMAP_THRESHOLD_) wins; where libc is not glibc nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

# From glibc's <malloc.h>.
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

ARENAS = 2
MMAP_THRESHOLD_BYTES = 128 * 1024


def tune_malloc() -> bool:
    """Apply the settings above to this process; False when this libc has no mallopt."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        return False
    applied = True
    if "MALLOC_ARENA_MAX" not in os.environ:
        applied &= mallopt(M_ARENA_MAX, ARENAS) == 1
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        applied &= mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
    return applied
