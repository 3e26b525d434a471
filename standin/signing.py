"""Standard Webhooks v1 signatures as Gemini's static webhooks use them (reference part 2 sections 1.5 and 1.9),
and :func:`send_delivery`, which sends one delivery — well-signed, mis-signed, stale or replayed — to a
receiver under test.

Standard library only. Nothing here talks to Google.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import string
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TOLERANCE_SECONDS = 300
"""Largest accepted gap between ``webhook-timestamp`` and now, in seconds (the docs' "5 minutes")."""
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
USER_AGENT = "VeoGen-StandIn-Webhooks/1 (local stand-in, not Google)"
_MSG_ALPHABET = string.ascii_letters + string.digits


class WebhookVerificationError(ValueError):
    """A delivery whose headers, timestamp or signature do not check out."""


def new_secret() -> str:
    """A signing secret shaped like Gemini's ``new_signing_secret``: ``whsec_`` + base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(os.urandom(24)).decode()


def truncated(secret: str) -> str:
    """What ``signing_secrets[].truncated_secret`` shows, e.g. ``whsec_...3frh``."""
    return f"{SECRET_PREFIX}...{secret[-4:]}"


def new_message_id() -> str:
    """A ``webhook-id`` like the spec's ``msg_p5jXN8AQM9LWM0D4loKWxJek``."""
    return "msg_" + "".join(secrets.choice(_MSG_ALPHABET) for _ in range(24))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``, the key being the secret's base64 part."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    mac = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signature_header(secrets_: list[str], message_id: str, timestamp: int, body: bytes) -> str:
    """One space-separated ``v1,<sig>`` per secret (during a rotation's grace period there are several)."""
    return " ".join(sign(s, message_id, timestamp, body) for s in secrets_)


def verify(secrets_: list[str], headers: Mapping[str, str], body: bytes, *, now: float | None = None) -> None:
    """Raise :class:`WebhookVerificationError` unless one of ``secrets_`` signed ``body`` within the tolerance."""
    h = {k.lower(): v for k, v in headers.items()}
    message_id, stamp, offered = h.get("webhook-id"), h.get("webhook-timestamp"), h.get("webhook-signature")
    if not (message_id and stamp and offered):
        raise WebhookVerificationError("missing Standard Webhooks headers")
    try:
        timestamp = int(stamp)
    except ValueError as exc:
        raise WebhookVerificationError("webhook-timestamp is not a whole number") from exc
    if abs((time.time() if now is None else now) - timestamp) > TOLERANCE_SECONDS:
        raise WebhookVerificationError("webhook-timestamp is too old or too new")
    given = [part.split(",", 1)[1] for part in offered.split(" ") if part.startswith("v1,")]
    for secret in secrets_:
        expected = sign(secret, message_id, timestamp, body).split(",", 1)[1]
        if any(hmac.compare_digest(expected, g) for g in given):
            return
    raise WebhookVerificationError("no signature matches")


def envelope(event_type: str, data: dict[str, Any], *, at: float | None = None) -> bytes:
    """The "thin payload" body: ``{"type", "version": "v1", "timestamp", "data"}`` as compact JSON bytes."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if at is None else at))
    return json.dumps(
        {"type": event_type, "version": "v1", "timestamp": stamp, "data": data}, separators=(",", ":")
    ).encode()


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int | None, str | None]:
    """POST ``body``; return (HTTP status, None) for any answer, or (None, why) when none came."""
    if not url.startswith(("http://", "https://")):
        return None, f"not an http(s) URL: {url!r}"
    headers = {"content-type": "application/json", "user-agent": USER_AGENT} | headers
    try:
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310 (checked above)
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (the caller picks the URL)
            response.read()
            return response.status, None
    except urllib.error.HTTPError as exc:
        exc.read()
        exc.close()
        return exc.code, None
    except Exception as exc:  # a sender must never die: any failure is a failed attempt
        return None, f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class SentDelivery:
    """What :func:`send_delivery` sent and what came back (pass its fields back in to replay it)."""

    status: int | None
    """The receiver's HTTP status, or None if it never answered."""
    error: str | None
    message_id: str
    timestamp: int
    body: bytes
    headers: dict[str, str]


def send_delivery(
    url: str,
    secret: str,
    event_type: str = "video.generated",
    data: dict[str, Any] | None = None,
    *,
    message_id: str | None = None,
    timestamp: int | None = None,
    body: bytes | None = None,
    mis_sign: bool = False,
    timeout: float = 5.0,
) -> SentDelivery:
    """Send one signed delivery to ``url``, as Gemini would, for testing a receiver.

    ``timestamp=int(time.time()) - 301`` makes it stale; ``mis_sign=True`` signs with a random secret;
    passing an earlier delivery's ``message_id`` (and ``timestamp`` and ``body``) replays it.
    """
    message_id = message_id or new_message_id()
    timestamp = int(time.time()) if timestamp is None else timestamp
    if body is None:
        body = envelope(event_type, data if data is not None else {"id": "models/veo/operations/test"})
    signer = new_secret() if mis_sign else secret
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(signer, message_id, timestamp, body),
    }
    status, error = post(url, body, headers, timeout)
    return SentDelivery(status, error, message_id, timestamp, body, headers)
