"""Production server settings (gunicorn reads this file from the working folder).

The ASGI app under uvicorn workers: API requests run Django's sync views in
threads, and live streams (Server-Sent Events) are cheap coroutines, so open
streams never take a worker away from reservations. Every setting can be
overridden on the command line or by environment.
"""

import os

bind = os.environ.get("TICKETBOSS_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("TICKETBOSS_WORKERS", "2"))
worker_class = os.environ.get("TICKETBOSS_WORKER_CLASS", "ticketboss_site.workers.TicketBossWorker")
graceful_timeout = 5
timeout = 30
keepalive = 5
accesslog = os.environ.get("TICKETBOSS_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("TICKETBOSS_LOG_LEVEL", "warning").lower()


def post_fork(server, worker):
    """Each worker keeps its malloc arenas few (see ticketboss_site/malloc_tuning.py)."""
    from ticketboss_site.malloc_tuning import tune_malloc

    tune_malloc()
