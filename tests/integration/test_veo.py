"""Veo through the real google-genai client against the local stand-in, on PostgreSQL + Redis
with workers and the scheduler as real processes: every paid second accounted for."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from core.config import Settings
from core.errors import BudgetError
from core.models import Generation, LedgerEntry, User
from core.services import ledger
from core.status import FINAL, Status
from core.studio import Studio
from standin import VeoStandIn
from tests.support import REDIS_URL, Processes, fifty_concurrent_submits, make_settings, veo_form, wait_until
from tests.support import VEO_PRICE as PRICE

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(tmp_path: Path, pg_url: str, standin: VeoStandIn) -> Settings:
    return make_settings(
        tmp_path,
        database_url=pg_url,
        redis_url=REDIS_URL,
        gemini_api_key="test-key",
        veo_base_url=standin.url,
        max_concurrent_operations=50,
        submits_per_minute=1000,
        user_max_concurrent=50,
    )


def statuses(studio: Studio, ids: list[str]) -> dict[str, str]:
    with studio.sessions() as s:
        return dict(s.execute(select(Generation.id, Generation.status).where(Generation.id.in_(ids))).all())


def all_final(studio: Studio, ids: list[str]) -> bool:
    return all(Status(v) in FINAL for v in statuses(studio, ids).values())


def test_killed_workers_and_a_flushed_redis_never_lose_or_double_pay(
    studio: Studio, standin: VeoStandIn, processes: Processes
):
    """N generations while workers are SIGKILLed over and over and Redis is flushed once:
    all end final, the stand-in saw exactly N submissions, and the ledger balances."""
    standin.configure(latency_seconds=1.5, polls_before_done=1)
    user = studio.accounts.add_user("gina", "a long enough password").id
    n = 12
    ids = [studio.generations.submit(user, veo_form(f"kill test {i}: a kite over the dunes"))[0].id for i in range(n)]
    workers = [processes.worker(), processes.worker()]
    processes.scheduler()
    rng = random.Random(11)
    kills, flushed = 0, False
    started = time.monotonic()
    while time.monotonic() - started < 25 and not all_final(studio, ids):
        time.sleep(rng.uniform(0.5, 1.5))
        victim = rng.randrange(len(workers))
        workers[victim].kill()
        workers[victim].wait()
        kills += 1
        workers[victim] = processes.worker()
        if not flushed and time.monotonic() - started > 5:
            studio.redis.flushdb()  # scheduled polls, queued jobs, alive keys: all gone
            flushed = True
    assert kills >= 5
    assert wait_until(lambda: all_final(studio, ids), timeout=180, interval=0.5), statuses(studio, ids)

    stats = standin.stats()
    assert stats.submissions == n
    assert all(count == 1 for count in stats.submissions_per_prompt.values())
    with studio.sessions() as s:
        for gid in ids:
            g = s.get(Generation, gid)
            assert g.status == "succeeded", (gid, g.error_message)
            assert g.cost_usd == PRICE
            kinds = sorted(s.execute(select(LedgerEntry.kind).where(LedgerEntry.generation_id == gid)).scalars())
            assert kinds == ["reserve", "settle"]
            assert ledger.generation_balance(session=s, generation_id=gid) == PRICE
        assert ledger.committed_usd(session=s, user_id=user) == PRICE * n


def test_a_scheduler_killed_while_submitting_never_submits_again(
    studio: Studio, standin: VeoStandIn, processes: Processes
):
    """The one window no design closes: Veo accepted, the answer never reached us. We never resend;
    the generation fails with a plain message and its price stays reserved for review."""
    standin.configure(submit_answer_delay_seconds=30)
    user = studio.accounts.add_user("hank", "a long enough password").id
    gid = studio.generations.submit(user, veo_form("a lighthouse keeper waves"))[0].id
    scheduler = processes.scheduler()
    assert wait_until(lambda: standin.stats().submissions == 1, timeout=20)
    scheduler.kill()
    scheduler.wait()
    standin.configure(submit_answer_delay_seconds=0)
    processes.scheduler()  # takes over once the dead leader's lock expires
    processes.worker()
    assert wait_until(lambda: all_final(studio, [gid]), timeout=60), statuses(studio, [gid])
    g = studio.generations.get_generation(user, gid)
    assert g.status is Status.FAILED
    assert "not sent again" in (g.error_message or "")
    time.sleep(2)
    assert standin.stats().submissions == 1
    with studio.sessions() as s:
        assert ledger.generation_balance(session=s, generation_id=gid) == PRICE  # held until reviewed


def test_concurrent_submits_never_overspend_a_budget(studio: Studio):
    user = studio.accounts.add_user("ivy", "a long enough password").id
    with studio.engine.begin() as conn:
        conn.execute(update(User).where(User.id == user).values(monthly_budget_usd=Decimal("2.00")))

    def attempt(i: int) -> str:
        try:
            studio.generations.submit(user, veo_form(f"race {i}"))
        except BudgetError:
            return "refused"
        return "created"

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(attempt, range(40)))
    assert results.count("created") == 5  # $2.00 / $0.40
    with studio.sessions() as s:
        reserved = s.execute(select(func.sum(LedgerEntry.amount_usd)).where(LedgerEntry.user_id == user)).scalar()
        assert reserved == Decimal("2.00")
        assert s.execute(select(func.count()).select_from(Generation)).scalar_one() == 5


def test_concurrent_submits_never_pass_the_open_generation_cap(studio: Studio):
    user = studio.accounts.add_user("jack", "a long enough password").id
    with studio.engine.begin() as conn:
        conn.execute(update(User).where(User.id == user).values(max_open_generations=3))

    def attempt(i: int) -> bool:
        try:
            studio.generations.submit(user, veo_form(f"cap {i}"))
        except BudgetError:
            return False
        return True

    with ThreadPoolExecutor(max_workers=12) as pool:
        assert sum(pool.map(attempt, range(30))) == 3


def test_safety_filtered_generations_show_googles_reasons_and_cost_nothing(
    studio: Studio, standin: VeoStandIn, processes: Processes
):
    user = studio.accounts.add_user("kim", "a long enough password").id
    gid = studio.generations.submit(user, veo_form("[[rai]] something the filter stops"))[0].id
    processes.scheduler()
    processes.worker()
    assert wait_until(lambda: all_final(studio, [gid]), timeout=60)
    g = studio.generations.get_generation(user, gid)
    assert g.status is Status.FILTERED
    assert any("safety" in reason for reason in g.safety_reasons)
    assert g.cost_usd == 0
    with studio.sessions() as s:
        assert ledger.generation_balance(session=s, generation_id=gid) == 0


def test_fifty_concurrent_submits_in_one_process_are_all_answered(studio: Studio):
    """The web process with many users at once: no pool deadlock, the same money outcome (PostgreSQL)."""
    fifty_concurrent_submits(studio, veo_form, PRICE)
