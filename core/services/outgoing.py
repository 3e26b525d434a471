"""Outgoing webhooks: the rules for a user's endpoints and the events VeoGen delivers to them.

An endpoint is an ``http(s)://`` URL with a ``whsec_…`` secret (sealed with the
Vault; shown once). When a generation reaches a final status or a film's assembly
ends, ``record_generation_end`` / ``record_movie_end`` add one delivery per active
endpoint of the owner *in the caller's transaction*, so an event exists exactly
when its status change does; the ids are noted in ``session.info`` and queued by
``core.outgoing`` once the transaction commits.

Where an endpoint may point (no server-side request forgery) is
core/services/webhook_targets.py: checked here when it is registered, and by
``core.outgoing`` again at each delivery.

Functions take ``session`` keyword-only and never commit; ``core.outgoing.OutgoingWebhooks`` does.
"""

from __future__ import annotations

import base64
import json
import random
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.errors import NotFoundError, TransitionError, ValidationError
from core.models import Event, Generation, Movie, User, WebhookDelivery, WebhookEndpoint, utcnow
from core.services.credentials import Vault
from core.services.webhook_targets import check_target

MAX_DESCRIPTION_CHARS = 200
"""Longest endpoint description, in characters."""

MAX_ENDPOINTS_PER_USER = 10
"""Endpoints one user may register."""

RETRY_SCHEDULE_SECONDS = (5, 60, 300, 1800, 7200)
"""Waits between attempts, in seconds (each ±20 % jitter): the 2nd attempt 5 s after the 1st, … the 6th
two hours after the 5th; then the delivery is ``failed``."""

MAX_ATTEMPTS = len(RETRY_SCHEDULE_SECONDS) + 1
"""Attempts a delivery gets before it is ``failed`` (a replay starts a new delivery with as many)."""

JITTER = 0.2
"""Share of each wait drawn at random either way, so many failed deliveries do not return at once."""

LEASE_SECONDS = 60
"""How long a started attempt holds its delivery, in seconds: a worker that dies mid-attempt is retried after it."""

SECRET_PREFIX = "whsec_"  # noqa: S105  (a prefix, not a secret)
"""How every signing secret starts (the Standard Webhooks form: the prefix, then base64 of the key)."""

SECRET_BYTES = 24
"""Random bytes of a signing key (192 bits)."""

EVENT_TYPES = {
    "generation.succeeded": "a generation finished with its videos",
    "generation.failed": "a generation failed",
    "generation.filtered": "a generation was blocked by the provider's safety filter",
    "generation.canceled": "a generation was canceled",
    "movie.assembled": "a film was assembled",
    "movie.assembly_failed": "a film could not be assembled",
}
"""Every event VeoGen sends, with what it means."""

STATUSES = ("pending", "delivered", "failed")
"""A delivery's statuses."""

PENDING_KEY = "veogen_outgoing_deliveries"
"""``session.info`` key of the deliveries this transaction made, queued once it commits."""


@dataclass(frozen=True)
class EndpointView:
    """An endpoint as its owner sees it: never the secret."""

    id: int
    url: str
    description: str
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class DeliveryView:
    """One delivery in the owner's log."""

    id: int
    endpoint_id: int
    url: str
    event_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class Attempt:
    """An attempt a worker is about to make: where, with what secret, what body."""

    delivery_id: int
    number: int
    url: str
    secret: str
    event_id: str
    body: str


# -- endpoints ----------------------------------------------------------------


def _endpoint_view(row: WebhookEndpoint) -> EndpointView:
    return EndpointView(row.id, row.url, row.description, row.active, row.created_at)


def new_secret() -> str:
    """A fresh Standard Webhooks secret: ``whsec_`` and base64 of random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def check_description(description: str) -> str:
    """The description without surrounding spaces; refuse an over-long one or one with control characters."""
    text = unicodedata.normalize("NFC", description or "").strip()
    if len(text) > MAX_DESCRIPTION_CHARS:
        raise ValidationError(
            f"The description is {len(text)} characters long; the limit is {MAX_DESCRIPTION_CHARS}.",
            field="description",
        )
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in text):
        raise ValidationError("The description contains an invisible or control character.", field="description")
    return text


def create_endpoint(
    *, session: Session, vault: Vault, user_id: int, url: str, description: str = "", allow_private: bool
) -> tuple[EndpointView, str]:
    """Register an endpoint for the user; return it and its signing secret (shown once, stored sealed)."""
    user = session.get(User, user_id, with_for_update=True)
    if user is None or user.disabled:
        raise NotFoundError("No such user.")
    text = check_description(description)
    target = check_target(url, allow_private=allow_private)
    held = session.execute(select(func.count()).where(WebhookEndpoint.user_id == user_id)).scalar_one()
    if held >= MAX_ENDPOINTS_PER_USER:
        raise ValidationError(
            f"You have {MAX_ENDPOINTS_PER_USER} webhook endpoints, the most allowed; delete one first.", field="url"
        )
    secret = new_secret()
    row = WebhookEndpoint(
        user_id=user_id,
        url=target,
        description=text,
        secret_sealed=vault.seal(secret),
        active=True,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    session.add(Event(user_id=user_id, kind="webhook", detail=f"webhook endpoint {row.id} registered"))
    return _endpoint_view(row), secret


def _owned_endpoint(session: Session, user_id: int, endpoint_id: int) -> WebhookEndpoint:
    row = session.get(WebhookEndpoint, endpoint_id)
    if row is None or row.user_id != user_id:
        raise NotFoundError("No such webhook endpoint.")
    return row


def list_endpoints(*, session: Session, user_id: int) -> list[EndpointView]:
    """The user's endpoints, newest first."""
    rows = session.execute(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.user_id == user_id)
        .order_by(WebhookEndpoint.created_at.desc(), WebhookEndpoint.id.desc())
    ).scalars()
    return [_endpoint_view(row) for row in rows]


def set_endpoint_active(*, session: Session, user_id: int, endpoint_id: int, active: bool) -> EndpointView:
    """Pause or resume one of the user's endpoints (a paused one gets no new events)."""
    row = _owned_endpoint(session, user_id, endpoint_id)
    row.active = active
    return _endpoint_view(row)


def delete_endpoint(*, session: Session, user_id: int, endpoint_id: int) -> None:
    """Delete one of the user's endpoints with its delivery log (pending deliveries are dropped)."""
    row = _owned_endpoint(session, user_id, endpoint_id)
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == row.id))
    session.delete(row)
    session.add(Event(user_id=user_id, kind="webhook", detail=f"webhook endpoint {endpoint_id} deleted"))


# -- events -------------------------------------------------------------------


def _record(session: Session, user_id: int, event_type: str, data: dict[str, Any]) -> list[int]:
    endpoints = session.execute(
        select(WebhookEndpoint.id).where(WebhookEndpoint.user_id == user_id, WebhookEndpoint.active.is_(True))
    ).scalars()
    ids = list(endpoints)
    if not ids:
        return []
    now = utcnow()
    event_id = f"msg_{uuid.uuid4().hex}"
    payload = {"type": event_type, "timestamp": now.isoformat(), "data": data}
    rows = [
        WebhookDelivery(
            endpoint_id=endpoint_id,
            event_id=event_id,
            event_type=event_type,
            payload=payload,
            attempts=0,
            next_attempt_at=now,
            status="pending",
            created_at=now,
            updated_at=now,
        )
        for endpoint_id in ids
    ]
    session.add_all(rows)
    session.flush()
    made = [row.id for row in rows]
    session.info.setdefault(PENDING_KEY, []).extend(made)
    return made


def record_generation_end(*, session: Session, generation: Generation) -> list[int]:
    """Add a delivery of ``generation.<status>`` for each of the owner's active endpoints; return their ids."""
    data = {
        "id": generation.id,
        "status": generation.status,
        "model": generation.model,
        "mode": generation.mode,
        "movie_id": generation.movie_id,
        "price_usd": str(generation.price_usd) if generation.price_usd is not None else None,
        "error_code": generation.error_code,
        "error_message": generation.error_message,
        "safety_reasons": generation.safety_reasons,
        "finished_at": generation.finished_at.isoformat() if generation.finished_at else None,
        "url": f"/v1/generations/{generation.id}",
    }
    return _record(session, generation.user_id, f"generation.{generation.status}", data)


def record_movie_end(*, session: Session, movie: Movie) -> list[int]:
    """Add a delivery of ``movie.assembled`` or ``movie.assembly_failed`` for each of the owner's active endpoints."""
    done = movie.assembly_status == "done"
    data = {
        "id": movie.id,
        "title": movie.title,
        "assembly_status": movie.assembly_status,
        "message": movie.assembly_message,
        "assembled_at": movie.assembled_at.isoformat() if done and movie.assembled_at else None,
    }
    return _record(session, movie.user_id, "movie.assembled" if done else "movie.assembly_failed", data)


# -- deliveries ---------------------------------------------------------------


def _delivery_view(row: WebhookDelivery, url: str) -> DeliveryView:
    return DeliveryView(
        id=row.id,
        endpoint_id=row.endpoint_id,
        url=url,
        event_id=row.event_id,
        event_type=row.event_type,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        payload=row.payload,
    )


def list_deliveries(
    *, session: Session, user_id: int, endpoint_id: int | None = None, limit: int = 50
) -> list[DeliveryView]:
    """The user's latest deliveries (of one endpoint, or all), newest first."""
    query = (
        select(WebhookDelivery, WebhookEndpoint.url)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookEndpoint.user_id == user_id)
    )
    if endpoint_id is not None:
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    rows = session.execute(query.order_by(WebhookDelivery.id.desc()).limit(limit)).all()
    return [_delivery_view(row, url) for row, url in rows]


def replay_delivery(*, session: Session, user_id: int, delivery_id: int) -> DeliveryView:
    """Send a finished delivery again: a new delivery of the same event (same id) to the same endpoint."""
    found = session.execute(
        select(WebhookDelivery, WebhookEndpoint)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id == delivery_id)
    ).first()
    if found is None or found[1].user_id != user_id:
        raise NotFoundError("No such delivery.")
    old, endpoint = found
    if old.status == "pending":
        raise TransitionError("This delivery is still being attempted; replay it once it has been delivered or failed.")
    if not endpoint.active:
        raise TransitionError("This endpoint is paused; resume it to replay its deliveries.")
    now = utcnow()
    row = WebhookDelivery(
        endpoint_id=endpoint.id,
        event_id=old.event_id,
        event_type=old.event_type,
        payload=old.payload,
        attempts=0,
        next_attempt_at=now,
        status="pending",
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    session.info.setdefault(PENDING_KEY, []).append(row.id)
    return _delivery_view(row, endpoint.url)


def claim_attempt(*, session: Session, vault: Vault, delivery_id: int, now: datetime) -> Attempt | None:
    """Take the next attempt of a due, pending delivery (held for ``LEASE_SECONDS``); None when there is none."""
    row = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if row is None or row.status != "pending":
        return None
    if row.next_attempt_at is not None and row.next_attempt_at > now:
        return None
    endpoint = session.get(WebhookEndpoint, row.endpoint_id)
    if endpoint is None or not endpoint.active:
        row.status, row.last_error, row.updated_at, row.next_attempt_at = "failed", "the endpoint is paused", now, None
        return None
    row.attempts += 1
    row.next_attempt_at = now + timedelta(seconds=LEASE_SECONDS)
    row.updated_at = now
    return Attempt(row.id, row.attempts, endpoint.url, vault.open(endpoint.secret_sealed), row.event_id, body_of(row))


def body_of(row: WebhookDelivery) -> str:
    """The exact JSON text a delivery sends (and signs)."""
    return json.dumps(row.payload, separators=(",", ":"), sort_keys=True)


def backoff_seconds(attempts: int) -> float:
    """The wait before the attempt after ``attempts`` failed ones, with jitter, in seconds."""
    base = RETRY_SCHEDULE_SECONDS[min(attempts, len(RETRY_SCHEDULE_SECONDS)) - 1]
    return base * random.uniform(1 - JITTER, 1 + JITTER)


def record_attempt(
    *,
    session: Session,
    delivery_id: int,
    number: int,
    status_code: int | None,
    error: str | None,
    final: bool = False,
    now: datetime,
) -> float | None:
    """Record attempt ``number``'s answer; return the wait before the next one, or None when none follows.

    A 2xx answer delivers; otherwise the delivery waits per ``RETRY_SCHEDULE_SECONDS`` until
    ``MAX_ATTEMPTS``, then fails (``final`` fails it at once). An attempt that is no longer the latest changes nothing.
    """
    row = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if row is None or row.status != "pending" or row.attempts != number:
        return None
    row.last_status_code, row.last_error, row.updated_at = status_code, (error or None) and error[:500], now
    if status_code is not None and 200 <= status_code < 300:
        row.status, row.delivered_at, row.next_attempt_at = "delivered", now, None
        return None
    if final or row.attempts >= MAX_ATTEMPTS:
        row.status, row.next_attempt_at = "failed", None
        return None
    wait = backoff_seconds(row.attempts)
    row.next_attempt_at = now + timedelta(seconds=wait)
    return wait


def due_deliveries(*, session: Session, before: datetime, limit: int = 500) -> list[tuple[int, int]]:
    """Pending deliveries due before ``before``: ``(id, attempts)`` pairs, oldest due first."""
    rows = session.execute(
        select(WebhookDelivery.id, WebhookDelivery.attempts)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= before)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    ).all()
    return [(int(i), int(n)) for i, n in rows]
