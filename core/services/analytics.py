"""Admin analytics over the history, for the Analytics page: SQL aggregates of generations and the ledger.

- Generations count on the UTC day they were created, by model and status.
- Time in queue is ``submitted_at − created_at``, time at the provider
  ``provider_done_at − submitted_at``; p50/p95 by model, within
  ``rollups.ACCURACY`` of ``percentile_cont``.
- Spend is the ``charged_usd`` of settle entries, dated by the entry, by the
  entry's own ``model`` (so it survives a deleted generation) and user.
- Budget burn-down: each user's committed spend (sum of ``amount_usd``) in one
  period, cumulated by day, against their budget.

Sealed days are read from the rollups, the rest from the live tables (see
core.services.rollups). Functions take ``session`` keyword-only, return frozen
dataclasses and never commit; :class:`core.analytics.Analytics` (``studio.analytics``) owns
the sessions and refuses anyone but an admin. Imports SQLAlchemy and ``core``
only; never streamlit.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import ValidationError
from core.models import (
    Generation,
    LedgerEntry,
    Movie,
    RollupBudget,
    RollupGenerations,
    RollupSpend,
    User,
    utcnow,
)
from core.services.budgets import Limits
from core.services.ledger import SETTLE
from core.services.rollups import (
    DateRange,
    as_date,
    day_of,
    duration_histograms,
    grouped,
    on_days,
    percentile_of,
    read_split,
    within,
)
from core.status import Status

DEFAULT_RANGE_DAYS = 30
"""Days the page shows unless told otherwise, today (UTC) included."""

PERCENTILES = (0.5, 0.95)
"""The fractions shown of the time distributions: p50 and p95."""

_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def default_range(today: date | None = None) -> DateRange:
    """The last ``DEFAULT_RANGE_DAYS`` days, today included."""
    end = today or utcnow().date()
    return DateRange(end - timedelta(days=DEFAULT_RANGE_DAYS - 1), end)


@dataclass(frozen=True)
class StatusCount:
    """Generations created on ``day`` with ``model`` that are (or were when sealed) in ``status``."""

    day: date
    model: str
    status: str
    count: int


@dataclass(frozen=True)
class Outcomes:
    """How generations ended. Rates are shares of those that ended (succeeded, filtered or failed):
    canceled and still-open ones are counted but left out."""

    total: int
    succeeded: int
    filtered: int
    failed: int
    canceled: int

    @property
    def ended(self) -> int:
        return self.succeeded + self.filtered + self.failed

    def rate(self, count: int) -> float | None:
        """``count`` as a share of the generations that ended; None when none did."""
        return count / self.ended if self.ended else None


def outcomes_of(counts: Iterable[StatusCount], model: str | None = None) -> Outcomes:
    """Add up ``counts`` (of one model, or of all) into outcomes."""
    n: Counter[str] = Counter()
    for row in counts:
        if model is None or row.model == model:
            n[row.status] += row.count
    return Outcomes(sum(n.values()), n[Status.SUCCEEDED], n[Status.FILTERED], n[Status.FAILED], n[Status.CANCELED])


@dataclass(frozen=True)
class Timing:
    """p50 and p95 (within ``ACCURACY``) of one stage, ``queue`` or ``provider``, for one model, in seconds."""

    model: str
    stage: str
    count: int
    p50_seconds: float
    p95_seconds: float


@dataclass(frozen=True)
class DailySpend:
    """Real cost settled on ``day`` for ``model``, and the number of settle entries."""

    day: date
    model: str
    usd: Decimal
    settled: int


@dataclass(frozen=True)
class UserSpend:
    user_id: int
    username: str
    usd: Decimal
    settled: int


@dataclass(frozen=True)
class UserBudget:
    """One user's budget for a period against what they committed (reserved + settled)."""

    user_id: int
    username: str
    budget_usd: Decimal
    committed_usd: Decimal
    uses_default: bool
    disabled: bool

    @property
    def remaining_usd(self) -> Decimal:
        return max(Decimal(0), self.budget_usd - self.committed_usd)

    @property
    def percent_used(self) -> float | None:
        """Committed as a percentage of the budget; None for a zero budget."""
        return float(self.committed_usd / self.budget_usd * 100) if self.budget_usd > 0 else None


@dataclass(frozen=True)
class BurnPoint:
    """A user's committed spend of the period at the end of ``day`` (cumulative)."""

    user_id: int
    day: date
    committed_usd: Decimal


@dataclass(frozen=True)
class BudgetReport:
    period: str
    days: tuple[date, ...]
    """The period's days up to today (all of them for a past month)."""
    users: tuple[UserBudget, ...]
    burn: tuple[BurnPoint, ...]
    """One point per day of ``days`` for every user with entries in the period."""


@dataclass(frozen=True)
class FilmCounts:
    """Films in a range: made, started, their shots' takes by outcome, and what those takes cost."""

    created: int = 0
    started: int = 0
    takes: int = 0
    takes_succeeded: int = 0
    spent_usd: Decimal = Decimal(0)


@dataclass(frozen=True)
class Report:
    """Everything the Analytics page shows for one range and one budget period."""

    span: DateRange
    counts: tuple[StatusCount, ...]
    timings: tuple[Timing, ...]
    daily_spend: tuple[DailySpend, ...]
    user_spend: tuple[UserSpend, ...]
    budgets: BudgetReport
    films: FilmCounts = FilmCounts()

    @property
    def is_empty(self) -> bool:
        """No generation created and no cost settled in the range."""
        return not self.counts and not self.daily_spend


# -- queries ------------------------------------------------------------------------------------


def count_generations(*, session: Session, span: DateRange) -> tuple[StatusCount, ...]:
    """Count the generations created in ``span`` by day, model and status."""
    r, g = RollupGenerations, Generation
    rows = read_split(
        span,
        r,
        lambda days: select(r.day, r.model, r.status, r.generations).where(*on_days(r, days)),
        lambda days: grouped(
            select(day_of(g.created_at, session=session), g.model, g.status, func.count()).where(
                *within(g.created_at, days)
            ),
            3,
        ),
        session=session,
    )
    ordered = sorted((as_date(d), model, status, int(n)) for d, model, status, n in rows)
    return tuple(StatusCount(*row) for row in ordered)


def time_generations(*, session: Session, span: DateRange) -> tuple[Timing, ...]:
    """Return p50/p95 of time in queue and at the provider by model, for the generations created in ``span``."""
    return tuple(
        Timing(model, stage, h.total(), *(percentile_of(h, f) for f in PERCENTILES))
        for (model, stage), h in sorted(duration_histograms(session=session, span=span).items())
    )


def count_films(*, session: Session, span: DateRange) -> FilmCounts:
    """Films created and started in ``span``, and the takes of their shots created in it (deleted takes excluded)."""
    start, end = span.bounds
    created = session.execute(
        select(func.count()).select_from(Movie).where(Movie.created_at >= start, Movie.created_at < end)
    ).scalar_one()
    started = session.execute(
        select(func.count()).select_from(Movie).where(Movie.started_at >= start, Movie.started_at < end)
    ).scalar_one()
    takes, succeeded, spent = session.execute(
        select(
            func.count(),
            func.count().filter(Generation.status == Status.SUCCEEDED.value),
            func.coalesce(func.sum(Generation.cost_usd), 0),
        ).where(Generation.movie_id.is_not(None), Generation.created_at >= start, Generation.created_at < end)
    ).one()
    return FilmCounts(int(created), int(started), int(takes), int(succeeded), Decimal(spent or 0))


def spend_by_day(*, session: Session, span: DateRange) -> tuple[DailySpend, ...]:
    """Sum the real cost of the settle entries made in ``span``, by day and model."""
    r, e = RollupSpend, LedgerEntry
    rows = read_split(
        span,
        RollupBudget,
        lambda days: select(r.day, r.model, r.charged_usd, r.settles).where(*on_days(r, days), r.settles > 0),
        lambda days: grouped(
            select(
                day_of(e.created_at, session=session), e.model, func.coalesce(func.sum(e.charged_usd), 0), func.count()
            ).where(e.kind == SETTLE, *within(e.created_at, days)),
            2,
        ),
        session=session,
    )
    ordered = sorted((as_date(d), model, Decimal(usd), int(n)) for d, model, usd, n in rows)
    return tuple(DailySpend(*row) for row in ordered)


def spend_by_user(*, session: Session, span: DateRange) -> tuple[UserSpend, ...]:
    """Sum the real cost of the settle entries made in ``span``, by user, largest first."""
    r, e = RollupBudget, LedgerEntry
    rows = read_split(
        span,
        r,
        lambda days: grouped(
            select(r.user_id, func.sum(r.charged_usd), func.sum(r.settles)).where(*on_days(r, days), r.settles > 0), 1
        ),
        lambda days: grouped(
            select(e.user_id, func.coalesce(func.sum(e.charged_usd), 0), func.count()).where(
                e.kind == SETTLE, *within(e.created_at, days)
            ),
            1,
        ),
        session=session,
    )
    usd: dict[int, Decimal] = defaultdict(Decimal)
    settled: Counter[int] = Counter()
    for user_id, amount, n in rows:
        usd[int(user_id)] += Decimal(amount)
        settled[int(user_id)] += int(n)
    names = {uid: name for uid, name in session.execute(select(User.id, User.username).where(User.id.in_(list(usd))))}
    spend = [UserSpend(uid, names.get(uid, f"user {uid}"), usd[uid], settled[uid]) for uid in usd]
    return tuple(sorted(spend, key=lambda s: (-s.usd, s.username)))


def burn_budgets(*, session: Session, period: str, limits: Limits, today: date | None = None) -> BudgetReport:
    """Return every user's budget and committed spend for ``period`` (``YYYY-MM``), and its burn-down by day."""
    if not _PERIOD.fullmatch(period):
        raise ValidationError(f"Not a month (YYYY-MM): {period!r}.", field="period")
    first = date(int(period[:4]), int(period[5:]), 1)
    last = min((first + timedelta(days=31)).replace(day=1) - timedelta(days=1), today or utcnow().date())
    days = tuple(first + timedelta(days=n) for n in range((last - first).days + 1))
    r, e = RollupBudget, LedgerEntry
    # The period's entries start on its first day; a generation's last entry may come after the month.
    rows = read_split(
        DateRange(first, max(first, utcnow().date())),
        r,
        lambda span: select(r.user_id, r.day, r.committed_usd).where(r.period == period, *on_days(r, span)),
        lambda span: grouped(
            select(e.user_id, day_of(e.created_at, session=session), func.sum(e.amount_usd)).where(
                e.period == period, e.created_at >= span.bounds[0]
            ),
            2,
        ),
        session=session,
    )
    by_user: dict[int, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for user_id, d, amount in rows:
        shown = min(max(as_date(d), first), days[-1]) if days else first  # late entries: on the last day shown
        by_user[int(user_id)][shown] += Decimal(amount)
    burn = []
    for user_id, amounts in sorted(by_user.items()):
        running = Decimal(0)
        for d in days:
            running += amounts.get(d, Decimal(0))
            burn.append(BurnPoint(user_id, d, running))
    users = session.execute(
        select(User.id, User.username, User.monthly_budget_usd, User.disabled).order_by(User.username)
    ).tuples()
    budgets = tuple(
        UserBudget(
            user_id=uid,
            username=name,
            budget_usd=Decimal(own if own is not None else limits.default_monthly_budget_usd),
            committed_usd=sum(by_user[uid].values(), Decimal(0)) if uid in by_user else Decimal(0),
            uses_default=own is None,
            disabled=disabled,
        )
        for uid, name, own, disabled in users
    )
    return BudgetReport(period=period, days=days, users=budgets, burn=tuple(burn))


# -- the facade ---------------------------------------------------------------------------------
