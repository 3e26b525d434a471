"""The whole lifecycle on PostgreSQL + Redis with workers and the scheduler as real processes."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from core.media import probe_video, sha256_file
from core.models import Event, Generation, LedgerEntry, Video
from core.services import ledger
from core.status import FINAL, Status
from core.studio import Studio
from tests.support import Processes, wait_until
from tests.support import offline_form as form

pytestmark = pytest.mark.integration


def statuses(studio: Studio, ids: list[str]) -> dict[str, str]:
    with studio.sessions() as s:
        return dict(s.execute(select(Generation.id, Generation.status).where(Generation.id.in_(ids))).all())


def all_final(studio: Studio, ids: list[str]) -> bool:
    return all(Status(v) in FINAL for v in statuses(studio, ids).values())


def check_books(studio: Studio, user: int, ids: list[str]) -> None:
    """Every generation succeeded once: its videos, files, events and ledger agree."""
    with studio.sessions() as s:
        for gid in ids:
            g = s.get(Generation, gid)
            assert g.status == "succeeded", (gid, g.status, g.error_message)
            videos = s.execute(select(Video).where(Video.generation_id == gid).order_by(Video.index)).scalars().all()
            assert [v.index for v in videos] == list(range(g.sample_count))
            for v in videos:
                path = studio.store.local_path(v.storage_key)
                assert path is not None and path.exists()
                assert sha256_file(path) == v.sha256
                assert abs(probe_video(path).duration_seconds - g.duration_seconds) < 0.05
            kinds = sorted(s.execute(select(LedgerEntry.kind).where(LedgerEntry.generation_id == gid)).scalars())
            assert kinds == ["reserve", "settle"]
            assert ledger.generation_balance(session=s, generation_id=gid) == g.cost_usd
            to_statuses = (
                s.execute(
                    select(Event.to_status).where(Event.generation_id == gid, Event.kind == "status").order_by(Event.id)
                )
                .scalars()
                .all()
            )
            # Each status is entered once: no step ran to completion twice.
            assert to_statuses.count("running") == 1 and to_statuses.count("succeeded") == 1
            assert to_statuses[-1] == "succeeded"


def test_generations_flow_through_real_workers(studio: Studio, processes: Processes):
    user = studio.accounts.add_user("carol", "a long enough password").id
    ids = [
        studio.generations.submit(user, form(f"clip {i}", sample_count=1 + i % 2)).__getitem__(0).id for i in range(4)
    ]
    processes.worker()
    processes.worker()
    processes.scheduler()
    assert wait_until(lambda: all_final(studio, ids), timeout=90), statuses(studio, ids)
    check_books(studio, user, ids)
    timeline = studio.generations.timeline(user, ids[0])
    assert [e.to_status for e in timeline if e.kind == "status"] == [
        "queued",
        "submitting",
        "running",
        "fetching",
        "processing",
        "succeeded",
    ]


def test_sigkilled_workers_lose_nothing_and_pay_nothing_twice(studio: Studio, processes: Processes):
    """Workers are SIGKILLed over and over mid-job; every generation still ends once, books balanced."""
    user = studio.accounts.add_user("dave", "a long enough password").id
    ids = [
        studio.generations.submit(
            user, form(f"storm {i}", duration_seconds=4, resolution="360p", sample_count=1 + i % 2)
        )[0].id
        for i in range(10)
    ]
    workers = [processes.worker(), processes.worker()]
    processes.scheduler()
    rng = random.Random(7)
    kills = 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all_final(studio, ids):
        time.sleep(rng.uniform(0.6, 1.6))
        victim = rng.randrange(len(workers))
        workers[victim].kill()
        workers[victim].wait()
        kills += 1
        workers[victim] = processes.worker()
    assert kills >= 5
    assert wait_until(lambda: all_final(studio, ids), timeout=150, interval=0.5), statuses(studio, ids)
    check_books(studio, user, ids)
    with studio.sessions() as s:
        assert s.execute(select(func.sum(LedgerEntry.amount_usd)).where(LedgerEntry.user_id == user)).scalar() == 0


def test_a_flushed_redis_is_recovered_from_the_database(studio: Studio, processes: Processes):
    user = studio.accounts.add_user("erin", "a long enough password").id
    ids = [studio.generations.submit(user, form(f"lost {i}"))[0].id for i in range(5)]
    processes.scheduler()  # admits them; their first polls wait in Redis for a worker
    assert wait_until(lambda: set(statuses(studio, ids).values()) == {"running"}, timeout=30), statuses(studio, ids)
    studio.redis.flushdb()  # every scheduled poll is gone
    processes.worker()
    assert wait_until(lambda: all_final(studio, ids), timeout=90), statuses(studio, ids)
    check_books(studio, user, ids)
    with studio.sessions() as s:
        reconciled = s.execute(
            select(func.count(func.distinct(Event.generation_id))).where(Event.kind == "reconcile")
        ).scalar_one()
    assert reconciled == 5


def test_concurrent_double_submits_make_one_generation(studio: Studio):
    user = studio.accounts.add_user("frank", "a long enough password").id
    same = form("double click")
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: studio.generations.submit(user, same), range(16)))
    assert len({view.id for view, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    with studio.sessions() as s:
        assert s.execute(select(func.count()).select_from(Generation)).scalar_one() == 1
        assert s.execute(select(func.count()).select_from(LedgerEntry)).scalar_one() == 1
    assert studio.queue.depth() == 0  # nothing is enqueued at submit: admission takes it from the database
