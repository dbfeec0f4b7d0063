"""`python -m ticketboss_site.serve`: the production server that `./scripts/run` starts.

Why granian's WSGI: measured here (bench/, docs/serving.md) it is the fastest way to
run Django + DRF, with every worker busy under keep-alive clients. Requests run on
each worker's pool of Python threads; a live stream holds one of those threads while
it is open, so the pool is sized for `--threads` requests plus
TICKETBOSS_STREAMS_PER_WORKER streams (more streams get 503 and the page polls).

How its worker processes start, stop and are replaced (streams ended cleanly on stop,
a dead worker started again): ticketboss_site/granian_workers.py.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from ticketboss_site.granian_workers import StreamEndingServer, spawn_worker_that_ends_streams
from ticketboss_site.numbers import checked_number

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
    server.serve(spawn_target=spawn_worker_that_ends_streams)
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
            return int(checked_number(text, minimum=1))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{exc} (the flag or {variable})") from None

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
    server = StreamEndingServer(
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


if __name__ == "__main__":
    sys.exit(main())
