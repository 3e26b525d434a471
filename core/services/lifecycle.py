"""Status changes: compare-and-set on the row, checked against core.status, with an event each.

Every change is ``UPDATE … WHERE status = <expected> [AND job_seq = <token>]``, so
two jobs racing on one generation cannot both move it; the loser gets a
TransitionError and stops.

Once the transaction commits (never before, never after a rollback), each
change is counted in ``core.metrics`` and written as one log line with the
generation id (``core.logs.log_event``). A final status also records, in the same transaction,
one delivery per active outgoing webhook of the owner (``core.services.outgoing``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, update
from sqlalchemy.orm import Session

from core import metrics
from core.errors import TransitionError
from core.logs import log_event
from core.models import Event, Generation, utcnow
from core.services import outgoing
from core.status import Status, can_transition

PENDING_KEY = "veogen_pending_events"
"""``session.info`` key of the events this transaction will announce once it commits."""


@dataclass(frozen=True)
class _Pending:
    generation_id: str
    provider: str
    model: str
    kind: str
    from_status: str | None
    to_status: str | None
    detail: str


def _remember(session: Session, generation: Generation, kind: str, from_status: str, to: str, detail: str) -> None:
    pending = _Pending(generation.id, generation.provider, generation.model, kind, from_status, to, detail)
    session.info.setdefault(PENDING_KEY, []).append(pending)


@event.listens_for(Session, "after_commit")
def _announce(session: Session) -> None:
    for item in session.info.pop(PENDING_KEY, []):
        if item.kind == "status" and item.to_status:
            metrics.TRANSITIONS.labels(item.provider, item.to_status).inc()
            if Status(item.to_status).is_final:
                metrics.FINISHED.labels(item.provider, item.model, item.to_status).inc()
            text = f"{item.from_status} → {item.to_status}"
        else:
            text = item.kind
        log_event(
            item.generation_id,
            item.kind,
            f"{text}: {item.detail}" if item.detail else text,
            status=item.to_status,
        )


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


def record_event(*, session: Session, generation: Generation, kind: str, detail: str = "") -> None:
    """Add a non-status event (a reconcile, a retry) to the generation's timeline."""
    _remember(session, generation, kind, generation.status, generation.status, detail)
    session.add(
        Event(
            generation_id=generation.id,
            user_id=generation.user_id,
            kind=kind,
            from_status=generation.status,
            to_status=generation.status,
            detail=detail,
        )
    )


def transition(
    *,
    session: Session,
    generation: Generation,
    to: Status,
    detail: str = "",
    seq: int | None = None,
    **values: Any,
) -> None:
    """Move ``generation`` to ``to`` if it is still where we saw it; record the event.

    ``values`` are written in the same UPDATE (an operation name, an error).
    Raises TransitionError when the table forbids the change or another
    process moved the row first.
    """
    current = Status(generation.status)
    if not can_transition(current, to):
        raise TransitionError(f"generation {generation.id}: {current.value} → {to.value} is not allowed")
    now = utcnow()
    changes: dict[str, Any] = {"status": to.value, "updated_at": now, **values}
    if to.is_final:
        changes["finished_at"] = now
    if current == Status.RUNNING:
        changes.setdefault("provider_done_at", now)  # the provider's part is over, whatever comes next
    stmt = update(Generation).where(Generation.id == generation.id, Generation.status == current.value)
    if seq is not None:
        stmt = stmt.where(Generation.job_seq == seq)
    result = session.execute(stmt.values(**changes).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise TransitionError(f"generation {generation.id} moved on before {current.value} → {to.value}")
    for key, value in changes.items():
        setattr(generation, key, value)
    _remember(session, generation, "status", current.value, to.value, detail)
    session.add(
        Event(
            generation_id=generation.id,
            user_id=generation.user_id,
            kind="status",
            from_status=current.value,
            to_status=to.value,
            detail=detail,
        )
    )
    if to.is_final:  # the user's webhooks hear of it in this same transaction, so no end goes unannounced
        outgoing.record_generation_end(session=session, generation=generation)


def bump_seq(*, session: Session, generation: Generation, expected: int, **values: Any) -> int:
    """Take the next fencing token (compare-and-set) and return it; TransitionError if stale."""
    new = expected + 1
    stmt = (
        update(Generation)
        .where(Generation.id == generation.id, Generation.job_seq == expected)
        .values(job_seq=new, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if session.execute(stmt).rowcount != 1:  # type: ignore[attr-defined]
        raise TransitionError(f"generation {generation.id} was rescheduled by another process")
    generation.job_seq = new
    for key, value in values.items():
        setattr(generation, key, value)
    return new
