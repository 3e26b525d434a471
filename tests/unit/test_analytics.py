"""Analytics on SQLite: exact aggregates over a known history written through the real ledger services,
the same figures from the rollups once days are sealed, percentiles within their accuracy, admins only.

The history helper here (``write_history``) is shared with the PostgreSQL and page tests.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import PermissionDeniedError, ValidationError
from core.models import Generation, LedgerEntry, RollupBudget, RollupDurations, RollupGenerations, RollupSpend
from core.services import analytics, ledger, rollups
from core.services.analytics import DateRange, outcomes_of
from core.status import Status
from core.studio import Studio
from tests.support import offline_form

FAST, FULL = "veo-3.1-fast-generate-001", "veo-3.1-generate-001"
D1, D2, D3 = date(2026, 10, 30), date(2026, 10, 31), date(2026, 11, 1)
NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
"""A moment after the whole history: every day of it is over and may be sealed."""
HORIZON = date(2026, 11, 2)
"""The last day NOW may seal (the day before; today is still live)."""


def at(day: date, hour: int, minute: int = 0, second: float = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) + timedelta(seconds=second)


@dataclass(frozen=True)
class Past:
    """One generation of the history: when it was made, how long each stage took, and how it ended."""

    user: int
    model: str
    status: Status
    created: datetime
    queue_s: float | None = None
    provider_s: float | None = None
    price: str = "0.80"
    cost: str | None = None
    closed: datetime | None = None
    """When the ledger settled or released it (default: when the provider was done, or at once)."""


def _stamp(session: Session, moment: datetime) -> None:
    """Date the ledger entries a service has just added (services date them "now")."""
    for obj in session.new:
        if isinstance(obj, LedgerEntry) and obj.created_at is None:
            obj.created_at = moment


def write_history(studio: Studio, past: list[Past]) -> list[str]:
    """Write ``past`` as rows plus ledger entries made by core.services.ledger; return the generation ids."""
    ids = []
    with studio.sessions() as session, session.begin():
        for p in past:
            submitted = p.created + timedelta(seconds=p.queue_s) if p.queue_s is not None else None
            done = submitted + timedelta(seconds=p.provider_s) if submitted and p.provider_s is not None else None
            row = Generation(
                user_id=p.user,
                status=p.status.value,
                provider="veo",
                model=p.model,
                prompt="a lighthouse in a storm",
                duration_seconds=8,
                aspect_ratio="16:9",
                resolution="720p",
                idempotency_key=uuid.uuid4().hex,
                price_usd=Decimal(p.price),
                created_at=p.created,
                updated_at=p.created,
                submitted_at=submitted,
                provider_done_at=done,
                finished_at=(done or submitted or p.created) if p.status.is_final else None,
            )
            session.add(row)
            session.flush()
            ledger.reserve(session=session, generation=row)
            _stamp(session, p.created)
            closed = p.closed or done or submitted or p.created
            if p.status is Status.SUCCEEDED:
                ledger.settle(session=session, generation=row, cost=Decimal(p.cost or p.price))
                _stamp(session, closed)
            elif p.status.is_final:
                ledger.release(session=session, generation=row)
                _stamp(session, closed)
            ids.append(row.id)
    return ids


def history(alice: int, bob: int) -> list[Past]:
    """Three days of generations of two models by two users, with every ending."""
    ok, filtered, failed, canceled = Status.SUCCEEDED, Status.FILTERED, Status.FAILED, Status.CANCELED
    return [
        Past(alice, FAST, ok, at(D1, 9), 2, 40, price="0.80", cost="0.80"),
        Past(alice, FAST, ok, at(D1, 10), 4, 60, price="0.80", cost="0.60"),
        Past(bob, FULL, ok, at(D1, 11), 10, 120, price="3.20", cost="3.20"),
        Past(bob, FAST, filtered, at(D1, 12), 3, 30),
        Past(alice, FULL, failed, at(D2, 8)),  # refused before reaching the provider
        Past(alice, FAST, failed, at(D2, 9), 5, 50),
        Past(bob, FAST, canceled, at(D2, 10)),
        Past(alice, FAST, ok, at(D2, 23, 59), 30, 45, cost="0.60"),  # created on D2, settled on D3
        Past(bob, FULL, ok, at(D3, 7), 6, 90, price="3.20", cost="2.40"),
    ]


@pytest.fixture
def admin(studio: Studio) -> int:
    return studio.accounts.add_user("root", "an admin's long secret", role="admin").id


@pytest.fixture
def past(studio: Studio, alice: int, bob: int) -> Iterator[list[str]]:
    yield write_history(studio, history(alice, bob))


def query(studio: Studio, function, **kwargs):  # type: ignore[no-untyped-def]
    with studio.sessions() as session:
        return function(session=session, **kwargs)


def seal(studio: Studio, now: datetime = NOW) -> tuple[DateRange | None, DateRange | None]:
    with studio.sessions() as session, session.begin():
        return rollups.seal_history(session=session, now=now)


SPAN = DateRange(D1, D3)
MONTHS = DateRange(date(2026, 9, 20), date(2026, 11, 30))
"""A range holding all of October, which its rollups hold as one month."""


def everything(studio: Studio) -> tuple[object, ...]:
    return tuple(
        [query(studio, f, span=span) for span in (SPAN, MONTHS, DateRange(D2, D3)) for f in QUERIES]
        + [
            query(studio, analytics.burn_budgets, period=p, limits=studio.limits, today=D3)
            for p in ("2026-10", "2026-11")
        ]
    )


QUERIES = (analytics.count_generations, analytics.time_generations, analytics.spend_by_day, analytics.spend_by_user)


# -- counts and rates ------------------------------------------------------------------------


def test_generations_are_counted_by_creation_day_model_and_status(studio: Studio, past: list[str]) -> None:
    counts = query(studio, analytics.count_generations, span=SPAN)
    assert [(c.day, c.model, c.status, c.count) for c in counts] == [
        (D1, FAST, "filtered", 1),
        (D1, FAST, "succeeded", 2),
        (D1, FULL, "succeeded", 1),
        (D2, FAST, "canceled", 1),
        (D2, FAST, "failed", 1),
        (D2, FAST, "succeeded", 1),
        (D2, FULL, "failed", 1),
        (D3, FULL, "succeeded", 1),
    ]
    one_day = query(studio, analytics.count_generations, span=DateRange(D2, D2))
    assert sum(c.count for c in one_day) == 4


def test_rates_are_shares_of_the_generations_that_ended(studio: Studio, past: list[str]) -> None:
    counts = query(studio, analytics.count_generations, span=SPAN)
    overall = outcomes_of(counts)
    assert (overall.total, overall.succeeded, overall.filtered, overall.failed, overall.canceled) == (9, 5, 1, 2, 1)
    assert overall.ended == 8
    assert (overall.rate(overall.succeeded), overall.rate(overall.filtered), overall.rate(overall.failed)) == (
        5 / 8,
        1 / 8,
        2 / 8,
    )
    full = outcomes_of(counts, FULL)
    assert (full.total, full.rate(full.succeeded), full.rate(full.failed)) == (3, 2 / 3, 1 / 3)
    assert outcomes_of([]).rate(0) is None


# -- times -------------------------------------------------------------------------------------


def test_queue_and_provider_times_by_model(studio: Studio, past: list[str]) -> None:
    timings = {(t.model, t.stage): t for t in query(studio, analytics.time_generations, span=SPAN)}
    assert set(timings) == {(FAST, "queue"), (FAST, "provider"), (FULL, "queue"), (FULL, "provider")}
    fast_queue = [2.0, 4.0, 3.0, 5.0, 30.0]  # the canceled one never left the queue
    fast_provider = [40.0, 60.0, 30.0, 50.0, 45.0]
    full_queue, full_provider = [10.0, 6.0], [120.0, 90.0]  # the failed FULL one was never submitted
    for key, values in {
        (FAST, "queue"): fast_queue,
        (FAST, "provider"): fast_provider,
        (FULL, "queue"): full_queue,
        (FULL, "provider"): full_provider,
    }.items():
        timing = timings[key]
        assert timing.count == len(values)
        assert timing.p50_seconds == pytest.approx(exact_percentile(values, 0.5), rel=rollups.ACCURACY)
        assert timing.p95_seconds == pytest.approx(exact_percentile(values, 0.95), rel=rollups.ACCURACY)
    # Exactly what the buckets give: the median of five is the third value's bucket.
    assert timings[(FAST, "queue")].p50_seconds == rollups.bucket_value(rollups.bucket_of(4.0))


def exact_percentile(values: list[float], fraction: float) -> float:
    """PostgreSQL's percentile_cont: linear interpolation between the two closest ranks."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def test_bucketed_percentiles_stay_within_their_accuracy() -> None:
    rng = random.Random(7)
    for _ in range(50):
        values = [rng.expovariate(1 / 40) + rng.random() for _ in range(rng.randint(1, 400))]
        histogram: dict[int, int] = {}
        for value in values:
            histogram[rollups.bucket_of(value)] = histogram.get(rollups.bucket_of(value), 0) + 1
        for fraction in (0.5, 0.95, 0.0, 1.0):
            exact = exact_percentile(values, fraction)
            assert rollups.percentile_of(histogram, fraction) == pytest.approx(exact, rel=rollups.ACCURACY)


# -- spend -------------------------------------------------------------------------------------


def test_spend_is_the_real_cost_of_settle_entries_by_the_day_they_were_made(studio: Studio, past: list[str]) -> None:
    spend = query(studio, analytics.spend_by_day, span=SPAN)
    assert [(s.day, s.model, s.usd, s.settled) for s in spend] == [
        (D1, FAST, Decimal("1.40"), 2),
        (D1, FULL, Decimal("3.20"), 1),
        (D3, FAST, Decimal("0.60"), 1),  # created at 23:59 on D2, settled on D3
        (D3, FULL, Decimal("2.40"), 1),
    ]


def test_spend_by_user_largest_first(studio: Studio, past: list[str], alice: int, bob: int) -> None:
    by_user = query(studio, analytics.spend_by_user, span=SPAN)
    assert [(s.user_id, s.username, s.usd, s.settled) for s in by_user] == [
        (bob, "bob", Decimal("5.60"), 2),
        (alice, "alice", Decimal("2.00"), 3),
    ]


def test_spend_survives_a_deleted_generation(studio: Studio, past: list[str], bob: int) -> None:
    studio.generations.delete(bob, past[2])  # bob's FULL generation of D1, settled at $3.20
    with studio.sessions() as session:
        assert session.get(Generation, past[2]) is None
        orphans = session.execute(select(func.count()).where(LedgerEntry.generation_id.is_(None))).scalar_one()
    assert orphans == 2  # its reserve and settle entries remain
    spend = query(studio, analytics.spend_by_day, span=DateRange(D1, D1))
    assert [(s.model, s.usd) for s in spend] == [(FAST, Decimal("1.40")), (FULL, Decimal("3.20"))]


# -- budgets -----------------------------------------------------------------------------------


def test_budget_burn_down_is_cumulative_committed_spend_by_day(
    studio: Studio, past: list[str], admin: int, alice: int, bob: int
) -> None:
    studio.accounts.set_limits(admin, alice, Decimal("10"), None)
    report = query(studio, analytics.burn_budgets, period="2026-10", limits=studio.limits, today=D3)
    assert report.days == tuple(date(2026, 10, d) for d in range(1, 32))
    burn = {(p.user_id, p.day): p.committed_usd for p in report.burn}
    # alice: D1 0.80 + 0.80 (reserves) + 0.00 and −0.20 (settles) = 1.40; D2: failed ones reserved and released,
    # the late one reserved 0.80, and its settle (−0.20, dated 1 Nov) counts in October, on its last day.
    assert burn[(alice, date(2026, 10, 29))] == Decimal(0)
    assert burn[(alice, D1)] == Decimal("1.40")
    assert burn[(alice, D2)] == Decimal("2.00")
    assert burn[(bob, D1)] == Decimal("3.20")  # 3.20 settled; the filtered 0.80 reserved and released
    assert burn[(bob, D2)] == Decimal("3.20")  # canceled: reserved and released the same day
    users = {u.username: u for u in report.users}
    assert [u.username for u in report.users] == ["alice", "bob", "root"]
    assert (users["alice"].budget_usd, users["alice"].committed_usd, users["alice"].uses_default) == (
        Decimal("10"),
        Decimal("2.00"),
        False,
    )
    assert users["alice"].remaining_usd == Decimal("8.00") and users["alice"].percent_used == pytest.approx(20.0)
    assert (users["bob"].budget_usd, users["bob"].uses_default) == (studio.limits.default_monthly_budget_usd, True)
    assert (users["root"].committed_usd, users["root"].percent_used) == (Decimal(0), 0.0)
    november = query(studio, analytics.burn_budgets, period="2026-11", limits=studio.limits, today=D3)
    assert november.days == (D3,)
    assert {(p.user_id, p.committed_usd) for p in november.burn} == {(bob, Decimal("2.40"))}


def test_the_budget_period_must_be_a_month(studio: Studio) -> None:
    with pytest.raises(ValidationError, match="Not a month"):
        query(studio, analytics.burn_budgets, period="2026-13", limits=studio.limits)
    with pytest.raises(ValidationError, match="Not a month"):
        query(studio, analytics.burn_budgets, period="2026-10\n", limits=studio.limits)


# -- sealing -----------------------------------------------------------------------------------


def test_sealed_days_give_the_same_figures_from_the_rollups(studio: Studio, past: list[str]) -> None:
    live = everything(studio)
    sealed = seal(studio)
    assert sealed == (DateRange(D1, HORIZON), DateRange(D1, HORIZON))
    with studio.sessions() as session:
        assert session.execute(select(func.count()).select_from(RollupGenerations)).scalar_one() == 8
        grains = dict(
            session.execute(select(RollupDurations.grain, func.count()).group_by(RollupDurations.grain)).tuples().all()
        )
        assert grains["day"] > 0 and grains["month"] > 0  # October is whole and sealed: it has month rows too
        assert session.execute(select(func.count()).select_from(RollupSpend)).scalar_one() == 4
        assert session.execute(select(func.count()).select_from(RollupBudget)).scalar_one() > 0
        # The live tables are no longer read for those days: emptying them leaves the figures as they were.
        session.execute(LedgerEntry.__table__.delete())
        session.execute(Generation.__table__.delete())
        session.commit()
    assert everything(studio) == live
    assert seal(studio) == (None, None)  # nothing new to seal
    # A range holding all of October reads October's month rows, not its day rows.
    months_timing = query(studio, analytics.time_generations, span=MONTHS)
    with studio.sessions() as session, session.begin():
        session.execute(
            RollupDurations.__table__.delete().where(
                RollupDurations.grain == "day", RollupDurations.day < date(2026, 11, 1)
            )
        )
    assert query(studio, analytics.time_generations, span=MONTHS) == months_timing
    assert query(studio, analytics.time_generations, span=SPAN) != months_timing


def test_a_day_is_sealed_only_when_every_generation_of_it_is_final(studio: Studio, alice: int) -> None:
    write_history(
        studio,
        [
            Past(alice, FAST, Status.SUCCEEDED, at(D1, 9), 2, 40),
            Past(alice, FAST, Status.RUNNING, at(D2, 9), 2),
            Past(alice, FAST, Status.SUCCEEDED, at(D3, 9), 2, 40),
        ],
    )
    generations, ledger_days = seal(studio)
    assert generations == DateRange(D1, D1)  # D2 still has a running generation
    assert ledger_days == DateRange(D1, HORIZON)  # ledger days close with the day
    counts = query(studio, analytics.count_generations, span=SPAN)
    assert [(c.day, c.status) for c in counts] == [(D1, "succeeded"), (D2, "running"), (D3, "succeeded")]


def test_today_and_the_hour_after_midnight_stay_live(studio: Studio, alice: int) -> None:
    write_history(studio, [Past(alice, FAST, Status.SUCCEEDED, at(D1, 9), 2, 40)])
    assert seal(studio, now=at(D2, 0, 30)) == (None, None)  # D1 ended only half an hour ago
    assert seal(studio, now=at(D2, 1, 30)) == (DateRange(D1, D1), DateRange(D1, D1))


# -- through the studio ------------------------------------------------------------------------


def test_a_generation_through_the_real_pipeline_is_counted_timed_and_charged(
    studio: Studio, admin: int, alice: int
) -> None:
    view, _ = studio.generations.submit(alice, offline_form("a heron in the reeds"))
    with studio.sessions() as session:
        row = session.get(Generation, view.id)
        assert row is not None
        seq = row.job_seq
    studio.pipeline.start(view.id, seq)
    for _ in range(5):
        if studio.generations.get_generation(alice, view.id).is_final:
            break
        with studio.sessions() as session:
            row = session.get(Generation, view.id)
            assert row is not None
            seq = row.job_seq
        studio.pipeline.poll(view.id, seq)
    assert studio.generations.get_generation(alice, view.id).status is Status.SUCCEEDED
    report = studio.analytics.report(admin, studio.analytics.default_range(), rollups.utcnow().strftime("%Y-%m"))
    assert [(c.model, c.status, c.count) for c in report.counts] == [("offline-preview", "succeeded", 1)]
    assert {(t.model, t.stage, t.count) for t in report.timings} == {
        ("offline-preview", "queue", 1),
        ("offline-preview", "provider", 1),
    }
    assert [(s.model, s.usd, s.settled) for s in report.daily_spend] == [("offline-preview", Decimal(0), 1)]
    assert [(s.username, s.settled) for s in report.user_spend] == [("alice", 1)]
    assert not report.is_empty


def test_only_admins_get_analytics(studio: Studio, admin: int, alice: int) -> None:
    span = studio.analytics.default_range()
    with pytest.raises(PermissionDeniedError):
        studio.analytics.report(alice, span, "2026-11")
    assert studio.analytics.report(admin, span, "2026-11").is_empty


def test_an_empty_history_reports_nothing_but_the_budgets(studio: Studio, admin: int, alice: int) -> None:
    report = studio.analytics.report(admin, DateRange(D1, D3), "2026-10")
    assert report.is_empty and not report.timings and not report.user_spend and not report.budgets.burn
    assert [(u.username, u.committed_usd) for u in report.budgets.users] == [("alice", 0), ("root", 0)]


def test_date_ranges() -> None:
    assert analytics.default_range(date(2026, 12, 1)) == DateRange(date(2026, 11, 2), date(2026, 12, 1))
    assert DateRange(date(2026, 10, 30), date(2026, 12, 1)).periods == ["2026-12", "2026-11", "2026-10"]
    assert DateRange(D1, D1).bounds == (at(D1, 0), at(D2, 0))
    with pytest.raises(ValidationError, match="start date is after the end date"):
        DateRange(D2, D1)
    assert DateRange(D1, D3).split(None) == (None, DateRange(D1, D3))
    assert DateRange(D1, D3).split(D2) == (DateRange(D1, D2), DateRange(D3, D3))
    assert DateRange(D1, D3).split(D3) == (DateRange(D1, D3), None)
    assert rollups.months_of(DateRange(D1, date(2026, 12, 2))) == [
        DateRange(D1, D2),
        DateRange(D3, date(2026, 11, 30)),
        DateRange(date(2026, 12, 1), date(2026, 12, 2)),
    ]
