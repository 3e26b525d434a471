"""What operators look at: the state of the pipeline, read from the database at the moment of asking.

Used by the exporter (gauges at scrape time) and the admin Queue page. Every
function takes ``session`` keyword-only, reads only, and returns plain data.
Aggregates are single GROUP BY queries on indexed columns (status,
finished_at, the ledger's kind/created_at and period), so a scrape stays cheap
on a long history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from core.models import Generation, LedgerEntry, User
from core.services.budgets import Limits, period_of
from core.status import FINAL, UNFINISHED, Status

IN_FLIGHT = tuple(s.value for s in (Status.SUBMITTING, Status.RUNNING, Status.FETCHING, Status.PROCESSING))
"""Statuses between admission and the end: the provider or our media processing has the generation."""

BUDGET_FRACTIONS = ("0.8", "1")
"""Shares of a budget at which users are counted (``veogen_budget_users_over``)."""


def _age(now: datetime, then: datetime | None) -> float:
    return max(0.0, (now - then).total_seconds()) if then else 0.0


@dataclass(frozen=True)
class Health:
    """The studio at one moment: counts, ages and money, for gauges and the Queue page's header."""

    by_status: dict[str, int]
    in_flight: dict[str, int]
    """Generations in flight, by provider."""
    oldest_in_flight_seconds: dict[str, float]
    """Age since submit of the oldest in-flight generation, by provider."""
    oldest_queued_seconds: float
    stuck: int
    finished_last_hour: dict[str, int]
    errors_last_hour: dict[str, int]
    """Generations failed in the last hour, by error code."""
    spend_today_usd: Decimal
    spend_month_usd: Decimal
    reserved_usd: Decimal
    budget_month_usd: Decimal
    budget_max_used_ratio: float
    users_over: dict[str, int]
    """Users at or above each of ``BUDGET_FRACTIONS`` of their budget."""


def measure(*, session: Session, now: datetime, stuck_after_seconds: float, limits: Limits) -> Health:
    """Read the studio's state in a handful of aggregate queries."""
    by_status = {s.value: 0 for s in Status}
    for status, count in session.execute(select(Generation.status, func.count()).group_by(Generation.status)):
        by_status[status] = int(count)

    in_flight: dict[str, int] = {}
    oldest: dict[str, float] = {}
    for provider, count, first in session.execute(
        select(
            Generation.provider, func.count(), func.min(func.coalesce(Generation.submitted_at, Generation.created_at))
        )
        .where(Generation.status.in_(IN_FLIGHT))
        .group_by(Generation.provider)
    ):
        in_flight[provider] = int(count)
        oldest[provider] = _age(now, first)

    first_queued = session.execute(
        select(func.min(Generation.created_at)).where(
            Generation.status == Status.QUEUED.value,
            Generation.waits_for_shot_id.is_(None),  # a film's take waiting for the shot before it is not stuck
        )
    ).scalar_one()
    stuck = session.execute(
        select(func.count())
        .select_from(Generation)
        .where(
            Generation.status.in_(IN_FLIGHT),
            Generation.updated_at < now - timedelta(seconds=stuck_after_seconds),
        )
    ).scalar_one()

    hour_ago = now - timedelta(hours=1)
    finished = {s.value: 0 for s in FINAL}
    for status, count in session.execute(
        select(Generation.status, func.count()).where(Generation.finished_at >= hour_ago).group_by(Generation.status)
    ):
        finished[status] = int(count)
    errors = {
        str(code or "FAILED"): int(count)
        for code, count in session.execute(
            select(Generation.error_code, func.count())
            .where(Generation.finished_at >= hour_ago, Generation.status == Status.FAILED.value)
            .group_by(Generation.error_code)
        )
    }

    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    spend_today = session.execute(
        select(func.coalesce(func.sum(LedgerEntry.charged_usd), 0)).where(
            LedgerEntry.kind == "settle", LedgerEntry.created_at >= midnight
        )
    ).scalar_one()
    reserved = session.execute(
        select(func.coalesce(func.sum(Generation.price_usd), 0)).where(Generation.status.in_(UNFINISHED))
    ).scalar_one()
    budgets = _budgets(session, period_of(now), limits)
    month = sum((committed for _budget, committed in budgets), Decimal(0))
    total_budget = sum((budget for budget, _committed in budgets), Decimal(0))
    ratios = [
        float(committed / budget) if budget > 0 else (1.0 if committed > 0 else 0.0) for budget, committed in budgets
    ]
    return Health(
        by_status=by_status,
        in_flight=in_flight,
        oldest_in_flight_seconds=oldest,
        oldest_queued_seconds=_age(now, first_queued),
        stuck=int(stuck),
        finished_last_hour=finished,
        errors_last_hour=errors,
        spend_today_usd=Decimal(spend_today or 0),
        spend_month_usd=month,
        reserved_usd=Decimal(reserved),
        budget_month_usd=total_budget,
        budget_max_used_ratio=max(ratios, default=0.0),
        users_over={f: sum(1 for r in ratios if r >= float(f)) for f in BUDGET_FRACTIONS},
    )


def _budgets(session: Session, period: str, limits: Limits) -> list[tuple[Decimal, Decimal]]:
    """``(budget, committed this period)`` of every enabled user."""
    committed = func.coalesce(func.sum(LedgerEntry.amount_usd), 0)
    rows = session.execute(
        select(User.monthly_budget_usd, committed)
        .select_from(User)
        .outerjoin(LedgerEntry, and_(LedgerEntry.user_id == User.id, LedgerEntry.period == period))
        .where(User.disabled.is_(False))
        .group_by(User.id, User.monthly_budget_usd)
    ).all()
    return [
        (limits.default_monthly_budget_usd if budget is None else Decimal(budget), Decimal(spent or 0))
        for budget, spent in rows
    ]


@dataclass(frozen=True)
class UnfinishedRow:
    """One unfinished generation, as the Queue page lists it."""

    id: str
    username: str
    user_id: int
    provider: str
    model: str
    status: str
    created_at: datetime
    submitted_at: datetime | None
    updated_at: datetime
    age_seconds: float
    """Since submit (since creation while still queued)."""
    idle_seconds: float
    """Since the row last changed (a poll, a status change)."""
    job_seq: int
    has_operation: bool
    retry_count: int
    poll_count: int


def unfinished(*, session: Session, now: datetime, limit: int = 200) -> list[UnfinishedRow]:
    """Unfinished generations, the longest-running first."""
    started = func.coalesce(Generation.submitted_at, Generation.created_at)
    rows = session.execute(
        select(Generation, User.username)
        .join(User, User.id == Generation.user_id)
        .where(Generation.status.in_(UNFINISHED))
        .order_by(started, Generation.id)
        .limit(limit)
    ).all()
    return [
        UnfinishedRow(
            id=g.id,
            username=username,
            user_id=g.user_id,
            provider=g.provider,
            model=g.model,
            status=g.status,
            created_at=g.created_at or now,
            submitted_at=g.submitted_at,
            updated_at=g.updated_at or now,
            age_seconds=_age(now, g.submitted_at or g.created_at),
            idle_seconds=_age(now, g.updated_at),
            job_seq=g.job_seq,
            has_operation=bool(g.operation_name),
            retry_count=g.retry_count,
            poll_count=g.poll_count,
        )
        for g, username in rows
    ]


@dataclass(frozen=True)
class FailureRow:
    id: str
    username: str
    model: str
    status: str
    finished_at: datetime | None
    error_code: str
    message: str


def recent_failures(*, session: Session, limit: int = 50) -> list[FailureRow]:
    """The newest failed or safety-filtered generations with their messages."""
    rows = session.execute(
        select(Generation, User.username)
        .join(User, User.id == Generation.user_id)
        .where(Generation.status.in_([Status.FAILED.value, Status.FILTERED.value]))
        .order_by(Generation.finished_at.desc(), Generation.id)
        .limit(limit)
    ).all()
    return [
        FailureRow(
            id=g.id,
            username=username,
            model=g.model,
            status=g.status,
            finished_at=g.finished_at,
            error_code=g.error_code or ("SAFETY" if g.status == Status.FILTERED.value else ""),
            message=g.error_message or "; ".join(g.safety_reasons or []),
        )
        for g, username in rows
    ]


def owner_of(*, session: Session, generation_id: str) -> int | None:
    """The id of the user a generation belongs to (None when there is no such generation)."""
    return session.execute(select(Generation.user_id).where(Generation.id == generation_id)).scalar_one_or_none()
