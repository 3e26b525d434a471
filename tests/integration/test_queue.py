"""core.queue against a real Redis and real RQ: what counts as a live job."""

from __future__ import annotations

import pytest
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from sqlalchemy import select

from core.models import Generation
from core.queue import POLL_JOB, job_id
from core.studio import Studio
from tests.integration.test_lifecycle import all_final, check_books, statuses
from tests.support import Processes, wait_until
from tests.support import offline_form as form

pytestmark = pytest.mark.integration


def take_like_a_dying_worker(studio: Studio, jid: str) -> None:
    """Do what RQ's dequeue does (LMOVE into the intermediate list), then nothing: the worker was killed."""
    queue = studio.queue.queue
    studio.redis.lrem(queue.key, 0, jid)
    studio.redis.rpush(queue.intermediate_queue_key, jid)


def test_a_job_waiting_on_the_queue_is_live_and_one_taken_by_a_dead_worker_is_not(studio: Studio):
    studio.queue.enqueue(POLL_JOB, "a" * 32, 1)
    assert studio.queue.is_live("a" * 32, 1)
    take_like_a_dying_worker(studio, job_id("a" * 32, 1))
    job = Job.fetch(job_id("a" * 32, 1), connection=studio.redis, serializer=JSONSerializer)
    assert job.get_status() == JobStatus.QUEUED  # RQ still calls it queued ...
    assert not studio.queue.is_live("a" * 32, 1)  # ... but nothing will ever run it


def test_polls_lost_between_dequeue_and_start_are_recovered_within_the_stale_window(
    studio: Studio, processes: Processes
):
    user = studio.accounts.add_user("ines", "a long enough password").id
    ids = [studio.generations.submit(user, form(f"taken {i}"))[0].id for i in range(3)]
    processes.scheduler()  # admits them; their polls become due on the queue with no worker to take them
    queue = studio.queue.queue
    assert wait_until(lambda: set(statuses(studio, ids).values()) == {"running"}, timeout=30), statuses(studio, ids)
    with studio.sessions() as s:
        expected = {job_id(gid, seq) for gid, seq in s.execute(select(Generation.id, Generation.job_seq))}
    assert wait_until(lambda: expected <= set(queue.get_job_ids()), timeout=30), queue.get_job_ids()
    for jid in expected:
        take_like_a_dying_worker(studio, jid)
    processes.worker()
    # RQ's own maintenance would fail these after about ten minutes; the reconciler needs
    # the stale window (2 s here) plus a reconcile interval.
    assert wait_until(lambda: all_final(studio, ids), timeout=45), statuses(studio, ids)
    check_books(studio, user, ids)
