"""gunicorn worker classes that end live streams when the worker stops.

Why: a live stream never finishes by itself, so on SIGTERM a worker would wait for
every open stream until gunicorn's graceful timeout and then be killed, breaking each
response. These workers first ask every stream to end (EventSource clients reconnect
to a worker that is running), then stop as usual: requests in flight still complete.
`./scripts/run` uses neither (its server, ticketboss_site/serve.py, does the same).
"""

from __future__ import annotations

import socket
import sys
from types import FrameType

from gunicorn.arbiter import Arbiter
from gunicorn.workers.gthread import ThreadWorker


def close_streams() -> None:
    """End this process's open streams, if the app has any."""
    live = sys.modules.get("reservations.live")
    if live is not None:
        live.hub.close_all()


class StreamClosingThreadWorker(ThreadWorker):
    """gthread (the default in gunicorn.conf.py, for ticketboss_site.wsgi:application)."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        close_streams()
        super().handle_exit(sig, frame)

    def handle_quit(self, sig: int, frame: FrameType | None) -> None:
        close_streams()
        super().handle_quit(sig, frame)


try:
    from uvicorn.server import Server
    from uvicorn_worker import UvicornWorker
except ImportError:  # uvicorn is optional: only the ASGI entry point needs it
    pass
else:

    class StreamClosingServer(Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            close_streams()
            await super().shutdown(sockets=sockets)

    class TicketBossWorker(UvicornWorker):
        """uvicorn's worker for ticketboss_site.asgi:application."""

        async def _serve(self) -> None:
            # As UvicornWorker._serve (uvicorn-worker 0.4), with the server class above.
            self.config.app = self.wsgi
            server = StreamClosingServer(config=self.config)
            self._install_sigquit_handler()
            await server.serve(sockets=self.sockets)
            if not server.started:
                sys.exit(Arbiter.WORKER_BOOT_ERROR)
