"""Scheduler entry (``veogen scheduler``), one active per deployment. Every second it
moves due delayed jobs (the next polls) onto the queue, lets go the films' takes
whose previous shot has finished (``Movies.link_waiting``) and runs admission, the
only place paid submissions happen; every few seconds it reconciles the
database with the queue; every few minutes it rolls up finished days for the
Analytics page and reads Google's state of the project webhook (each in a
thread, so nothing else waits).

It acts only while it holds a short-lived leader lock in Redis, so a second
scheduler started by mistake (or on another host) stands by, and takes over
within ``LEADER_TTL_SECONDS`` when the first one dies. Runs in the main thread of
its own process, so RQ's registry cleanup (which uses signals) is safe here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType

from redis.exceptions import LockError
from redis.lock import Lock
from rq.job import Job
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer
from rq.utils import current_timestamp

from core import metrics
from core.config import settings_or_exit
from core.logs import configure_logging
from core.queue import LEADER_KEY, JobQueue
from core.studio import build_studio

log = logging.getLogger("veogen.scheduler")

LEADER_TTL_SECONDS = 10
"""A leader that stops refreshing its lock for this long is replaced, in seconds."""

SEAL_INTERVAL_SECONDS = 300
"""How often the leader rolls up finished days for the Analytics page, in seconds."""


class Sealer:
    """Rolls up finished days for analytics in a thread of its own, so no page load waits for it.

    The first pass after an upgrade can take tens of seconds on a long history;
    admission and polls must not stop meanwhile. Passes never overlap, and
    concurrent seals (a page load at the same moment) take turns in the database.
    """

    def __init__(self, seal: Callable[[], None]) -> None:
        self.seal = seal
        self.thread: threading.Thread | None = None
        self.next_at = 0.0

    def maybe_start(self) -> None:
        if time.monotonic() < self.next_at or (self.thread is not None and self.thread.is_alive()):
            return
        self.next_at = time.monotonic() + SEAL_INTERVAL_SECONDS
        self.thread = threading.Thread(target=self._run, name="analytics-seal", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.seal()
        except Exception:  # the next pass tries again; the page seals on its own too
            log.exception("rolling up analytics failed")


class Periodic:
    """Runs one call to Google every ``interval_seconds`` in a thread (at once on the first tick).

    Used for Google's state of the project webhook (VEOGEN_WEBHOOK_STATUS_INTERVAL_SECONDS)
    and the live model lists (VEOGEN_MODELS_REFRESH_HOURS). A slow or failing answer
    never holds up admission or due polls, and never stops the scheduler: errors are
    logged; webhooks then stop counting as healthy once the last good answer is old
    (polling speeds up again), and a model list keeps its last reading until it expires.
    """

    def __init__(self, name: str, check: Callable[[], object], interval_seconds: float) -> None:
        self.name = name
        self.check = check
        self.interval_seconds = interval_seconds
        self.thread: threading.Thread | None = None
        self.next_at = 0.0

    def maybe_start(self) -> None:
        if time.monotonic() < self.next_at or (self.thread is not None and self.thread.is_alive()):
            return
        self.next_at = time.monotonic() + self.interval_seconds
        self.thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.check()
        except Exception:
            log.exception("%s failed", self.name)


def move_due_jobs(queue: JobQueue) -> int:
    """Move delayed jobs whose time has come from the scheduled registry onto the queue."""
    registry = queue.queue.scheduled_job_registry
    ids = registry.get_jobs_to_schedule(current_timestamp())
    moved = 0
    for job_id, job in zip(
        ids, Job.fetch_many(ids, connection=queue.connection, serializer=JSONSerializer), strict=True
    ):
        if job is not None:
            queue.queue.enqueue_job(job)
            moved += 1
        registry.remove(job_id)
    return moved


class Leadership:
    """A Redis lock held while this process is the active scheduler."""

    def __init__(self, queue: JobQueue) -> None:
        self.lock = Lock(queue.connection, LEADER_KEY, timeout=LEADER_TTL_SECONDS, thread_local=False)
        self.name = f"{socket.gethostname()}-{os.getpid()}"
        self.held = False

    def refresh(self) -> bool:
        """Keep or try to take the lock; return whether this process leads now."""
        try:
            if self.held:
                self.lock.reacquire()
            else:
                self.held = bool(self.lock.acquire(blocking=False, token=self.name))
                if self.held:
                    log.info("scheduler %s is the leader", self.name)
        except LockError:
            log.warning("scheduler %s lost the leader lock", self.name)
            self.held = False
        return self.held

    def release(self) -> None:
        if self.held:
            with contextlib.suppress(LockError):
                self.lock.release()
            self.held = False


def main(max_seconds: float | None = None) -> None:
    """Run until SIGTERM/SIGINT (or for ``max_seconds``)."""
    settings = settings_or_exit()
    configure_logging(level=settings.log_level, fmt=settings.log_format, process="scheduler")
    metrics.serve(settings.metrics_host, [settings.scheduler_metrics_port])
    studio = build_studio(settings)
    queue = studio.queue
    leader = Leadership(queue)
    sealer = Sealer(studio.analytics.seal)
    webhook_check = Periodic("webhook-status", studio.webhooks.status, settings.webhook_status_interval_seconds)
    model_lists = Periodic("model-lists", studio.providers.refresh_models, settings.models_refresh_hours * 3600)
    stopping = False

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    started = time.monotonic()
    next_reconcile = 0.0
    try:
        while not stopping and (max_seconds is None or time.monotonic() - started < max_seconds):
            try:
                if leader.refresh():
                    move_due_jobs(queue)

                    def between() -> bool:
                        # A long admission pass keeps the lock and lets due polls out meanwhile.
                        move_due_jobs(queue)
                        return leader.refresh()

                    studio.movies.link_waiting()  # films' takes whose previous shot has finished may go now
                    studio.admission.admit(between=between)
                    sealer.maybe_start()
                    webhook_check.maybe_start()
                    model_lists.maybe_start()
                    if time.monotonic() >= next_reconcile:
                        StartedJobRegistry(queue=queue.queue).cleanup()
                        studio.reconciler.reconcile()
                        studio.outgoing.sweep()  # outgoing webhook deliveries whose job was lost
                        next_reconcile = time.monotonic() + settings.reconcile_interval_seconds
            except Exception:  # a Redis or database hiccup must not stop the scheduler
                log.exception("scheduler tick failed; trying again")
            time.sleep(1)
    finally:
        leader.release()


if __name__ == "__main__":
    main()
