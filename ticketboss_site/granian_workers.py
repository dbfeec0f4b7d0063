"""How the production server's worker processes start, stop and are replaced.

The server (ticketboss_site/serve.py) is granian's process server with three changes,
each wrapping granian internals (granian pinned in requirements.txt):

- On stop (SIGTERM, SIGINT) each worker first ends its open live streams cleanly, then
  lets granian finish the requests in flight: without that, granian would wait for
  streams that never end by themselves (tests/system/test_live_stream.py).
- A worker that exits cleanly just before the server has taken its own stop signal
  (Ctrl-C and `kill` of the process group reach every process at once) is part of that
  stop, not a crash; a worker that dies (killed, out of memory) is started again
  (tests/system/test_worker_processes.py).
- A worker that refuses a damaged store stops the server with that status, 4, instead
  of being replaced by workers that would refuse it too (test_crash_recovery.py).
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from granian.server.mp import MPServer, WorkerProcess

from reservations.startup import EXIT_CORRUPT_STORE

log = logging.getLogger(__name__)

STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
STOP_GRACE_S = 2.0  # how long a clean worker exit waits for the server's own stop signal


class StreamEndingServer(MPServer):
    """Granian's process server, whose workers' clean exits during a group stop are
    not reported as crashes, and which stops when a worker refuses a corrupt store."""

    refused_with = 0  # a worker's refusal status (EXIT_CORRUPT_STORE), once one refused

    def _spawn_worker(self, idx: int, target: Any, callback_loader: Any) -> WorkerProcess:
        worker = super()._spawn_worker(idx, target, callback_loader)
        # Granian builds the worker from two dozen of its settings; the subclass only
        # overrides how its exit is judged, so the built worker takes the subclass.
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


def spawn_worker_that_ends_streams(*args: Any, **kwargs: Any) -> None:
    """Granian's WSGI worker, with stop signals ending the live streams first.

    Why a thread that waits for the signal: a process signal goes to any thread that
    does not block it, and Python runs its handlers only in the main thread, which here
    sleeps in a lock wait that only the receiving thread's EINTR would break. So the
    stop signals are blocked in every thread (the mask is inherited by the threads the
    server starts later) and one thread takes them with sigwait, then ends the streams,
    has the store announce what it owes other nodes (ReservationStore.before_stop) and
    tells granian to stop.
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
    from reservations.store import before_stop

    hub.close_all()
    try:
        before_stop()  # before granian stops: the process may end with its last request
    except Exception:  # the stop goes on; streams elsewhere catch up at their timeout
        log.exception("announcing this worker's last changes failed")
    shutdown_event.set()
