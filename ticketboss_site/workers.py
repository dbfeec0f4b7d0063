"""The gunicorn worker class: uvicorn's, with live streams ended when the worker stops.

Why: on SIGTERM uvicorn stops accepting connections and waits for every open
response to finish. A live stream never finishes by itself, so every stop or
reload waited out gunicorn's graceful timeout and then had the worker killed.
This server first asks every stream to end (EventSource clients reconnect to a
worker that is running), then shuts down as usual: requests in flight still
complete.
"""

from __future__ import annotations

import socket
import sys

from gunicorn.arbiter import Arbiter
from uvicorn.server import Server
from uvicorn_worker import UvicornWorker


class StreamClosingServer(Server):
    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        from reservations.live import hub  # the app is loaded by the time a worker stops

        hub.close_all()
        await super().shutdown(sockets=sockets)


class TicketBossWorker(UvicornWorker):
    async def _serve(self) -> None:
        # As UvicornWorker._serve (uvicorn-worker 0.4), with the server class above.
        self.config.app = self.wsgi
        server = StreamClosingServer(config=self.config)
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)
