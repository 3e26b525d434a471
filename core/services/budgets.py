"""Budgets and caps, checked in the same transaction that reserves the money.

The user's row is locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite takes
its write lock at BEGIN, see core.db), so concurrent submits of one user are
checked one after the other and cannot together go over the budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import BudgetError, NotFoundError
from core.models import Generation, LedgerEntry, User, utcnow
from core.status import UNFINISHED


@dataclass(frozen=True)
class Limits:
    """Studio-wide defaults for users who have none of their own."""

    default_monthly_budget_usd: Decimal
    default_max_open_generations: int
    duplicate_window_seconds: int


@dataclass(frozen=True)
class BudgetView:
    period: str
    budget_usd: Decimal
    committed_usd: Decimal
    """Open reservations plus settled costs this period."""
    open_generations: int
    max_open_generations: int

    @property
    def remaining_usd(self) -> Decimal:
        return max(Decimal(0), self.budget_usd - self.committed_usd)


def period_of(moment: datetime) -> str:
    """The budget period (UTC calendar month) a moment falls in, as ``YYYY-MM``."""
    return f"{moment.year:04d}-{moment.month:02d}"


def budget_of(
    *, session: Session, user_id: int, limits: Limits, lock: bool = False, now: datetime | None = None
) -> BudgetView:
    """Return the user's budget, spend and open generations for the current period."""
    stmt = select(User).where(User.id == user_id)
    if lock:
        stmt = stmt.with_for_update()
    user = session.execute(stmt).scalar_one_or_none()
    if user is None:
        raise NotFoundError("No such user.")
    period = period_of(now or utcnow())
    committed = session.execute(
        select(func.coalesce(func.sum(LedgerEntry.amount_usd), 0)).where(
            LedgerEntry.user_id == user_id, LedgerEntry.period == period
        )
    ).scalar_one()
    open_count = session.execute(
        select(func.count())
        .select_from(Generation)
        .where(Generation.user_id == user_id, Generation.status.in_(UNFINISHED))
    ).scalar_one()
    return BudgetView(
        period=period,
        budget_usd=Decimal(
            user.monthly_budget_usd if user.monthly_budget_usd is not None else limits.default_monthly_budget_usd
        ),
        committed_usd=Decimal(committed),
        open_generations=int(open_count),
        max_open_generations=user.max_open_generations or limits.default_max_open_generations,
    )


def check_budget(*, session: Session, user_id: int, price: Decimal, limits: Limits, cap: bool = True) -> BudgetView:
    """Lock the user, then refuse a request that would pass their budget or (with ``cap``) open-generation cap."""
    view = budget_of(session=session, user_id=user_id, limits=limits, lock=True)
    if cap and view.open_generations >= view.max_open_generations:
        raise BudgetError(
            f"You have {view.open_generations} unfinished generations; the limit is "
            f"{view.max_open_generations}. Wait for some to finish or cancel queued ones."
        )
    if view.committed_usd + price > view.budget_usd:
        raise BudgetError(
            f"This request costs ${price:.2f}, but only ${view.remaining_usd:.2f} of your "
            f"${view.budget_usd:.2f} budget for {view.period} is left."
        )
    return view
