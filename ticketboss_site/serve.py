"""`python -m ticketboss_site.serve`: the production server that `./scripts/run` starts.

Why granian's WSGI: measured here (bench/, docs/serving.md) it is the fastest way to
run Django + DRF, with every worker busy under keep-alive clients. Requests run on
each worker's pool of Python threads; a live stream holds one of those threads while
it is open, so the pool is sized for `--threads` requests plus
TICKETBOSS_STREAMS_PER_WORKER streams (more streams get 503 and the page polls).

On stop (SIGTERM, SIGINT) each worker first ends its open streams cleanly, then lets
granian finish the requests in flight: without that, granian would wait for streams
that never end by themselves. That hook wraps granian's worker start-up
(`MPServer._spawn_wsgi_worker`, granian pinned in requirements.txt);
tests/system/test_live_stream.py checks it.

A worker that dies (killed, out of memory) is started again; one that exits cleanly
just before the server has taken its own stop signal (Ctrl-C and `kill` of the
process group reach every process at once) is part of that stop, not a crash
(`_StreamEndingServer`); tests/system/test_worker_processes.py checks both.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from granian.server.mp import MPServer, WorkerProcess

from reservations.startup import EXIT_CORRUPT_STORE

APP = "ticketboss_site.wsgi:application"
DEFAULT_THREADS = 8


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    host, port = _split_bind(args.bind)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketboss_site.settings")
    _check_configuration()
    from django.conf import settings

    from ticketboss_site.notices import startup_notices

    for line in startup_notices():
        print(line, flush=True)
    streams = settings.TICKETBOSS_STREAMS_PER_WORKER if settings.TICKETBOSS_STREAMS else 0
    pool = args.threads + streams  # requests and streams share it
    print(
        f"TicketBoss on http://{args.bind} ({settings.TICKETBOSS_STORE} store, "
        f"{settings.TICKETBOSS_AUTH} access): "
        f"{args.workers} workers x {pool} threads shared by requests and "
        f"up to {streams} live streams ({args.threads} always left for requests)",
        flush=True,
    )
    server = _server(host=host, port=port, workers=args.workers, threads=pool)
    server.serve(spawn_target=_spawn_worker_that_ends_streams)
    if server.refused_with:  # a worker found the store corrupt: say so in the exit status
        sys.exit(server.refused_with)


def _check_configuration() -> None:
    """A bad setting stops the start with one line, before any worker starts (not a
    traceback in every worker)."""
    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
        from reservations.services import default_event_id

        default_event_id()
    except (ImproperlyConfigured, RuntimeError, ValueError) as exc:
        raise SystemExit(f"TicketBoss refuses to start: {exc}") from None


class _OneLineParser(argparse.ArgumentParser):
    """A bad flag or TICKETBOSS_WORKERS/THREADS value stops the start with one line, as a
    bad setting does."""

    def error(self, message: str) -> Any:
        self.exit(2, f"TicketBoss refuses to start: {message}; see --help\n")


def _whole_number_from_one(variable: str) -> Callable[[str], int]:
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from 1 up, not {text!r} (the flag or {variable})"
            )
        return value

    return convert


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="python -m ticketboss_site.serve", description=__doc__)
    parser.add_argument(
        "--bind",
        default=os.environ.get("TICKETBOSS_BIND", "127.0.0.1:8000"),
        help="HOST:PORT to listen on (TICKETBOSS_BIND; default 127.0.0.1:8000)",
    )
    parser.add_argument(
        "--workers",
        type=_whole_number_from_one("TICKETBOSS_WORKERS"),
        default=os.environ.get("TICKETBOSS_WORKERS", "2"),  # a string: checked by `type`
        help="worker processes (TICKETBOSS_WORKERS; default 2)",
    )
    parser.add_argument(
        "--threads",
        type=_whole_number_from_one("TICKETBOSS_THREADS"),
        default=os.environ.get("TICKETBOSS_THREADS", str(DEFAULT_THREADS)),
        help="threads per worker beyond the stream cap, always left for requests "
        f"(TICKETBOSS_THREADS; default {DEFAULT_THREADS})",
    )
    return parser


def _split_bind(bind: str) -> tuple[str, int]:
    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit(f"--bind must be HOST:PORT, not {bind!r}")
    return host.strip("[]"), int(port)


def _server(*, host: str, port: int, workers: int, threads: int) -> Any:
    from django.conf import settings
    from granian.constants import Interfaces

    level = settings.TICKETBOSS_LOG_LEVEL.lower()  # read and checked once, in settings
    server = _StreamEndingServer(
        APP,
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=threads,
        backpressure=threads,
        log_level=level,
        log_access=bool(os.environ.get("TICKETBOSS_ACCESS_LOG")),
        respawn_failed_workers=True,
    )
    # Granian warns when a pool exceeds 2 x cores; ours is mostly parked stream threads.
    logging.getLogger("_granian").addFilter(_NotAboutThreadCount())
    return server


class _NotAboutThreadCount(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Python threads" not in record.getMessage()


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
STOP_GRACE_S = 2.0  # how long a clean worker exit waits for the server's own stop signal


class _StreamEndingServer(MPServer):
    """Granian's process server, whose workers' clean exits during a group stop are
    not reported as crashes, and which stops when a worker refuses a corrupt store."""

    refused_with = 0  # a worker's refusal status (EXIT_CORRUPT_STORE), once one refused

    def _spawn_worker(self, idx: int, target: Any, callback_loader: Any) -> WorkerProcess:
        worker = super()._spawn_worker(idx, target, callback_loader)
        worker.__class__ = _GroupStopAwareWorker
        return worker


class _GroupStopAwareWorker(WorkerProcess):
    """Why: a signal to the process group reaches the server and its workers at once.
    A worker may end its streams and exit before the server's main thread has run its
    own handler; granian would then call that exit unexpected and stop with status 1
    (or start a new worker in the middle of the stop). A clean exit (status 0) waits up
    to STOP_GRACE_S for the server's stop; a crash is reported at once (and the worker
    started again). A worker that refused a corrupt store stops the server instead: a
    new one would refuse it too, so the server exits with that status at once."""

    def _watcher(self) -> None:
        self.inner.join()
        status = self.inner.exitcode
        if not self.interrupt_by_parent and status == EXIT_CORRUPT_STORE:
            self.interrupt_by_parent = True
            self.parent.refused_with = status
            self.parent.signal_handler_interrupt()  # the same stop as SIGTERM's
        elif not self.interrupt_by_parent and status == 0:
            self.parent.main_loop_interrupt.wait(STOP_GRACE_S)
            if self.parent.interrupt_signal:
                self.interrupt_by_parent = True
        super()._watcher()


def _spawn_worker_that_ends_streams(*args: Any, **kwargs: Any) -> None:
    """Granian's WSGI worker, with stop signals ending the live streams first.

    Why a thread that waits for the signal: a process signal goes to any thread that
    does not block it, and Python runs its handlers only in the main thread, which here
    sleeps in a lock wait that only the receiving thread's EINTR would break. So the
    stop signals are blocked in every thread (the mask is inherited by the threads the
    server starts later) and one thread takes them with sigwait, then ends the streams
    and tells granian to stop.
    """
    import granian._signals as granian_signals

    from ticketboss_site.malloc_tuning import tune_malloc

    tune_malloc()
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    set_granian_signals = granian_signals.set_sync_signals

    def set_signals() -> Any:
        shutdown_event = set_granian_signals()
        threading.Thread(
            target=_stop_on_signal, args=(shutdown_event,), name="ticketboss-stop", daemon=True
        ).start()
        return shutdown_event

    granian_signals.set_sync_signals = set_signals
    MPServer._spawn_wsgi_worker(*args, **kwargs)


def _stop_on_signal(shutdown_event: Any) -> None:
    signal.sigwait(STOP_SIGNALS)
    from reservations.live import hub

    hub.close_all()
    shutdown_event.set()


if __name__ == "__main__":
    sys.exit(main())
