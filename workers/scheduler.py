"""Scheduler entry (``veogen scheduler``), one per deployment. Every second it moves
due delayed jobs onto the queue and runs admission (the only place paid
submissions happen); every few seconds it reconciles the database with the queue.

It acts only while it holds RQ's scheduler lock, so a second scheduler started
by mistake stands by instead of submitting too. Runs in the main thread of its
own process, so RQ's registry cleanup (which uses signals) is safe here.
"""

from __future__ import annotations

import logging
import signal
import time
from types import FrameType

from rq.registry import StartedJobRegistry
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer

from core.config import get_settings
from core.studio import build_studio

log = logging.getLogger("veogen.scheduler")


def main(max_seconds: float | None = None) -> None:
    """Run until SIGTERM/SIGINT (or for ``max_seconds``)."""
    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    studio = build_studio(settings)
    queue = studio.queue
    scheduling = studio.scheduling
    scheduler = RQScheduler([queue.queue], connection=queue.connection, serializer=JSONSerializer)
    stopping = False

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    scheduler.register_birth()
    started = time.monotonic()
    next_reconcile = 0.0
    try:
        while not stopping and (max_seconds is None or time.monotonic() - started < max_seconds):
            try:
                if scheduler.should_reacquire_locks:
                    scheduler.acquire_locks()
                scheduler.heartbeat()
                if scheduler.acquired_locks:
                    scheduler.enqueue_scheduled_jobs()
                    scheduling.admit()
                    if time.monotonic() >= next_reconcile:
                        StartedJobRegistry(queue=queue.queue).cleanup()
                        scheduling.reconcile()
                        next_reconcile = time.monotonic() + settings.reconcile_interval_seconds
            except Exception:  # a Redis or database hiccup must not stop the scheduler
                log.exception("scheduler tick failed; trying again")
            time.sleep(1)
    finally:
        scheduler.stop()


if __name__ == "__main__":
    main()
