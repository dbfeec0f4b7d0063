"""Network namespaces for benchmark nodes: each node its own network stack, a link to the host.

Node i gets namespace `tb<pid>-<i>` and a veth pair: 10.231.<i>.1/24 on the host
side, 10.231.<i>.2/24 inside, nothing routed anywhere else. A node's processes
(server, load generator) run from a thread that entered its namespace: children
inherit the namespace of the thread that starts them, so bench.servers.Server and
wrk need no change. Everything is removed on exit, even after a failure. Needs root.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True, slots=True)
class NodeNet:
    name: str  # namespace
    host_address: str  # the host's end of the link: where the node reaches the database
    executor: ThreadPoolExecutor  # one thread, inside the namespace


def _ip(*args: str, namespace: str | None = None) -> None:
    prefix = ["ip", "netns", "exec", namespace] if namespace else []
    subprocess.run([*prefix, "ip", *args], check=True, capture_output=True, text=True)


def _enter(name: str) -> None:
    """Move the calling thread (only it) into namespace `name`."""
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns({name}): {os.strerror(errno)}")
    finally:
        os.close(fd)


@contextlib.contextmanager
def node_namespaces(count: int) -> Iterator[list[NodeNet]]:
    made: list[tuple[str, str]] = []
    nets: list[NodeNet] = []
    try:
        for index in range(1, count + 1):
            name, host_link = f"tb{os.getpid()}-{index}", f"tb{os.getpid() % 100000}v{index}"
            _ip("netns", "add", name)
            made.append((name, host_link))
            _ip("link", "add", host_link, "type", "veth", "peer", "name", "inner0")
            _ip("link", "set", "inner0", "netns", name)
            _ip("addr", "add", f"10.231.{index}.1/24", "dev", host_link)
            _ip("link", "set", host_link, "up")
            _ip("addr", "add", f"10.231.{index}.2/24", "dev", "inner0", namespace=name)
            _ip("link", "set", "inner0", "up", namespace=name)
            _ip("link", "set", "lo", "up", namespace=name)
            executor = ThreadPoolExecutor(1, initializer=_enter, initargs=(name,))
            nets.append(NodeNet(name, f"10.231.{index}.1", executor))
        yield nets
    finally:
        for net in nets:
            net.executor.shutdown(wait=True)
        for name, host_link in made:
            with contextlib.suppress(subprocess.CalledProcessError):
                _ip("link", "del", host_link)
            with contextlib.suppress(subprocess.CalledProcessError):
                _ip("netns", "del", name)
