"""Redis/RQ transport: connections, the queue name, and enqueueing jobs by dotted path.

The database is the source of truth; anything lost here is recovered by the
reconciler. Jobs are named ``{generation_id}-{seq}`` where ``seq`` is the row's
fencing token, carry only ids (JSON serializer), and never user text in their
description. Imports redis and rq; never the worker code itself.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from redis import Redis
from rq import Queue
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

log = logging.getLogger(__name__)

QUEUE_NAME = "veogen"
"""The one queue generations travel through."""

POLL_JOB = "workers.tasks.poll_generation"

RESULT_TTL_SECONDS = 60
"""Finished jobs are kept this long; the database keeps the history."""

FAILURE_TTL_SECONDS = 7 * 24 * 3600
"""Failed jobs are kept a week for operators."""

WORKER_ALIVE_KEY = "veogen:worker-alive:{name}"
"""Set by each worker every few seconds with a short expiry: proof that the process lives."""

WORKER_ALIVE_TTL_SECONDS = 10
"""A worker whose alive key is older than this is taken for dead, in seconds."""

LEADER_KEY = "veogen:scheduler-leader"
"""Redis key of the scheduler's leader lock (held by the one active scheduler)."""

OVERDUE_SECONDS = 30
"""A delayed job this late has lost its scheduler (killed, or its lock not yet expired), in seconds."""

_LIVE = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED}


def connect(url: str) -> Redis:
    """Open a Redis connection (``redis://``, ``rediss://`` or ``unix://``)."""
    return Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)


def job_id(generation_id: str, seq: int) -> str:
    return f"{generation_id}-{seq}"


class JobQueue:
    """Enqueue generation steps and ask whether one is still alive."""

    def __init__(self, connection: Redis, *, job_timeout: int, name: str = QUEUE_NAME) -> None:
        self.connection = connection
        self.queue = Queue(name, connection=connection, serializer=JSONSerializer, default_timeout=job_timeout)

    def enqueue(self, func: str, generation_id: str, seq: int, *, delay: float = 0) -> None:
        """Enqueue ``func(generation_id, seq)``; an existing job with the same id wins."""
        jid = job_id(generation_id, seq)
        options: dict[str, object] = {
            "job_id": jid,
            "unique": True,
            "description": f"{func.rsplit('.', 1)[-1]} {jid}",
            "result_ttl": RESULT_TTL_SECONDS,
            "failure_ttl": FAILURE_TTL_SECONDS,
        }
        try:
            if delay > 0:
                self.queue.enqueue_in(timedelta(seconds=delay), func, generation_id, seq, **options)
            else:
                self.queue.enqueue(func, generation_id, seq, **options)
        except DuplicateJobError:
            log.info("job %s already enqueued", jid)

    def is_live(self, generation_id: str, seq: int) -> bool:
        """Return whether something will run the job for this step, or a live worker is running it.

        A job is live when it waits on the queue's list, is scheduled and not
        overdue, or was started by a worker whose alive key is fresh. A job whose
        status says ``queued`` but that is not on the list is not: a worker took
        it into RQ's intermediate list and died before starting it, and nothing
        but RQ's own maintenance (minutes later) would ever move it.
        """
        jid = job_id(generation_id, seq)
        try:
            job = Job.fetch(jid, connection=self.connection, serializer=JSONSerializer)
        except NoSuchJobError:
            return False
        status = job.get_status(refresh=False)
        if status not in _LIVE:
            return False
        if status == JobStatus.QUEUED:
            return self.connection.lpos(self.queue.key, jid) is not None
        if status == JobStatus.STARTED:
            worker = job.worker_name
            return bool(worker) and bool(self.connection.exists(WORKER_ALIVE_KEY.format(name=worker)))
        if status == JobStatus.SCHEDULED:
            try:
                due = self.queue.scheduled_job_registry.get_scheduled_time(job)
            except NoSuchJobError:
                return False
            return (datetime.now(UTC) - due).total_seconds() < OVERDUE_SECONDS
        return True

    def depth(self) -> int:
        """Jobs waiting in the queue (a plain LLEN, safe from any thread)."""
        return int(self.queue.count)

    def counts(self) -> dict[str, int]:
        """Jobs by state: queued, scheduled, started, failed.

        Registries are read with ``cleanup=False``: a cleanup runs failure
        callbacks under a signal-based timeout, which fails outside the main
        thread (Streamlit pages, the exporter's HTTP thread).
        """
        q = self.queue
        return {
            "queued": int(q.count),
            "scheduled": q.scheduled_job_registry.get_job_count(cleanup=False),
            "started": q.started_job_registry.get_job_count(cleanup=False),
            "failed": q.failed_job_registry.get_job_count(cleanup=False),
        }

    def failed_job_ids(self, limit: int = 50) -> list[str]:
        """The newest failed RQ jobs' ids (without a registry cleanup)."""
        return self.queue.failed_job_registry.get_job_ids(0, limit - 1, desc=True, cleanup=False)

    def workers_alive(self) -> int:
        """Workers whose alive key is fresh."""
        return sum(1 for _ in self.connection.scan_iter(match=WORKER_ALIVE_KEY.format(name="*"), count=500))

    def scheduler_leading(self) -> bool:
        """Whether a scheduler holds the leader lock now."""
        return bool(self.connection.exists(LEADER_KEY))
