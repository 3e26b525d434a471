"""Operator views and actions on SQLite + fakeredis: exact health numbers, cancel and retry through
the owner's path (ledger right, nothing submitted twice), admins only."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from core.errors import NotFoundError, PermissionDeniedError, ValidationError
from core.models import Event, Generation, LedgerEntry, utcnow
from core.services import health, ledger
from core.status import Status
from core.studio import Studio
from tests.support import offline_form


@pytest.fixture
def admin(studio: Studio) -> int:
    return studio.accounts.add_user("root", "an admin password here", role="admin").id


def run_to_end(studio: Studio, gid: str) -> None:
    studio.pipeline.start(gid, 0)
    with studio.sessions() as s:
        seq = s.get(Generation, gid).job_seq  # type: ignore[union-attr]
    studio.pipeline.poll(gid, seq)


def backdate(studio: Studio, gid: str, seconds: float, *columns: str) -> None:
    then = utcnow() - timedelta(seconds=seconds)
    with studio.engine.begin() as conn:
        conn.execute(update(Generation).where(Generation.id == gid).values(**dict.fromkeys(columns, then)))


def paid_history(studio: Studio, user: int, *, settled: str, open_price: str) -> None:
    """Two Veo-priced rows straight through the ledger: one settled at its price, one still reserved."""
    with studio.sessions.begin() as s:
        for price, settle in ((Decimal(settled), True), (Decimal(open_price), False)):
            row = Generation(
                user_id=user,
                provider="veo",
                model="veo-3.1-fast-generate-001",
                prompt="a paid one",
                duration_seconds=8,
                aspect_ratio="16:9",
                resolution="720p",
                idempotency_key=uuid.uuid4().hex,
                price_usd=price,
                status=Status.SUCCEEDED.value if settle else Status.RUNNING.value,
                submitted_at=utcnow(),
                finished_at=utcnow() if settle else None,
            )
            s.add(row)
            s.flush()
            ledger.reserve(session=s, generation=row)
            if settle:
                ledger.settle(session=s, generation=row, cost=price)


def test_health_gives_exact_counts_ages_and_money(studio: Studio, alice: int, bob: int, admin: int):
    done = studio.generations.submit(alice, offline_form("done"))[0].id
    run_to_end(studio, done)
    waiting = studio.generations.submit(alice, offline_form("waiting"))[0].id
    backdate(studio, waiting, 120, "created_at")
    running = studio.generations.submit(bob, offline_form("running"))[0].id
    studio.pipeline.start(running, 0)
    backdate(studio, running, studio.settings.stuck_after_seconds + 30, "submitted_at", "updated_at")
    failed = studio.generations.submit(bob, offline_form("failed"))[0].id
    studio.pipeline.fail(failed, None, "refused", code="INVALID_ARGUMENT")
    paid_history(studio, alice, settled="0.80", open_price="0.40")
    studio.accounts.set_limits(admin, alice, monthly_budget_usd=Decimal("1.00"), max_open_generations=None)

    with studio.sessions() as s:
        h = health.measure(
            session=s, now=utcnow(), stuck_after_seconds=studio.settings.stuck_after_seconds, limits=studio.limits
        )

    assert h.by_status["succeeded"] == 2 and h.by_status["queued"] == 1 and h.by_status["failed"] == 1
    assert h.by_status["running"] == 2 and h.by_status["canceled"] == 0
    assert h.in_flight == {"offline": 1, "veo": 1}
    assert h.oldest_in_flight_seconds["offline"] >= studio.settings.stuck_after_seconds + 30
    assert 119 <= h.oldest_queued_seconds < 180
    assert h.stuck == 1
    assert h.finished_last_hour == {"succeeded": 2, "failed": 1, "filtered": 0, "canceled": 0}
    assert h.errors_last_hour == {"INVALID_ARGUMENT": 1}
    assert h.spend_today_usd == Decimal("0.80")
    assert h.reserved_usd == Decimal("0.40")
    assert h.spend_month_usd == Decimal("1.20")
    assert h.budget_month_usd == Decimal("1.00") + 2 * studio.limits.default_monthly_budget_usd
    assert h.budget_max_used_ratio == pytest.approx(1.2)
    assert h.users_over == {"0.8": 1, "1": 1}


def test_snapshot_finds_a_running_generation_that_lost_its_job(studio: Studio, alice: int, admin: int):
    gid = studio.generations.submit(alice, offline_form())[0].id
    studio.pipeline.start(gid, 0)
    studio.redis.flushdb()  # the poll job is gone, as after a flushed Redis
    backdate(studio, gid, studio.settings.stale_after_seconds + 5, "updated_at")
    snap = studio.queue_admin.snapshot(admin)
    assert [r.id for r in snap.stuck] == [gid] and snap.no_live_job == {gid}
    assert snap.jobs == {"queued": 0, "scheduled": 0, "started": 0, "failed": 0}
    assert snap.workers_alive == 0 and snap.scheduler_leading is False
    assert [r.username for r in snap.unfinished] == ["alice"]


def test_only_admins_see_the_queue_or_act_on_it(studio: Studio, alice: int, bob: int):
    gid = studio.generations.submit(alice, offline_form())[0].id
    for call in (
        lambda: studio.queue_admin.snapshot(bob),
        lambda: studio.queue_admin.cancel(bob, gid),
        lambda: studio.queue_admin.retry(bob, gid),
    ):
        with pytest.raises(PermissionDeniedError):
            call()
    assert studio.generations.get_generation(alice, gid).status is Status.QUEUED


def test_an_admin_cancel_is_the_owners_cancel(studio: Studio, alice: int, admin: int):
    gid = studio.generations.submit(alice, offline_form())[0].id
    view = studio.queue_admin.cancel(admin, gid)
    assert view.status is Status.CANCELED and view.user_id == alice
    with studio.sessions() as s:
        kinds = sorted(s.execute(select(LedgerEntry.kind).where(LedgerEntry.generation_id == gid)).scalars())
        detail = s.execute(
            select(Event.detail).where(Event.generation_id == gid, Event.to_status == "canceled")
        ).scalar()
    assert kinds == ["release", "reserve"]
    assert detail == "canceled by administrator root"
    with pytest.raises(ValidationError, match="Only a queued generation"):
        studio.queue_admin.cancel(admin, gid)
    with pytest.raises(NotFoundError):
        studio.queue_admin.cancel(admin, "0" * 32)


def test_retry_makes_one_new_generation_however_often_it_is_asked(studio: Studio, alice: int, admin: int):
    source = studio.generations.submit(alice, offline_form("a crane at dawn", seed=7))[0].id
    studio.pipeline.fail(source, None, "the provider was down", code="UNAVAILABLE")
    new, created = studio.generations.retry(alice, source)
    assert created and new.status is Status.QUEUED and new.remix_of_id == source
    assert (new.prompt, new.seed, new.model) == ("a crane at dawn", 7, "offline-preview")
    again, created_again = studio.generations.retry(alice, source)
    by_admin, created_by_admin = studio.queue_admin.retry(admin, source)
    assert again.id == by_admin.id == new.id and not created_again and not created_by_admin
    with studio.sessions() as s:
        reserves = s.execute(select(LedgerEntry.generation_id).where(LedgerEntry.kind == "reserve")).scalars().all()
    assert sorted(reserves) == sorted([source, new.id])
    run_to_end(studio, new.id)
    assert studio.generations.get_generation(alice, new.id).status is Status.SUCCEEDED


def test_retry_refuses_what_could_pay_twice_or_is_not_final(studio: Studio, alice: int, bob: int):
    queued = studio.generations.submit(alice, offline_form("still queued"))[0].id
    with pytest.raises(ValidationError, match="Only a failed, filtered or canceled"):
        studio.generations.retry(alice, queued)
    done = studio.generations.submit(alice, offline_form("done"))[0].id
    run_to_end(studio, done)
    with pytest.raises(ValidationError, match="this one is succeeded"):
        studio.generations.retry(alice, done)
    lost = studio.generations.submit(alice, offline_form("lost answer"))[0].id
    studio.pipeline.fail(lost, None, "no answer", code="SUBMIT_OUTCOME_UNKNOWN", release=False)
    with pytest.raises(ValidationError, match="could pay twice"):
        studio.generations.retry(alice, lost)
    with pytest.raises(NotFoundError):
        studio.generations.retry(bob, lost)  # another user's generation does not exist for bob
    with studio.sessions() as s:
        assert s.execute(select(Generation).where(Generation.remix_of_id.is_not(None))).first() is None
