"""Analytics: the Analytics page's data — the noun class that owns its sessions (and the roll-ups' transaction).

The aggregates are functions in ``core/services/analytics.py`` and
``core/services/rollups.py`` that take a session and never commit. Every read
refuses anyone but an admin. Built by ``core.studio.build_studio``. Imports
SQLAlchemy and ``core`` only.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.services.analytics import (
    DateRange,
    Report,
    burn_budgets,
    count_films,
    count_generations,
    default_range,
    spend_by_day,
    spend_by_user,
    time_generations,
)
from core.services.budgets import Limits
from core.services.rollups import pending_seal, seal_history
from core.services.users import require_admin


class Analytics:
    """The Analytics page's data for one studio; every read refuses non-admins."""

    def __init__(self, *, sessions: sessionmaker[Session], limits: Limits) -> None:
        self.sessions = sessions
        self.limits = limits

    def default_range(self) -> DateRange:
        return default_range()

    def seal(self) -> None:
        """Roll up the days that can no longer change; a read and nothing more when there are none.

        Every report calls it first; a periodic task may call it too, so that no page waits for it.
        """
        with self.sessions() as session:
            if pending_seal(session=session) == (None, None):
                return
        with transaction(self.sessions) as session:
            seal_history(session=session)

    def report(self, actor_id: int, span: DateRange, period: str) -> Report:
        """Everything the page shows for ``span`` and the budget ``period``."""
        with self.sessions() as session:
            require_admin(session=session, actor_id=actor_id)
        self.seal()
        with self.sessions() as session:
            return Report(
                span=span,
                counts=count_generations(session=session, span=span),
                timings=time_generations(session=session, span=span),
                daily_spend=spend_by_day(session=session, span=span),
                user_spend=spend_by_user(session=session, span=span),
                budgets=burn_budgets(session=session, period=period, limits=self.limits),
                films=count_films(session=session, span=span),
            )
