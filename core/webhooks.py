"""Webhooks: Google's signed "your job finished" events, an accelerator beside polling (never instead of it).

The noun class that owns the project webhook's transactions: ``register`` and
``rotate`` (the secret stored encrypted, core/services/webhooks.py),
``status`` (Google's state, kept in Redis for ``healthy``), and ``receive``,
which the HTTP receiver (core/webhook_receiver.py) calls with the raw body.

``receive`` never calls a provider: it has the delivery judged
(core/webhook_events.py: headers, the 300 s window, the signature against
every live secret, the thin envelope), drops a ``webhook-id`` already seen
(Google delivers at least once, and redelivers for 24 h), enqueues
``EVENT_JOB``, counts the ``Outcome`` and returns it. The worker then asks the pipeline to poll that generation at once
(``Pipeline.poll_now``); events about jobs that are not ours change nothing.

Google is reached only through core/providers/google_webhooks.py, imported
lazily (the CLI and the scheduler call Google; the web process, the exporter
and the receiver never load google-genai). Gemini API only: Vertex has no
webhook service. Imports no UI or worker code.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.orm import Session, sessionmaker

from core import metrics
from core.config import Settings
from core.db import transaction
from core.errors import NotFoundError, ProviderError, ProviderUnavailableError
from core.models import utcnow
from core.providers.registry import ProviderRegistry
from core.queue import FAILURE_TTL_SECONDS, RESULT_TTL_SECONDS, JobQueue
from core.services import users
from core.services import webhooks as stored
from core.services.credentials import Vault
from core.services.webhooks import Registration, SecretIssued, SecretView, SigningSecret, WebhookOverview
from core.webhook_events import Outcome, check_public_url, judge

if TYPE_CHECKING:
    from core.providers.google_webhooks import GoogleWebhooks, WebhookInfo

log = logging.getLogger(__name__)

EVENT_JOB = "workers.tasks.handle_webhook_event"
"""The worker job a verified event becomes: ``handle_webhook_event(provider_id)``."""

DEDUPE_SECONDS = 48 * 3600
"""How long a ``webhook-id`` is remembered, in seconds (Google redelivers for 24 h)."""

SECRETS_TTL_SECONDS = 5.0
"""How long the receiver reuses the decrypted secrets before reading them again, in seconds."""

RECEIVER_ALIVE_TTL_SECONDS = 30
"""A receiver that has not refreshed its alive key for this long is taken for gone, in seconds."""

STATE_KEY = "veogen:webhook:state"
"""Redis key: Google's last known state of the webhook, as JSON (written by ``status``)."""

EVENTS_KEY = "veogen:webhook:events"
"""Redis hash: deliveries by outcome (``accepted`` → count) and the last time of each (``last:accepted``)."""

SEEN_KEY = "veogen:webhook:seen:{id}"
"""Redis key set (NX, with expiry) for each ``webhook-id`` accepted."""

RECEIVER_ALIVE_KEY = "veogen:webhook:receiver-alive"
"""Redis key a running receiver refreshes: proof that deliveries can land."""

STATES = ("enabled", "disabled", "disabled_due_to_failed_deliveries", "missing", "unregistered", "unknown")
"""Webhook states VeoGen reports: Google's three, ``missing`` (Google no longer knows the id),
``unregistered`` (none stored here) and ``unknown`` (registered, never checked)."""


class Webhooks:
    """The project webhook: registration, secrets, Google's state, and deliveries."""

    def __init__(
        self, *, settings: Settings, sessions: sessionmaker[Session], queue: JobQueue, providers: ProviderRegistry
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.queue = queue
        self.redis: Redis = queue.connection
        self.vault: Vault = providers.vault
        self.providers = providers
        self.credentials: Callable[[], Settings] = providers.settings_for
        """The settings with the team's credentials in force (the project whose webhook this is)."""
        self._secrets: tuple[float, list[str]] | None = None

    # -- Google's side (CLI, scheduler) ----------------------------------------

    def _google(self) -> GoogleWebhooks:
        from core.providers.google_webhooks import NO_API_KEY, GoogleWebhooks

        current = self.credentials()
        if not current.gemini_api_key:
            only_vertex = " Only Vertex AI (VEOGEN_VERTEX_PROJECT) is configured." if current.vertex_project else ""
            raise ProviderUnavailableError(NO_API_KEY + only_vertex, code="UNAVAILABLE")
        return GoogleWebhooks(
            api_key=current.gemini_api_key,
            base_url=current.veo_base_url,
            timeout_seconds=current.veo_timeout_seconds,
        )

    def _load(self) -> Registration | None:
        with self.sessions() as session:
            return stored.load_registration(session=session, vault=self.vault)

    def _save(self, registration: Registration) -> None:
        with transaction(self.sessions) as session:
            stored.save_registration(session=session, vault=self.vault, registration=registration)
        self._secrets = None

    def register(self, public_url: str) -> SecretIssued:
        """Make Google deliver this project's finished-job events to ``public_url`` (HTTPS) and keep the secret.

        Idempotent: with a registration Google still knows, the address is
        updated and the webhook enabled, and the secret stays; a webhook already
        at Google for this address (a lost database) is adopted with a new secret.
        """
        uri = check_public_url(public_url)
        google = self._google()
        try:
            current = self._load()
            if current is not None:
                try:
                    info = google.get(current.webhook_id)
                except ProviderError as exc:
                    if exc.code not in ("NOT_FOUND", "404"):
                        raise
                else:
                    if info.uri != uri or info.state != "enabled":
                        info = google.update(current.webhook_id, uri=uri, state="enabled")
                    self._save(Registration(current.webhook_id, uri, current.secrets, current.registered_at))
                    self._remember(info)
                    return SecretIssued(info.id, uri, info.state, "", "updated")
            same = [hook for hook in google.list_all() if hook.uri == uri]
            if same:
                info, action = same[0], "adopted"
                secret = google.rotate_secret(info.id)
                if info.state != "enabled":
                    info = google.update(info.id, state="enabled")
            else:
                info, action = google.create(uri), "created"
                secret = info.new_secret
                if not secret:
                    raise ProviderUnavailableError(
                        f"Google created webhook {info.id} but returned no signing secret; run register again "
                        "to adopt it with a new one",
                        code="NO_SECRET",
                    )
            try:
                self._save(Registration(info.id, uri, (SigningSecret(secret),), utcnow()))
            except Exception as exc:
                raise ProviderUnavailableError(
                    f"webhook {info.id} exists at Google but its secret could not be stored ({exc}); "
                    "run `veogen webhooks register` again to adopt it",
                    code="NOT_STORED",
                ) from exc
            self._remember(info)
            return SecretIssued(info.id, uri, info.state, secret, action)
        finally:
            google.close()

    def rotate(self) -> SecretIssued:
        """Give the webhook a new signing secret; the previous one keeps verifying for 24 h."""
        current = self._load()
        if current is None:
            raise NotFoundError("No webhook is registered; run `veogen webhooks register --url https://…` first.")
        google = self._google()
        try:
            secret = google.rotate_secret(current.webhook_id)
        finally:
            google.close()
        rotated = stored.with_new_secret(current, secret, now=utcnow())
        try:
            self._save(rotated)
        except Exception as exc:
            raise ProviderUnavailableError(
                f"Google rotated the secret but it could not be stored ({exc}); the previous secret still "
                "verifies deliveries for 24 h: run `veogen webhooks rotate` again",
                code="NOT_STORED",
            ) from exc
        expiry = min((s.expires_at for s in rotated.secrets if s.expires_at), default=None)
        return SecretIssued(current.webhook_id, current.uri, "", secret, "rotated", previous_expires_at=expiry)

    def ping(self) -> None:
        """Ask Google to send a test delivery (it is counted ``unknown_type``)."""
        current = self._load()
        if current is None:
            raise NotFoundError("No webhook is registered.")
        google = self._google()
        try:
            google.ping(current.webhook_id)
        finally:
            google.close()

    def status(self) -> WebhookOverview:
        """Ask Google for the webhook's state, keep it for ``healthy`` and the Queue page, and return the overview.

        Never raises for Google's sake: a failed check keeps the last known
        state with the error, and ``healthy`` turns false once that state is old.
        """
        current = self._load()
        if current is None:
            self._write_state({"state": "unregistered", "checked_at": _iso(utcnow())})
            return self._overview(current)
        try:
            google = self._google()
            try:
                info = google.get(current.webhook_id)
            finally:
                google.close()
        except ProviderError as exc:
            if exc.code in ("NOT_FOUND", "404"):
                self._write_state({"state": "missing", "checked_at": _iso(utcnow()), "webhook_id": current.webhook_id})
            else:
                log.warning("webhook status check failed: %s", exc)
                self._write_state({**self._read_state(), "error": str(exc), "error_at": _iso(utcnow())})
        else:
            self._remember(info)
        return self._overview(current)

    def _remember(self, info: WebhookInfo) -> None:
        self._write_state(
            {
                "state": info.state if info.state in STATES else "unknown",
                "checked_at": _iso(utcnow()),
                "webhook_id": info.id,
                "uri": info.uri,
                "google_secrets": [[s.truncated, _iso(s.expires_at)] for s in info.signing_secrets],
            }
        )

    def _write_state(self, state: dict[str, object]) -> None:
        self.redis.set(STATE_KEY, json.dumps(state))

    def _read_state(self) -> dict[str, object]:
        raw = cast("bytes | None", self.redis.get(STATE_KEY))
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {}
        return data if isinstance(data, dict) else {}

    # -- what operators see ----------------------------------------------------

    def healthy(self) -> bool:
        """Whether deliveries can be relied on to speed polls up: registered, ``enabled`` at Google when
        last checked, checked within three status intervals, and a receiver running. One Redis round trip."""
        try:
            raw, alive = cast("list[bytes | None]", self.redis.mget([STATE_KEY, RECEIVER_ALIVE_KEY]))
        except RedisError:
            return False
        try:
            data = json.loads(raw) if raw else {}
            checked = _parse_time(data.get("checked_at"))
        except (ValueError, AttributeError):
            return False
        fresh_for = max(3 * self.settings.webhook_status_interval_seconds, 60)
        return (
            data.get("state") == "enabled"
            and checked is not None
            and (utcnow() - checked).total_seconds() <= fresh_for
            and bool(alive)
        )

    def announces(self, user_id: int | None, surface: str | None) -> bool:
        """Whether a delivery will announce the end of this user's generation on ``surface``, so its polls may slow.

        The project webhook hears the Gemini API jobs of the project's own key; a
        creator's personal key may belong to another project, and Vertex has no
        webhooks, so those keep the usual polling.
        """
        if surface != "gemini" or not self.healthy():
            return False
        try:
            own = self.providers.credential(user_id, "gemini")
            team = self.providers.credential(None, "gemini")
        except ProviderError:
            return False
        return own.key == team.key

    def state(self) -> str:
        """The webhook's state for the exporter's gauge: one of ``STATES``."""
        state = str(self._read_state().get("state") or "")
        if state in STATES:
            return state
        return "unknown" if self._load() is not None else "unregistered"

    def overview(self, actor_id: int) -> WebhookOverview:
        """The webhook at a glance for an admin: registration, last known state, deliveries; no Google call."""
        with self.sessions() as session:
            users.require_admin(session=session, actor_id=actor_id)
        return self._overview(self._load())

    def _overview(self, current: Registration | None) -> WebhookOverview:
        try:
            data = self._read_state()
            stored_events = cast("dict[bytes, bytes]", self.redis.hgetall(EVENTS_KEY))
            events_raw = {_text(k) or "": v for k, v in stored_events.items()}
            alive = bool(self.redis.exists(RECEIVER_ALIVE_KEY))
        except RedisError as exc:
            data, events_raw, alive = {"error": f"Redis did not answer: {exc}"}, {}, False
        events = {o.value: int(events_raw.get(o.value, 0)) for o in Outcome}
        lasts = [t for o in Outcome if (t := _parse_time(_text(events_raw.get(f"last:{o.value}"))))]
        google_secrets = data.get("google_secrets")
        state = str(data.get("state") or ("unknown" if current else "unregistered"))
        if current is None:
            state = "unregistered"
        return WebhookOverview(
            registered=current is not None,
            state=state if state in STATES else "unknown",
            webhook_id=current.webhook_id if current else "",
            uri=current.uri if current else "",
            checked_at=_parse_time(data.get("checked_at")),
            error=str(data.get("error") or ""),
            secrets=tuple(SecretView(s.truncated, s.expires_at) for s in current.secrets) if current else (),
            google_secrets=tuple(
                SecretView(str(item[0]), _parse_time(item[1]))
                for item in (google_secrets if isinstance(google_secrets, list) else [])
                if isinstance(item, list) and len(item) == 2
            ),
            events=events,
            last_event_at=max(lasts, default=None),
            last_accepted_at=_parse_time(_text(events_raw.get("last:accepted"))),
            receiver_alive=alive,
            healthy=self.healthy(),
        )

    # -- deliveries (the receiver) -----------------------------------------------

    def mark_receiver_alive(self) -> None:
        """Refresh the receiver's alive key (the receiver process does this every few seconds)."""
        self.redis.set(RECEIVER_ALIVE_KEY, "1", ex=RECEIVER_ALIVE_TTL_SECONDS)

    def live_secrets(self) -> list[str]:
        """The secrets that may sign a delivery now, read from the database at most every few seconds."""
        cached = self._secrets
        if cached is not None and time.monotonic() - cached[0] < (SECRETS_TTL_SECONDS if cached[1] else 1.0):
            return cached[1]  # "none yet" is kept a second only: the first secret is used soon after it is stored
        current = self._load()
        secrets = current.live_secrets(utcnow()) if current else []
        self._secrets = (time.monotonic(), secrets)
        return secrets

    def receive(self, headers: Mapping[str, str], raw_body: bytes) -> Outcome:
        """Judge one delivery and, when it is genuine, new and about a finished job, queue the work.

        Counts every outcome. Raises only when Redis or the database does not
        answer (the receiver then answers 503 and Google delivers again).
        """
        outcome = self._judge(headers, raw_body)
        self.count(outcome)
        return outcome

    def _judge(self, headers: Mapping[str, str], raw_body: bytes) -> Outcome:
        verdict = judge(headers, raw_body, self.live_secrets)
        if isinstance(verdict, Outcome):
            return verdict
        msg_id, kind, provider_id = verdict.message_id, verdict.kind, verdict.provider_id
        seen = SEEN_KEY.format(id=hashlib.sha256(msg_id.encode()).hexdigest())
        if not self.redis.set(seen, "1", nx=True, ex=DEDUPE_SECONDS):
            return Outcome.DUPLICATE
        try:
            self.queue.queue.enqueue(
                EVENT_JOB,
                provider_id,
                job_id=f"webhook-{seen.rsplit(':', 1)[-1][:32]}",
                description=f"{EVENT_JOB.rsplit('.', 1)[-1]} {kind}",
                result_ttl=RESULT_TTL_SECONDS,
                failure_ttl=FAILURE_TTL_SECONDS,
            )
        except Exception:
            self.redis.delete(seen)  # not queued: let Google's redelivery be taken
            raise
        return Outcome.ACCEPTED

    def count(self, outcome: Outcome) -> None:
        """Count a delivery's outcome: the process's Prometheus counter, and Redis for the page and the CLI."""
        metrics.WEBHOOK_EVENTS.labels(outcome.value).inc()
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                pipe.hincrby(EVENTS_KEY, outcome.value, 1)
                pipe.hset(EVENTS_KEY, f"last:{outcome.value}", _iso(utcnow()))
                pipe.execute()
        except RedisError as exc:  # the counter above still has it
            log.warning("could not count a webhook delivery in Redis: %s", exc)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode()
    return value if isinstance(value, str) else None


def _parse_time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
