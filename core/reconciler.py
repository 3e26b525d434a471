"""Reconciliation: rows that lost their job get their next step (one of the scheduler process's duties).

A SIGKILLed worker or a flushed Redis leaves unfinished rows without a live job;
the reconciler finds those whose row is stale and enqueues the right next step
under a new fencing token. Rows past the deadline fail with a clear message; a
paid submit interrupted half-way is never sent again. Admission is ``core.admission``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from core import metrics
from core.db import transaction
from core.errors import TransitionError
from core.models import Generation, utcnow
from core.pipeline import UNKNOWN_OUTCOME, Pipeline, get_row
from core.queue import POLL_JOB
from core.services.lifecycle import bump_seq, record_event, transition
from core.status import UNFINISHED, Status

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReconcileReport:
    checked: int
    requeued: list[str]
    expired: list[str]


class Reconciler:
    """Reconciliation over one pipeline: owns its transactions."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.settings = pipeline.settings
        self.sessions = pipeline.sessions

    def reconcile(self) -> ReconcileReport:
        """Give every stale, job-less generation its next step; fail those past the deadline."""
        now = utcnow()
        stale_before = now - timedelta(seconds=self.settings.stale_after_seconds)
        deadline_before = now - timedelta(seconds=self.settings.operation_deadline_seconds)
        with self.sessions() as session:
            rows = session.execute(
                select(
                    Generation.id,
                    Generation.job_seq,
                    Generation.status,
                    Generation.operation_name,
                    Generation.provider,
                    func.coalesce(Generation.submitted_at, Generation.created_at),
                    Generation.updated_at,
                    Generation.waits_for_shot_id,
                ).where(Generation.status.in_(UNFINISHED))
            ).all()
        requeued: list[str] = []
        expired: list[str] = []
        for gid, seq, status, operation, provider_name, sent_at, updated_at, waits in rows:
            if waits is None and sent_at < deadline_before:  # a film's waiting take has not been sent
                minutes = self.settings.operation_deadline_seconds // 60
                self.pipeline.fail(
                    gid, None, f"The generation did not finish within {minutes} minutes.", code="DEADLINE"
                )
                expired.append(gid)
                continue
            if status == Status.QUEUED.value or updated_at > stale_before:
                continue  # queued rows are admission's; fresh rows are being worked on
            if status == Status.SUBMITTING.value and not operation:
                self._settle_interrupted_submit(gid, seq, provider_name)
                continue
            if self.pipeline.queue.is_live(gid, seq):
                continue
            try:
                with transaction(self.sessions) as session:
                    row = get_row(session, gid)
                    record_event(session=session, generation=row, kind="reconcile", detail="no live job; polling again")
                    new = bump_seq(session=session, generation=row, expected=seq)
            except TransitionError:
                continue
            self.pipeline.queue.enqueue(POLL_JOB, gid, new)
            requeued.append(gid)
        metrics.RECONCILE_REQUEUED.inc(len(requeued))
        metrics.RECONCILE_EXPIRED.inc(len(expired))
        if requeued or expired:
            log.info("reconcile: requeued %s, expired %s", requeued, expired)
        return ReconcileReport(checked=len(rows), requeued=requeued, expired=expired)

    def _settle_interrupted_submit(self, generation_id: str, seq: int, provider_name: str) -> None:
        """A submit that stopped half-way: a free provider may try again; a paid one never does."""
        if not self.pipeline.paid(provider_name):
            with transaction(self.sessions) as session:
                row = get_row(session, generation_id)
                transition(
                    session=session,
                    generation=row,
                    to=Status.QUEUED,
                    seq=seq,
                    detail="the submit was interrupted; queued again (the offline renderer costs nothing)",
                )
        else:
            self.pipeline.fail(generation_id, seq, UNKNOWN_OUTCOME, code="SUBMIT_OUTCOME_UNKNOWN", release=False)
