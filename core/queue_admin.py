"""The operator side of the studio (admins): the queue at a glance, and cancel/retry on anyone's generation.

The noun class of the operators' queue: each method checks the actor is an admin,
owns its session, and for actions goes through the very methods a creator's own
buttons use (``Generations.cancel``, ``Generations.retry``), on behalf of the owner, so
the ledger and the rules are the same and nothing is submitted twice. Imports
no UI code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from core.errors import NotFoundError
from core.models import utcnow
from core.services import health, users
from core.services.generations import GenerationView
from core.services.health import FailureRow, Health, UnfinishedRow
from core.status import Status

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from core.config import Settings
    from core.generations import Generations
    from core.queue import JobQueue
    from core.services.budgets import Limits

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueSnapshot:
    """Everything the Queue page shows, read at one moment."""

    health: Health
    jobs: dict[str, int]
    """RQ jobs by state (queued, scheduled, started, failed); empty when Redis did not answer."""
    workers_alive: int
    scheduler_leading: bool
    unfinished: list[UnfinishedRow]
    stuck: list[UnfinishedRow]
    """In flight, untouched for ``VEOGEN_STUCK_AFTER_SECONDS``, or with no live job past the staleness window."""
    failures: list[FailureRow]
    failed_jobs: list[str]
    read_at: datetime
    redis_error: str | None = None
    no_live_job: set[str] = field(default_factory=set)


class QueueAdmin:
    """Queue views and actions for admins."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: sessionmaker[Session],
        queue: JobQueue,
        limits: Limits,
        generations: Generations,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.queue = queue
        self.limits = limits
        self.generations = generations

    def _admin(self, actor_id: int) -> str:
        with self.sessions() as session:
            return users.require_admin(session=session, actor_id=actor_id).username

    def snapshot(self, actor_id: int) -> QueueSnapshot:
        """The queue now: counts, in-flight generations with their ages, stuck ones, recent failures."""
        self._admin(actor_id)
        now = utcnow()
        with self.sessions() as session:
            measured = health.measure(
                session=session,
                now=now,
                stuck_after_seconds=self.settings.stuck_after_seconds,
                limits=self.limits,
            )
            rows = health.unfinished(session=session, now=now)
            failures = health.recent_failures(session=session)
        queue = self.queue
        jobs: dict[str, int] = {}
        alive, leading, failed_jobs, redis_error = 0, False, [], None
        no_live: set[str] = set()
        try:
            jobs = queue.counts()
            alive = queue.workers_alive()
            leading = queue.scheduler_leading()
            failed_jobs = queue.failed_job_ids()
            for row in rows:
                if (
                    row.status != Status.QUEUED.value
                    and row.idle_seconds > self.settings.stale_after_seconds
                    and not queue.is_live(row.id, row.job_seq)
                ):
                    no_live.add(row.id)
        except RedisError as exc:
            redis_error = f"Redis did not answer: {exc}"
            log.warning("queue snapshot: %s", redis_error)
        stuck = [
            row
            for row in rows
            if row.status != Status.QUEUED.value
            and (row.idle_seconds > self.settings.stuck_after_seconds or row.id in no_live)
        ]
        return QueueSnapshot(
            health=measured,
            jobs=jobs,
            workers_alive=alive,
            scheduler_leading=leading,
            unfinished=rows,
            stuck=stuck,
            failures=failures,
            failed_jobs=failed_jobs,
            read_at=now,
            redis_error=redis_error,
            no_live_job=no_live,
        )

    def _owner(self, generation_id: str) -> int:
        with self.sessions() as session:
            owner = health.owner_of(session=session, generation_id=generation_id)
        if owner is None:
            raise NotFoundError("No such generation.")
        return owner

    def cancel(self, actor_id: int, generation_id: str) -> GenerationView:
        """Cancel anyone's queued generation, as its owner's Cancel button does (reservation released)."""
        name = self._admin(actor_id)
        return self.generations.cancel(self._owner(generation_id), generation_id, by=f"administrator {name}")

    def retry(self, actor_id: int, generation_id: str) -> tuple[GenerationView, bool]:
        """Retry anyone's failed generation as a new one, as its owner's Retry button does (their budget)."""
        self._admin(actor_id)
        return self.generations.retry(self._owner(generation_id), generation_id)
