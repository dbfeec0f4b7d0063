"""gunicorn settings, read when gunicorn starts from the project folder.

`./scripts/run` does not use gunicorn (it runs `python -m ticketboss_site.serve`, the
faster server). This file makes Django's usual entry point work as a Django user
expects: `gunicorn ticketboss_site.wsgi:application` serves everything on gthread
workers. Each open live stream holds one thread there, so streams are capped per
worker (TICKETBOSS_STREAMS_PER_WORKER, default below); more get 503 and pages poll.
The ASGI app needs an ASGI worker: `-k uvicorn_worker.UvicornWorker` (or
`ticketboss_site.workers.TicketBossWorker`, which also ends streams on stop);
without one, gunicorn refuses to start with one line.
"""

import os
import sys

bind = os.environ.get("TICKETBOSS_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("TICKETBOSS_WORKERS", "2"))
worker_class = os.environ.get(
    "TICKETBOSS_WORKER_CLASS", "ticketboss_site.workers.StreamClosingThreadWorker"
)
threads = int(os.environ.get("TICKETBOSS_THREADS", "8")) + 32
graceful_timeout = 5
timeout = 30
keepalive = 5
accesslog = os.environ.get("TICKETBOSS_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("TICKETBOSS_LOG_LEVEL", "warning").lower()
# Streams may use the 32 extra threads; requests always keep the rest.
os.environ.setdefault("TICKETBOSS_STREAMS_PER_WORKER", "32")

_ASGI_WORKERS = ("uvicorn", "TicketBossWorker", "Uvicorn")


def on_starting(server):
    """Refuse an ASGI app on a WSGI worker (it would answer 500 to every request)."""
    app_uri = getattr(server.app, "app_uri", "") or ""
    worker = str(server.cfg.worker_class_str)
    if app_uri.endswith("asgi:application") and not any(name in worker for name in _ASGI_WORKERS):
        sys.stderr.write(
            f"TicketBoss: {app_uri} is an ASGI app; start it with -k uvicorn_worker.UvicornWorker "
            "or serve ticketboss_site.wsgi:application instead.\n"
        )
        sys.exit(2)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketboss_site.settings")
    from ticketboss_site.notices import startup_notices

    for line in startup_notices():
        sys.stderr.write(line + "\n")


def post_fork(server, worker):
    """Each worker keeps its malloc arenas few (see ticketboss_site/malloc_tuning.py)."""
    from ticketboss_site.malloc_tuning import tune_malloc

    tune_malloc()


def worker_exit(server, worker):
    """After a worker's last request: announce what its batches committed but did not yet
    announce (see ReservationStore.before_stop), or streams on other nodes would see it only
    at their own timeout."""
    from reservations.store import before_stop

    try:
        before_stop()
    except Exception:  # the worker exits anyway
        server.log.exception("announcing this worker's last changes failed")
