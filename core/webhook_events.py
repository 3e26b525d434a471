"""One webhook delivery judged: Standard Webhooks headers and signature, the 300 s window, Google's thin envelope.

Pure functions over the headers and the raw body (no Redis, no database, no
provider): ``judge`` says what a delivery is — an ``Outcome`` that ends it
(malformed, stale, no secret to check it with, forged, an event type VeoGen
does not act on) or a ``Delivery`` that names a finished job. Signatures are
checked over the raw bytes by the maintained ``standardwebhooks`` package,
against every live secret (old and new during a rotation; one match
suffices). What happens next (deduplication, the queue, counting) is
``core.webhooks.Webhooks``'s. Imports no UI or worker code.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from standardwebhooks import Webhook, WebhookVerificationError

from core.errors import ValidationError

EVENTS = frozenset({"video.generated", "interaction.completed", "interaction.failed"})
"""Event types that name a finished job (``data.id``); anything else is counted ``unknown_type``."""

TOLERANCE_SECONDS = 300
"""A delivery whose ``webhook-timestamp`` is further than this from now is refused as stale, in seconds."""

MAX_HEADER_CHARS = 1024
"""Longest ``webhook-id`` / ``webhook-signature`` accepted, in characters."""

MAX_ID_CHARS = 512
"""Longest ``data.id`` accepted, in characters."""


class Outcome(StrEnum):
    """What became of one delivery (the ``outcome`` label of ``veogen_webhook_events_total``)."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    FORGED = "forged"
    STALE = "stale"
    MALFORMED = "malformed"
    UNKNOWN_TYPE = "unknown_type"
    NO_SECRET = "no_secret"  # noqa: S105  (an outcome's name, not a secret)


@dataclass(frozen=True)
class Delivery:
    """A genuine delivery about a finished job: its ``webhook-id``, event type and the job's id at Google."""

    message_id: str
    kind: str
    provider_id: str


def judge(headers: Mapping[str, str], raw_body: bytes, secrets: Callable[[], list[str]]) -> Outcome | Delivery:
    """Check one delivery; ``secrets`` is asked only once the headers and the timestamp pass."""
    h = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp, signature = (h.get(k, "") for k in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and stamp and signature) or max(len(msg_id), len(signature)) > MAX_HEADER_CHARS:
        return Outcome.MALFORMED
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        return Outcome.MALFORMED
    if abs(time.time() - int(stamp)) > TOLERANCE_SECONDS:
        return Outcome.STALE
    live = secrets()
    if not live:
        return Outcome.NO_SECRET
    verdict = _verify(
        live, raw_body, {"webhook-id": msg_id, "webhook-timestamp": stamp, "webhook-signature": signature}
    )
    if verdict is not Outcome.ACCEPTED:
        return verdict
    envelope = parse_envelope(raw_body)
    if envelope is None:
        return Outcome.MALFORMED
    kind, provider_id = envelope
    if kind not in EVENTS:
        return Outcome.UNKNOWN_TYPE
    return Delivery(msg_id, kind, provider_id)


def _verify(secrets: list[str], raw_body: bytes, headers: dict[str, str]) -> Outcome:
    verdict = Outcome.FORGED
    for secret in secrets:
        try:
            Webhook(secret).verify(raw_body, headers, json_parse=False)
        except WebhookVerificationError as exc:
            if "timestamp" in str(exc).lower():  # crossed the 300 s line since it was checked
                verdict = Outcome.STALE
            continue
        return Outcome.ACCEPTED
    return verdict


def parse_envelope(raw_body: bytes) -> tuple[str, str] | None:
    """``(type, data.id)`` of Google's thin event envelope, or None when the body is not one."""
    try:
        body = json.loads(raw_body)
    except (ValueError, RecursionError):
        return None
    data = body.get("data") if isinstance(body, dict) else None
    kind = body.get("type") if isinstance(body, dict) else None
    provider_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(kind, str) or not kind:
        return None
    if not isinstance(provider_id, str) or not provider_id.strip() or len(provider_id) > MAX_ID_CHARS:
        return None if kind in EVENTS else (kind, "")
    return kind, provider_id.strip()


def check_public_url(url: str) -> str:
    """The address Google will deliver to: HTTPS (plain HTTP only on this machine, for tests), no credentials."""
    url = url.strip()
    parts = urlsplit(url)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme not in ("https", "http") or not parts.hostname or (parts.scheme == "http" and not loopback):
        raise ValidationError("The webhook URL must be an https:// address Google can reach.", field="url")
    if parts.username or parts.password or parts.fragment or len(url) > 2048:
        raise ValidationError("The webhook URL must not carry a user, a password or a #fragment.", field="url")
    return url
