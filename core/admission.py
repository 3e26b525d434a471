"""Admission: which queued generations go to the provider now (one of the scheduler process's duties).

Admission decides which queued generations go to the provider now, and
submits them (``Pipeline.start``) in this one process: a studio-wide cap on
operations in flight and on submissions per minute (sized to the project's
Veo quota), a per-user cap, a 429's retry delay honoured through
``not_before``, and round-robin between users so one user's fifty queued
generations never starve another user's one. Paid providers are held to the
caps; the offline renderer, which costs nothing, only to the ordering.
The other duty, reconciliation, is ``core.reconciler``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from core import metrics
from core.errors import TransitionError
from core.models import Generation, utcnow
from core.pipeline import Pipeline
from core.status import Status

log = logging.getLogger(__name__)

IN_FLIGHT = (Status.SUBMITTING.value, Status.RUNNING.value)
"""Statuses in which an operation occupies the provider."""

CANDIDATES_PER_PASS = 500
"""Queued generations looked at per admission pass (oldest first)."""


def fair_order(candidates: list[tuple[str, int, int]], in_flight_by_user: dict[int, int]) -> list[tuple[str, int, int]]:
    """Round-robin ``(id, user, seq)`` candidates between users, least busy first, each user's oldest first."""
    by_user: dict[int, list[tuple[str, int, int]]] = defaultdict(list)
    for candidate in candidates:
        by_user[candidate[1]].append(candidate)
    users = sorted(by_user, key=lambda u: (in_flight_by_user.get(u, 0), candidates.index(by_user[u][0])))
    ordered: list[tuple[str, int, int]] = []
    while any(by_user[u] for u in users):
        for user in users:
            if by_user[user]:
                ordered.append(by_user[user].pop(0))
    return ordered


class Admission:
    """Admission over one pipeline: owns its reads; submissions go through ``Pipeline.start``."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.settings = pipeline.settings
        self.sessions = pipeline.sessions

    def admit(self, now: datetime | None = None, between: Callable[[], bool] | None = None) -> list[str]:
        """Submit the queued generations that may go now, fairly; return their ids.

        ``between`` runs after each submission (the scheduler keeps its leader lock
        and moves due polls there); when it returns False the pass stops.
        """
        now = now or utcnow()
        admitted: list[str] = []
        with self.sessions() as session:
            providers = (
                session.execute(select(Generation.provider).where(Generation.status == Status.QUEUED.value).distinct())
                .scalars()
                .all()
            )
        for provider_name in providers:
            admitted += self._admit_provider(provider_name, now, between)
        return admitted

    def _admit_provider(self, provider_name: str, now: datetime, between: Callable[[], bool] | None) -> list[str]:
        paid = self.pipeline.paid(provider_name)
        settings = self.settings
        with self.sessions() as session:
            in_flight_rows = session.execute(
                select(Generation.user_id, func.count())
                .where(Generation.provider == provider_name, Generation.status.in_(IN_FLIGHT))
                .group_by(Generation.user_id)
            ).all()
            recent = session.execute(
                select(func.count())
                .select_from(Generation)
                .where(Generation.provider == provider_name, Generation.submitted_at >= now - timedelta(minutes=1))
            ).scalar_one()
            candidates = [
                (gid, user, seq)
                for gid, user, seq in session.execute(
                    select(Generation.id, Generation.user_id, Generation.job_seq)
                    .where(
                        Generation.provider == provider_name,
                        Generation.status == Status.QUEUED.value,
                        Generation.waits_for_shot_id.is_(None),  # a film's take waiting for the shot before it
                        or_(Generation.not_before.is_(None), Generation.not_before <= now),
                    )
                    .order_by(Generation.created_at, Generation.id)
                    .limit(CANDIDATES_PER_PASS)
                ).all()
            ]
        in_flight_by_user = {user: int(n) for user, n in in_flight_rows}
        room = len(candidates)
        if paid:
            room = min(
                settings.max_concurrent_operations - sum(in_flight_by_user.values()),
                settings.submits_per_minute - int(recent),
            )
        admitted: list[str] = []
        for gid, user, seq in fair_order(candidates, in_flight_by_user):
            if room <= 0:
                break
            if paid and in_flight_by_user.get(user, 0) >= settings.user_max_concurrent:
                continue
            try:
                self.pipeline.start(gid, seq)
            except TransitionError as exc:
                log.info("admission of %s: %s", gid, exc)
                continue
            admitted.append(gid)
            metrics.ADMISSION_SUBMITS.labels(provider_name).inc()
            in_flight_by_user[user] = in_flight_by_user.get(user, 0) + 1
            room -= 1
            if between is not None and not between():
                break
        return admitted
