"""The webhook registry and its deliveries (reference part 2 sections 1.4–1.6): a finished job's event is signed
(Standard Webhooks, :mod:`standin.signing`) and POSTed by a small pool of sender threads to every enabled
webhook subscribed to it, retried with exponential backoff, and logged.

Lock order: the state lock may be held while calling :meth:`Webhooks.emit`; nothing here takes the state
lock. Imports the standard library and the sibling modules.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from standin.behaviour import Behaviour
from standin.protocol import rfc3339
from standin.signing import envelope, new_message_id, post, signature_header, truncated

log = logging.getLogger("standin")

PING_EVENT = "webhook.ping"
"""The type of a ``:ping`` delivery; Google's ping payload is undocumented, so this is the stand-in's choice."""
DELIVERY_TIMEOUT_SECONDS = 5.0
SENDER_THREADS = 3


@dataclass(frozen=True)
class Policy:
    """The delivery knobs of one event, fixed when it fires."""

    drop: bool
    delay_seconds: float
    retry_seconds: float
    max_attempts: int
    disable_after: int

    @classmethod
    def of(cls, behaviour: Behaviour) -> Policy:
        b = behaviour
        return cls(
            b.drop_deliveries,
            b.delivery_delay_seconds,
            b.delivery_retry_seconds,
            b.delivery_max_attempts,
            b.disable_after_failures,
        )


@dataclass
class Secret:
    value: str
    expires: float | None = None
    """Unix time after which it no longer signs, or None for the current secret."""


@dataclass
class Webhook:
    """One registered webhook."""

    id: str
    name: str | None
    uri: str
    events: list[str]
    created: float
    updated: float
    state: str = "enabled"
    secrets: list[Secret] = field(default_factory=list)
    """Newest first."""
    failures: int = 0
    """Consecutive failed delivery attempts."""

    def live_secrets(self, now: float) -> list[str]:
        return [s.value for s in self.secrets if s.expires is None or s.expires > now]

    def resource(self, now: float) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "uri": self.uri,
            "subscribed_events": list(self.events),
            "state": self.state,
            "create_time": rfc3339(self.created),
            "update_time": rfc3339(self.updated),
            "signing_secrets": [
                {"truncated_secret": truncated(s.value)} | ({"expire_time": rfc3339(s.expires)} if s.expires else {})
                for s in self.secrets
                if s.expires is None or s.expires > now
            ],
        }
        return body | ({"name": self.name} if self.name is not None else {})


@dataclass(order=True)
class _Pending:
    """A delivery waiting for its next attempt."""

    due: float
    """Monotonic time."""
    seq: int
    webhook_id: str = field(compare=False)
    event_type: str = field(compare=False)
    data_id: str = field(compare=False)
    message_id: str = field(compare=False)
    body: bytes = field(compare=False)
    attempt: int = field(compare=False)
    policy: Policy = field(compare=False)


class Webhooks:
    """The webhook registry, the delivery queue and its sender threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._ready = threading.Condition(self.lock)
        self._seq = itertools.count()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._busy = 0  # attempts being sent (kept across reset: they finish on their own)
        self.clear()

    def clear(self) -> None:
        self.hooks: dict[str, Webhook] = {}
        self._queue: list[_Pending] = []
        self._log: list[dict[str, Any]] = []
        self._counts: collections.Counter[str] = collections.Counter()

    def reset(self) -> None:
        with self.lock:
            self.clear()
            self._ready.notify_all()

    # sender pool

    def start(self) -> None:
        with self.lock:
            self._stopping = False
        for n in range(SENDER_THREADS - len(self._threads)):
            thread = threading.Thread(target=self._send_loop, name=f"standin-webhooks-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        with self.lock:
            self._stopping = True
            self._ready.notify_all()
        for thread in self._threads:
            thread.join(timeout=DELIVERY_TIMEOUT_SECONDS + 1)
        self._threads = []

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no delivery is queued or being sent; return False on timeout."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._ready.wait(min(left, 0.05))
            return True

    # events

    def emit(self, event_type: str, data: dict[str, Any], policy: Policy) -> None:
        """Queue ``event_type`` for every enabled webhook subscribed to it."""
        with self.lock:
            for hook in self.hooks.values():
                if hook.state == "enabled" and event_type in hook.events:
                    self._enqueue(hook, event_type, data, policy)

    def ping(self, hook: Webhook, policy: Policy) -> None:
        """Queue a test delivery to ``hook`` whatever its state and subscriptions (call under the lock)."""
        self._enqueue(hook, PING_EVENT, {"id": hook.id}, policy)

    def _enqueue(self, hook: Webhook, event_type: str, data: dict[str, Any], policy: Policy) -> None:
        due = time.monotonic() + policy.delay_seconds
        pending = _Pending(
            due,
            next(self._seq),
            hook.id,
            event_type,
            str(data.get("id", "")),
            new_message_id(),
            envelope(event_type, data),
            1,
            policy,
        )
        heapq.heappush(self._queue, pending)
        self._ready.notify()

    def _send_loop(self) -> None:
        while True:
            with self.lock:
                pending = self._next_due()
                if pending is None:
                    return
                hook = self.hooks.get(pending.webhook_id)
                live = hook is not None and (hook.state == "enabled" or pending.event_type == PING_EVENT)
                if not live or pending.policy.drop:
                    self._record(
                        pending,
                        None,
                        "webhook deleted or disabled" if not live else "dropped (drop_deliveries)",
                        "abandoned" if not live else "dropped",
                    )
                    continue
                assert hook is not None
                uri, now = hook.uri, time.time()
                headers = {"webhook-id": pending.message_id, "webhook-timestamp": str(int(now))}
                headers["webhook-signature"] = signature_header(
                    hook.live_secrets(now), pending.message_id, int(now), pending.body
                )
                self._busy += 1
            status, error = post(uri, pending.body, headers, DELIVERY_TIMEOUT_SECONDS)
            with self.lock:
                self._busy -= 1
                self._settle_attempt(pending, status, error)
                self._ready.notify_all()

    def _next_due(self) -> _Pending | None:
        """Wait for the earliest delivery to fall due and pop it; None when stopping (call under the lock)."""
        while not self._stopping:
            now = time.monotonic()
            if self._queue and self._queue[0].due <= now:
                return heapq.heappop(self._queue)
            self._ready.wait(self._queue[0].due - now if self._queue else None)
        return None

    def _settle_attempt(self, pending: _Pending, status: int | None, error: str | None) -> None:
        ok = status is not None and 200 <= status < 300
        self._record(pending, status, error, "delivered" if ok else "failed")
        hook = self.hooks.get(pending.webhook_id)
        if hook is None:
            return
        if ok:
            hook.failures = 0
            return
        hook.failures += 1
        if hook.failures >= pending.policy.disable_after and hook.state == "enabled":
            hook.state, hook.updated = "disabled_due_to_failed_deliveries", time.time()
            log.info("webhook %s disabled after %d failed deliveries", hook.id, hook.failures)
        if pending.attempt < pending.policy.max_attempts:
            pending.attempt += 1
            pending.due = time.monotonic() + pending.policy.retry_seconds * 2 ** (pending.attempt - 2)
            pending.seq = next(self._seq)
            heapq.heappush(self._queue, pending)
        else:
            self._counts["abandoned"] += 1

    def _record(self, pending: _Pending, status: int | None, error: str | None, result: str) -> None:
        self._counts[result] += 1
        self._log.append(
            {
                "webhook_id": pending.webhook_id,
                "event_type": pending.event_type,
                "data_id": pending.data_id,
                "message_id": pending.message_id,
                "attempt": pending.attempt,
                "status": status,
                "error": error,
                "result": result,
                "time": time.time(),
            }
        )

    def deliveries(self) -> list[dict[str, Any]]:
        """Every delivery attempt so far, oldest first."""
        with self.lock:
            return [dict(entry) for entry in self._log]

    def counts(self) -> dict[str, int]:
        with self.lock:
            return dict(self._counts)
