"""Rollups of sealed days for the Analytics page: sealing, reading sealed + live days, duration buckets.

A day that is over is *sealed* into the rollup tables (core.models.Rollup*) once
nothing about it can change any more: a generation day once every generation
created on it is final, a ledger day an hour after it ended (entries are only
ever dated "now"). Sealing is contiguous: everything up to the last sealed day is
in the rollups, so a read takes the sealed days of its range from them and the
later days (today, yesterday, or from a generation still open) from the live
tables, and a year costs about what a few days do. Rolled-up generation days
keep counting a generation deleted after they were sealed; ledger days lose nothing
(entries outlive their generation).

Durations are counted in log-spaced buckets, which add up across days where exact
percentiles do not; a percentile read from them is within ``ACCURACY`` of the
exact ``percentile_cont`` over the same rows.

Functions take ``session`` keyword-only (or as the first argument for the small
SQL helpers) and never commit. Imports SQLAlchemy and ``core`` only.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, Row, Select, case, cast, func, insert, literal, literal_column, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.errors import ValidationError
from core.models import (
    Generation,
    LedgerEntry,
    RollupBudget,
    RollupDurations,
    RollupGenerations,
    RollupSpend,
    utcnow,
)
from core.services.ledger import SETTLE
from core.status import Status

ACCURACY = 0.02
"""Relative accuracy of the percentiles: each is within ±2% of the exact value."""

GAMMA = (1 + ACCURACY) / (1 - ACCURACY)
"""Ratio of consecutive duration bucket bounds: bucket ``i`` holds ``(γ^(i-1), γ^i]`` seconds."""

MIN_SECONDS = 0.001
"""Shorter durations (or negative ones, from clock skew) count as this many seconds."""

SEAL_DELAY = timedelta(hours=1)
"""How long after a day ends it may be sealed (transactions begun before midnight have committed)."""

SEAL_LOCK = 7_316_001
"""PostgreSQL advisory lock key that makes concurrent seals take turns."""

QUEUE, PROVIDER = "queue", "provider"
DAY, MONTH = "day", "month"
OPEN_STATUSES = tuple(status.value for status in Status if not status.is_final)
Rollup = type[RollupGenerations] | type[RollupBudget]
Histograms = dict[tuple[str, str], Counter[int]]
"""Duration bucket counts by (model, stage)."""


@dataclass(frozen=True)
class DateRange:
    """UTC calendar days from ``start`` to ``end``, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValidationError("The start date is after the end date.", field="date_range")

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """The half-open interval ``[start 00:00, end + 1 day 00:00)`` in UTC."""
        return midnight(self.start), midnight(self.end + timedelta(days=1))

    @property
    def periods(self) -> list[str]:
        """The budget periods (``YYYY-MM``) the range touches, newest first."""
        days = (self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1))
        return sorted({f"{d.year:04d}-{d.month:02d}" for d in days}, reverse=True)

    def split(self, sealed_through: date | None) -> tuple[DateRange | None, DateRange | None]:
        """The part up to ``sealed_through`` (read from the rollups) and the part after it (live)."""
        if sealed_through is None or sealed_through < self.start:
            return None, self
        if sealed_through >= self.end:
            return self, None
        return DateRange(self.start, sealed_through), DateRange(sealed_through + timedelta(days=1), self.end)


# -- SQL helpers --------------------------------------------------------------------------------------


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def months_of(span: DateRange) -> list[DateRange]:
    """``span`` cut at the start of each calendar month."""
    parts, start = [], span.start
    while start <= span.end:
        end = min(span.end, next_month(start) - timedelta(days=1))
        parts.append(DateRange(start, end))
        start = end + timedelta(days=1)
    return parts


def day_of(column: Any, *, session: Session) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp column, in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(literal_column("'UTC'"), column), Date)
    return func.date(column)  # SQLite keeps naive UTC text


def as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def within(column: Any, span: DateRange) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    start, end = span.bounds
    return column >= start, column < end


def on_days(rollup: Any, span: DateRange) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return rollup.day >= span.start, rollup.day <= span.end


def grouped(stmt: Select, keys: int) -> Select:
    """Group ``stmt`` by its first ``keys`` columns."""
    return stmt.group_by(*list(stmt.selected_columns)[:keys])


def sealed_through(*, session: Session, rollup: Rollup) -> date | None:
    last = session.execute(select(func.max(rollup.day))).scalar_one_or_none()
    return None if last is None else as_date(last)


def read_split(
    span: DateRange,
    rollup: Rollup,
    sealed: Callable[[DateRange], Select],
    live: Callable[[DateRange], Select],
    *,
    session: Session,
) -> list[Row]:
    """Rows of ``sealed(days)`` over the range's sealed days plus rows of ``live(days)`` over the rest."""
    old, new = span.split(sealed_through(session=session, rollup=rollup))
    return [row for part, stmt in ((old, sealed), (new, live)) if part for row in session.execute(stmt(part))]


def bucket_of(seconds: float) -> int:
    """The duration bucket of ``seconds``: ``i`` such that ``γ^(i-1) < seconds ≤ γ^i``."""
    return math.ceil(math.log(max(seconds, MIN_SECONDS), GAMMA))


def bucket_value(bucket: int) -> float:
    """The value a bucket stands for, within ``ACCURACY`` of every duration in it."""
    return 2 * GAMMA**bucket / (GAMMA + 1)


def percentile_of(histogram: Mapping[int, int], fraction: float) -> float:
    """``percentile_cont`` over a histogram: interpolate between the values of the two closest ranks."""
    buckets = sorted(histogram.items())
    position = fraction * (sum(histogram.values()) - 1)
    values: list[float] = []
    for rank in (math.floor(position), math.ceil(position)):
        seen = 0
        for bucket, n in buckets:
            seen += n
            if rank < seen:
                values.append(bucket_value(bucket))
                break
    return values[0] + (values[1] - values[0]) * (position - math.floor(position))


def count_durations(*, session: Session, span: DateRange) -> Counter[tuple[date, str, str, int]]:
    """The generations created in ``span`` counted by (day, model, stage, duration bucket)."""
    g = Generation
    stmt = select(g.model, g.created_at, g.submitted_at, g.provider_done_at).where(
        *within(g.created_at, span), g.submitted_at.is_not(None)
    )
    counts: Counter[tuple[date, str, str, int]] = Counter()
    for model, created, submitted, done in session.execute(stmt.execution_options(yield_per=10_000)).tuples():
        assert submitted is not None
        counts[(utc_day(created), model, QUEUE, bucket_of((submitted - created).total_seconds()))] += 1
        if done is not None:
            counts[(utc_day(created), model, PROVIDER, bucket_of((done - submitted).total_seconds()))] += 1
    return counts


def duration_histograms(*, session: Session, span: DateRange) -> Histograms:
    """The duration buckets of the generations created in ``span``: whole sealed months, sealed days, live days."""
    r = RollupDurations
    histograms: Histograms = defaultdict(Counter)
    sealed, live = span.split(sealed_through(session=session, rollup=RollupGenerations))
    parts: list[tuple[str, DateRange]] = []
    if sealed is not None:
        months = session.execute(select(func.max(r.day)).where(r.grain == MONTH)).scalar_one_or_none()
        first = sealed.start if sealed.start.day == 1 else next_month(sealed.start)
        last = ((sealed.end + timedelta(days=1)).replace(day=1) - timedelta(days=1)).replace(day=1)  # last whole
        last = min(last, as_date(months)) if months is not None else first - timedelta(days=1)
        if first <= last:
            parts += [(MONTH, DateRange(first, last))]
            if sealed.start < first:
                parts += [(DAY, DateRange(sealed.start, first - timedelta(days=1)))]
            if next_month(last) <= sealed.end:
                parts += [(DAY, DateRange(next_month(last), sealed.end))]
        else:
            parts += [(DAY, sealed)]
    for grain, days in parts:
        stmt = select(r.model, r.stage, r.bucket, func.sum(r.generations)).where(r.grain == grain, *on_days(r, days))
        for model, stage, bucket, n in session.execute(grouped(stmt, 3)):
            histograms[(model, stage)][int(bucket)] += int(n)
    if live is not None:
        for (_, model, stage, bucket), n in count_durations(session=session, span=live).items():
            histograms[(model, stage)][bucket] += n
    return histograms


# -- sealing ------------------------------------------------------------------------------------


def pending_seal(*, session: Session, now: datetime | None = None) -> tuple[DateRange | None, DateRange | None]:
    """The generation days and the ledger days to seal next (None where there are none with rows)."""
    horizon = ((now or utcnow()) - SEAL_DELAY).date() - timedelta(days=1)
    first_open = session.execute(
        select(func.min(Generation.created_at)).where(Generation.status.in_(OPEN_STATUSES))
    ).scalar_one_or_none()
    until = horizon if first_open is None else min(horizon, utc_day(first_open) - timedelta(days=1))
    return (
        _window(session, RollupGenerations, Generation.created_at, until),
        _window(session, RollupBudget, LedgerEntry.created_at, horizon),
    )


def _window(session: Session, rollup: Rollup, column: Any, until: date) -> DateRange | None:
    sealed = sealed_through(session=session, rollup=rollup)
    if sealed is not None:
        start = sealed + timedelta(days=1)
    else:
        oldest = session.execute(select(func.min(column))).scalar_one_or_none()
        if oldest is None:
            return None
        start = utc_day(oldest)
    if start > until:
        return None
    span = DateRange(start, until)
    return span if session.execute(select(column).where(*within(column, span)).limit(1)).first() else None


def seal_history(*, session: Session, now: datetime | None = None) -> tuple[DateRange | None, DateRange | None]:
    """Roll up the days that can no longer change and are not rolled up yet; return the days sealed."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(SEAL_LOCK)))
    generations, ledger = pending_seal(session=session, now=now)
    if generations is not None:
        g = Generation
        counts = select(day_of(g.created_at, session=session), g.model, g.status, func.count())
        counts = grouped(counts.where(*within(g.created_at, generations)), 3)
        session.execute(insert(RollupGenerations).from_select(["day", "model", "status", "generations"], counts))
        for month in months_of(generations):  # a month at a time, so a first seal of years stays small in memory
            buckets = [
                {"grain": DAY, "day": d, "model": model, "stage": stage, "bucket": bucket, "generations": n}
                for (d, model, stage, bucket), n in count_durations(session=session, span=month).items()
            ]
            if buckets:
                session.execute(insert(RollupDurations), buckets)
        _seal_months(session)
    if ledger is not None:
        e = LedgerEntry
        day = day_of(e.created_at, session=session)
        spend = select(day, e.model, func.coalesce(func.sum(e.charged_usd), 0), func.count())
        spend = grouped(spend.where(e.kind == SETTLE, *within(e.created_at, ledger)), 2)
        session.execute(insert(RollupSpend).from_select(["day", "model", "charged_usd", "settles"], spend))
        settles = func.sum(case((e.kind == SETTLE, 1), else_=0))
        budget = select(day, e.user_id, e.period, func.sum(e.amount_usd), func.coalesce(func.sum(e.charged_usd), 0))
        budget = grouped(budget.add_columns(settles).where(*within(e.created_at, ledger)), 3)
        columns = ["day", "user_id", "period", "committed_usd", "charged_usd", "settles"]
        session.execute(insert(RollupBudget).from_select(columns, budget))
    return generations, ledger


def _seal_months(session: Session) -> None:
    """Add up the day rows of every month whose days are all sealed into month rows, once."""
    r = RollupDurations
    days = sealed_through(session=session, rollup=RollupGenerations)
    months = session.execute(select(func.max(r.day)).where(r.grain == MONTH)).scalar_one_or_none()
    if months is not None:
        month = next_month(as_date(months))
    else:
        oldest = session.execute(select(func.min(r.day)).where(r.grain == DAY)).scalar_one_or_none()
        if oldest is None or days is None:
            return
        month = as_date(oldest).replace(day=1)
    while days is not None and next_month(month) - timedelta(days=1) <= days:
        total = select(literal(MONTH), literal(month, Date), r.model, r.stage, r.bucket, func.sum(r.generations))
        total = total.where(r.grain == DAY, r.day >= month, r.day < next_month(month)).group_by(
            r.model, r.stage, r.bucket
        )
        columns = ["grain", "day", "model", "stage", "bucket", "generations"]
        session.execute(insert(r).from_select(columns, total))
        month = next_month(month)
