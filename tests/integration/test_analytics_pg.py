"""Analytics on real PostgreSQL: the same exact aggregates as on SQLite, UTC days even when the session's
time zone is not UTC, percentiles within their accuracy of PostgreSQL's own percentile_cont, the rollups
giving the same figures, and concurrent seals taking turns.

The database is this module's own (``veogen_it_analytics``): created and migrated here, emptied before
each test, dropped at the end.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select, text

from core.db import upgrade_database
from core.errors import PermissionDeniedError
from core.models import Generation, RollupDurations, RollupGenerations
from core.services import analytics, rollups
from core.services.analytics import DateRange
from core.studio import Studio, build_studio
from tests.support import PG_ADMIN, REDIS_URL, make_settings
from tests.unit.test_analytics import D1, D2, D3, FAST, FULL, NOW, SPAN, history, seal, write_history

pytestmark = pytest.mark.integration

DATABASE = "veogen_it_analytics"
URL = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{DATABASE}"
ROLLUPS = "rollup_generations, rollup_durations, rollup_spend, rollup_budget"
TABLES = f"ledger_entries, events, videos, generations, users, {ROLLUPS}"
ELSEWHERE = "?options=-c%20timezone%3DAmerica/Los_Angeles"
"""Sessions in a time zone where D2 23:59 UTC is still D2 and 00:00 UTC on D3 is D2 too: days must stay UTC."""


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    upgrade_database(URL)
    yield URL + ELSEWHERE
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


@pytest.fixture
def studio(tmp_path: Path, pg_url: str) -> Iterator[Studio]:
    s = build_studio(make_settings(tmp_path, database_url=pg_url, redis_url=REDIS_URL))
    with s.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    yield s
    s.engine.dispose()


@pytest.fixture
def people(studio: Studio) -> tuple[int, int]:
    return studio.accounts.add_user("alice", "correct horse battery").id, studio.accounts.add_user(
        "bob", "another long secret"
    ).id


def test_sessions_here_are_not_in_utc(studio: Studio) -> None:
    with studio.sessions() as session:
        assert session.execute(text("SHOW TimeZone")).scalar_one() == "America/Los_Angeles"


def test_the_same_exact_aggregates_as_on_sqlite(studio: Studio, people: tuple[int, int]) -> None:
    alice, bob = people
    write_history(studio, history(alice, bob))
    with studio.sessions() as session:
        counts = analytics.count_generations(session=session, span=SPAN)
        spend = analytics.spend_by_day(session=session, span=SPAN)
        by_user = analytics.spend_by_user(session=session, span=SPAN)
        october = analytics.burn_budgets(session=session, period="2026-10", limits=studio.limits, today=D3)
    assert [(c.day, c.model, c.status, c.count) for c in counts] == [
        (D1, FAST, "filtered", 1),
        (D1, FAST, "succeeded", 2),
        (D1, FULL, "succeeded", 1),
        (D2, FAST, "canceled", 1),
        (D2, FAST, "failed", 1),
        (D2, FAST, "succeeded", 1),  # 23:59 UTC, whatever the session's zone
        (D2, FULL, "failed", 1),
        (D3, FULL, "succeeded", 1),
    ]
    assert [(s.day, s.model, s.usd, s.settled) for s in spend] == [
        (D1, FAST, Decimal("1.40"), 2),
        (D1, FULL, Decimal("3.20"), 1),
        (D3, FAST, Decimal("0.60"), 1),  # settled at 00:00:15 UTC on D3 (still D2 in Los Angeles)
        (D3, FULL, Decimal("2.40"), 1),
    ]
    assert [(s.username, s.usd, s.settled) for s in by_user] == [
        ("bob", Decimal("5.60"), 2),
        ("alice", Decimal("2.00"), 3),
    ]
    burn = {(p.user_id, p.day): p.committed_usd for p in october.burn}
    assert (burn[(alice, D1)], burn[(alice, D2)], burn[(bob, D2)]) == (
        Decimal("1.40"),
        Decimal("2.00"),
        Decimal("3.20"),
    )
    assert {u.username: u.committed_usd for u in october.users} == {"alice": Decimal("2.00"), "bob": Decimal("3.20")}


def test_percentiles_are_within_their_accuracy_of_percentile_cont(studio: Studio, people: tuple[int, int]) -> None:
    alice, bob = people
    write_history(studio, history(alice, bob))
    with studio.sessions() as session:
        timings = {(t.model, t.stage): t for t in analytics.time_generations(session=session, span=SPAN)}
        start, end = SPAN.bounds
        exact = session.execute(
            text(
                "SELECT model,"
                " percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM submitted_at - created_at)),"
                " percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM submitted_at - created_at)),"
                " percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM provider_done_at - submitted_at)),"
                " percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM provider_done_at - submitted_at))"
                " FROM generations WHERE created_at >= :start AND created_at < :end AND submitted_at IS NOT NULL"
                " GROUP BY model"
            ),
            {"start": start, "end": end},
        ).all()
    assert len(exact) == 2
    for model, q50, q95, p50, p95 in exact:
        for stage, (e50, e95) in (("queue", (q50, q95)), ("provider", (p50, p95))):
            timing = timings[(model, stage)]
            assert timing.p50_seconds == pytest.approx(float(e50), rel=rollups.ACCURACY)
            assert timing.p95_seconds == pytest.approx(float(e95), rel=rollups.ACCURACY)


def test_the_rollups_give_the_same_figures(studio: Studio, people: tuple[int, int]) -> None:
    alice, bob = people
    write_history(studio, history(alice, bob))
    months = DateRange(date(2026, 9, 20), date(2026, 11, 30))
    spans = (SPAN, months, DateRange(D2, D3))

    def everything() -> list[object]:
        with studio.sessions() as session:
            figures: list[object] = []
            for span in spans:
                figures.append(analytics.count_generations(session=session, span=span))
                figures.append(analytics.time_generations(session=session, span=span))
                figures.append(analytics.spend_by_day(session=session, span=span))
                figures.append(analytics.spend_by_user(session=session, span=span))
            for period in ("2026-10", "2026-11"):
                figures.append(analytics.burn_budgets(session=session, period=period, limits=studio.limits, today=D3))
            return figures

    live = everything()
    assert seal(studio) == (DateRange(D1, date(2026, 11, 2)), DateRange(D1, date(2026, 11, 2)))
    with studio.engine.begin() as conn:  # from now on only the rollups can answer for those days
        conn.execute(text("TRUNCATE ledger_entries, generations CASCADE"))
    assert everything() == live
    with studio.sessions() as session:
        grains = dict(
            session.execute(select(RollupDurations.grain, func.count()).group_by(RollupDurations.grain)).tuples().all()
        )
    assert grains["day"] > 0 and grains["month"] > 0


def test_concurrent_seals_take_turns(studio: Studio, people: tuple[int, int]) -> None:
    alice, bob = people
    write_history(studio, history(alice, bob))
    barrier = threading.Barrier(4)
    results: list[object] = []

    def one() -> None:
        barrier.wait()
        with studio.sessions() as session, session.begin():
            results.append(rollups.seal_history(session=session, now=NOW))

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 4  # none failed on a duplicate key
    assert results.count((None, None)) == 3  # the others found nothing left to seal
    with studio.sessions() as session:
        sealed = session.execute(select(func.sum(RollupGenerations.generations))).scalar_one()
        total = session.execute(select(func.count()).select_from(Generation)).scalar_one()
    assert sealed == total == 9


def test_the_facade_refuses_creators_and_reports_to_admins(studio: Studio, people: tuple[int, int]) -> None:
    alice, bob = people
    admin = studio.accounts.add_user("root", "an admin's long secret", role="admin").id
    write_history(studio, history(alice, bob))
    with pytest.raises(PermissionDeniedError):
        studio.analytics.report(bob, SPAN, "2026-10")
    report = studio.analytics.report(admin, SPAN, "2026-10")  # seals the days that are over, then reads
    assert sum(c.count for c in report.counts) == 9
    assert sum(s.usd for s in report.daily_spend) == Decimal("7.60")
    with studio.sessions() as session:
        assert session.execute(select(func.count()).select_from(RollupGenerations)).scalar_one() == 8
