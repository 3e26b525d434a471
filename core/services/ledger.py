"""The money ledger: reserve at submit, then settle or release, each at most once per generation.

The unique key ``(generation_id, kind)`` makes a second settle or release fail
in the database, so a job that runs twice cannot move money twice.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import Generation, LedgerEntry
from core.services.budgets import period_of


def _period(generation: Generation) -> str:
    """Every entry of a generation counts in the month it was submitted (UTC)."""
    return period_of(generation.created_at)


RESERVE = "reserve"
SETTLE = "settle"
RELEASE = "release"


def _has(session: Session, generation_id: str, kind: str) -> bool:
    stmt = select(LedgerEntry.id).where(LedgerEntry.generation_id == generation_id, LedgerEntry.kind == kind)
    return session.execute(stmt).first() is not None


def reserve(*, session: Session, generation: Generation) -> None:
    """Hold the generation's price against its user's spend."""
    session.add(
        LedgerEntry(
            generation_id=generation.id,
            user_id=generation.user_id,
            kind=RESERVE,
            amount_usd=generation.price_usd,
            period=_period(generation),
            model=generation.model,
        )
    )


def settle(*, session: Session, generation: Generation, cost: Decimal) -> None:
    """Replace the reservation by the real cost (once; a closed generation is left alone)."""
    if _has(session, generation.id, SETTLE) or _has(session, generation.id, RELEASE):
        return
    session.add(
        LedgerEntry(
            generation_id=generation.id,
            user_id=generation.user_id,
            kind=SETTLE,
            amount_usd=cost - generation.price_usd,
            charged_usd=cost,
            period=_period(generation),
            model=generation.model,
        )
    )
    generation.cost_usd = cost


def release(*, session: Session, generation: Generation) -> None:
    """Give the reservation back (failure, safety filter, cancel); once only."""
    if _has(session, generation.id, SETTLE) or _has(session, generation.id, RELEASE):
        return
    session.add(
        LedgerEntry(
            generation_id=generation.id,
            user_id=generation.user_id,
            kind=RELEASE,
            amount_usd=-generation.price_usd,
            period=_period(generation),
            model=generation.model,
        )
    )
    generation.cost_usd = Decimal(0)


def committed_usd(*, session: Session, user_id: int) -> Decimal:
    """Return what a user has committed: open reservations plus settled costs."""
    stmt = select(func.coalesce(func.sum(LedgerEntry.amount_usd), 0)).where(LedgerEntry.user_id == user_id)
    return Decimal(session.execute(stmt).scalar_one())


def generation_balance(*, session: Session, generation_id: str) -> Decimal:
    """Return the sum of a generation's entries: price while open, cost once settled, 0 once released."""
    stmt = select(func.coalesce(func.sum(LedgerEntry.amount_usd), 0)).where(LedgerEntry.generation_id == generation_id)
    return Decimal(session.execute(stmt).scalar_one())
