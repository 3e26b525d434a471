"""Outgoing webhooks: the noun class that owns their transactions and makes the deliveries.

A user's endpoints (``create``, ``list_endpoints``, ``set_active``, ``delete``),
their delivery log (``deliveries``) and ``replay``; ``deliver`` is one attempt
(the worker job ``DELIVER_JOB``), and ``sweep`` queues due deliveries whose job
was lost (the scheduler calls it with the reconciler). The rules are in
core/services/outgoing.py; events are recorded there, inside the transaction
of the status change that causes them, and queued here once it commits.

An attempt POSTs the event's JSON signed with the endpoint's secret by the
``standardwebhooks`` package (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``), with a short timeout and no redirects followed. Unless
``VEOGEN_OUTGOING_WEBHOOKS_ALLOW_PRIVATE`` is on, the host is resolved at the
attempt, every address checked, and the request sent to that checked address
(the name kept for ``Host`` and TLS), so a name that now points inside is
refused. Imports no UI, API or worker code.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from core.config import Settings
from core.db import transaction
from core.errors import ValidationError
from core.models import utcnow
from core.queue import FAILURE_TTL_SECONDS, OVERDUE_SECONDS, RESULT_TTL_SECONDS, JobQueue
from core.services import outgoing, webhook_targets
from core.services.credentials import Vault
from core.services.outgoing import Attempt, DeliveryView, EndpointView

log = logging.getLogger(__name__)

DELIVER_JOB = "workers.tasks.deliver_webhook"
"""The worker job of one attempt: ``deliver_webhook(delivery_id)``."""

TIMEOUT_SECONDS = 10.0
"""How long an attempt waits for the receiver (connect, send, answer), in seconds."""

USER_AGENT = "VeoGen-Webhooks/1"
"""The ``User-Agent`` of every delivery."""


def job_name(delivery_id: int, attempts: int) -> str:
    """The RQ job id of the attempt after ``attempts`` ones: unique per attempt, so a retry is a new job."""
    return f"webhook-delivery-{delivery_id}-{attempts}"


class OutgoingWebhooks:
    """A user's webhook endpoints and the deliveries of their events."""

    def __init__(self, *, settings: Settings, sessions: sessionmaker[Session], queue: JobQueue, vault: Vault) -> None:
        self.sessions = sessions
        self.queue = queue
        self.vault = vault
        self.allow_private = settings.outgoing_webhooks_allow_private
        self.transport: httpx.BaseTransport | None = None
        """The HTTP transport of deliveries; None is the network (tests may put an ``httpx.MockTransport``)."""
        event.listen(sessions, "after_commit", self._queue_committed)
        event.listen(sessions, "after_rollback", lambda session: session.info.pop(outgoing.PENDING_KEY, None))

    # -- a user's endpoints and log ----------------------------------------------

    def create(self, user_id: int, url: str, description: str = "") -> tuple[EndpointView, str]:
        """Register an endpoint; return it and its ``whsec_…`` secret, shown once."""
        with transaction(self.sessions) as session:
            return outgoing.create_endpoint(
                session=session,
                vault=self.vault,
                user_id=user_id,
                url=url,
                description=description,
                allow_private=self.allow_private,
            )

    def list_endpoints(self, user_id: int) -> list[EndpointView]:
        """The user's endpoints, newest first."""
        with self.sessions() as session:
            return outgoing.list_endpoints(session=session, user_id=user_id)

    def set_active(self, user_id: int, endpoint_id: int, active: bool) -> EndpointView:
        """Pause or resume one of the user's endpoints."""
        with transaction(self.sessions) as session:
            return outgoing.set_endpoint_active(
                session=session, user_id=user_id, endpoint_id=endpoint_id, active=active
            )

    def delete(self, user_id: int, endpoint_id: int) -> None:
        """Delete one of the user's endpoints and its log."""
        with transaction(self.sessions) as session:
            outgoing.delete_endpoint(session=session, user_id=user_id, endpoint_id=endpoint_id)

    def deliveries(self, user_id: int, endpoint_id: int | None = None, limit: int = 50) -> list[DeliveryView]:
        """The user's latest deliveries, newest first."""
        with self.sessions() as session:
            return outgoing.list_deliveries(session=session, user_id=user_id, endpoint_id=endpoint_id, limit=limit)

    def replay(self, user_id: int, delivery_id: int) -> DeliveryView:
        """Send one of the user's finished deliveries again (same event id), as a new delivery."""
        with transaction(self.sessions) as session:
            return outgoing.replay_delivery(session=session, user_id=user_id, delivery_id=delivery_id)

    # -- delivering --------------------------------------------------------------

    def _queue_committed(self, session: Session) -> None:
        for delivery_id in session.info.pop(outgoing.PENDING_KEY, []):
            self.enqueue(delivery_id, 0)

    def enqueue(self, delivery_id: int, attempts: int, delay: float = 0) -> None:
        """Queue the attempt after ``attempts`` (in ``delay`` seconds); a failure is left to ``sweep``."""
        name = job_name(delivery_id, attempts)
        options: dict[str, object] = {
            "job_id": name,
            "unique": True,
            "description": f"deliver_webhook {name}",
            "result_ttl": RESULT_TTL_SECONDS,
            "failure_ttl": FAILURE_TTL_SECONDS,
        }
        try:
            if delay > 0:
                self.queue.queue.enqueue_in(timedelta(seconds=delay), DELIVER_JOB, delivery_id, **options)
            else:
                self.queue.queue.enqueue(DELIVER_JOB, delivery_id, **options)
        except Exception as exc:  # DuplicateJobError: already queued; anything else: the sweep queues it later
            log.info("webhook delivery %s not queued now: %s", delivery_id, exc)

    def sweep(self) -> int:
        """Queue pending deliveries that are overdue and have no live job (lost from Redis, or a dead worker)."""
        before = utcnow() - timedelta(seconds=OVERDUE_SECONDS)
        with self.sessions() as session:
            due = outgoing.due_deliveries(session=session, before=before)
        queued = 0
        for delivery_id, attempts in due:
            if not self.queue.is_live(f"webhook-delivery-{delivery_id}", attempts):
                self.enqueue(delivery_id, attempts)
                queued += 1
        if queued:
            log.info("outgoing webhooks: %d overdue deliveries queued again", queued)
        return queued

    def deliver(self, delivery_id: int) -> str:
        """Make the delivery's next attempt if it is due; queue the one after when it fails. Returns the status."""
        with transaction(self.sessions) as session:
            attempt = outgoing.claim_attempt(session=session, vault=self.vault, delivery_id=delivery_id, now=utcnow())
        if attempt is None:
            return "skipped"
        code, error, final = self._post(attempt)
        with transaction(self.sessions) as session:
            wait = outgoing.record_attempt(
                session=session,
                delivery_id=delivery_id,
                number=attempt.number,
                status_code=code,
                error=error,
                final=final,
                now=utcnow(),
            )
        outcome = "delivered" if code is not None and 200 <= code < 300 else "failed" if wait is None else "retry"
        if wait is not None:
            self.enqueue(delivery_id, attempt.number, delay=wait)
        return outcome

    def _post(self, attempt: Attempt) -> tuple[int | None, str | None, bool]:
        """Send one signed attempt; return the status code, an error, and whether no retry may help."""
        parts = urlsplit(attempt.url)
        url, headers, extensions = attempt.url, self._signed(attempt), {}
        if not self.allow_private:
            try:
                address = webhook_targets.public_addresses(parts)[0]
            except ValidationError as exc:
                return None, f"refused: {exc}", True
            except OSError as exc:
                return None, f"{parts.hostname} did not resolve: {exc}", False
            host = f"[{address}]" if ":" in address else address
            url = parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host).geturl()
            headers["Host"] = parts.netloc
            if parts.scheme == "https":
                extensions["sni_hostname"] = parts.hostname or ""
        try:
            with httpx.Client(
                timeout=TIMEOUT_SECONDS, follow_redirects=False, trust_env=False, transport=self.transport
            ) as client:
                request = client.build_request(
                    "POST", url, content=attempt.body.encode(), headers=headers, extensions=extensions
                )
                answer = client.send(request, stream=True)  # the status is all we keep: the body is never read
                answer.close()
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500], False
        error = None if answer.is_success else f"HTTP {answer.status_code} {answer.reason_phrase}".strip()
        return answer.status_code, error, False

    def _signed(self, attempt: Attempt) -> dict[str, str]:
        now = datetime.now(UTC)
        signature = Webhook(attempt.secret).sign(attempt.event_id, now, attempt.body)
        return {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": attempt.event_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature,
        }
