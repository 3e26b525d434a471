"""Google's WebhookService (Gemini API only): the one module that calls ``client.webhooks.*``.

Creates, reads, lists, updates, pings the project webhook and rotates its
signing secret, on a client from ``core.providers.google.make_client`` in
API-key mode (every request sent once: the SDK would otherwise retry these
POSTs four times). Every SDK call runs through ``google.call``, so whatever it
raises is a ``ProviderError``; answers come back as plain dataclasses, never
SDK objects. Vertex has no WebhookService (reference part 2, 1.3): this module
never builds a Vertex client, and refuses when no API key is given.

Imported lazily by ``core.webhooks`` (only the CLI and the scheduler reach
Google), so the web process and the receiver never load google-genai.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Final

from core.errors import ProviderUnavailableError
from core.providers.google import LazyClient, call, make_client

SERVICE = "the Gemini API webhooks"
"""How errors name this service."""

SUBSCRIBED_EVENTS = ("video.generated", "interaction.completed", "interaction.failed")
"""The events VeoGen's project webhook subscribes to: a Veo operation or an Omni interaction finished."""

WEBHOOK_NAME = "veogen"
"""The name VeoGen gives the webhook it creates (Google's console shows it)."""

ROTATION: Final = "revoke_previous_secrets_after_h24"
"""Rotation keeps the previous secret valid 24 h (lower case: SDK 2.34 refuses the upper-case spelling)."""

NO_API_KEY = (
    "Webhooks are a Gemini API feature and need a Gemini API key (VEOGEN_GEMINI_API_KEY, or the team key "
    "on the Settings page); Vertex AI has no webhook service, so a studio on Vertex only keeps polling."
)


@dataclass(frozen=True)
class SigningSecretInfo:
    """What Google shows of a signing secret after create: its truncated form and when it expires."""

    truncated: str
    expires_at: datetime | None


@dataclass(frozen=True)
class WebhookInfo:
    """A webhook as Google describes it; ``new_secret`` is set only in the answer to a create."""

    id: str
    uri: str
    state: str
    subscribed_events: tuple[str, ...]
    signing_secrets: tuple[SigningSecretInfo, ...] = ()
    name: str = ""
    new_secret: str = ""


class GoogleWebhooks:
    """The project's webhooks at Google, reached with one Gemini API key."""

    def __init__(self, *, api_key: str, base_url: str = "", timeout_seconds: float = 60) -> None:
        if not api_key:
            raise ProviderUnavailableError(NO_API_KEY, code="UNAVAILABLE")
        self._client = LazyClient(
            lambda: make_client(api_key=api_key, base_url=base_url, timeout_seconds=timeout_seconds)
        )

    def close(self) -> None:
        self._client.close()

    def create(self, uri: str) -> WebhookInfo:
        """Create a webhook for ``uri`` subscribed to ``SUBSCRIBED_EVENTS``; the answer carries its secret."""
        hook = call(
            SERVICE,
            lambda: self._client.get().webhooks.create(subscribed_events=_events(), uri=uri, name=WEBHOOK_NAME),
        )
        return _info(hook)

    def get(self, webhook_id: str) -> WebhookInfo:
        """Read one webhook (a ``ProviderError`` with code NOT_FOUND when Google does not know it)."""
        return _info(call(SERVICE, lambda: self._client.get().webhooks.get(id=webhook_id)))

    def list_all(self) -> list[WebhookInfo]:
        """Every webhook of the project (all pages)."""

        def read(page_token: str | None) -> Any:
            return self._client.get().webhooks.list(page_size=1000, page_token=page_token)

        found: list[WebhookInfo] = []
        token: str | None = None
        for _ in range(100):  # 100 pages of 1,000: far more than any project holds
            page = call(SERVICE, partial(read, token))
            found.extend(_info(hook) for hook in (page.webhooks or []))
            token = page.next_page_token or None
            if not token:
                break
        return found

    def update(self, webhook_id: str, *, uri: str | None = None, state: str | None = None) -> WebhookInfo:
        """Change the webhook's address and/or state (``enabled`` turns a disabled one back on)."""
        fields: dict[str, Any] = {"subscribed_events": _events()}
        if uri is not None:
            fields["uri"] = uri
        if state is not None:
            fields["state"] = state
        mask = ",".join(sorted(fields))
        hook = call(SERVICE, lambda: self._client.get().webhooks.update(id=webhook_id, update_mask=mask, **fields))
        return _info(hook)

    def rotate_secret(self, webhook_id: str) -> str:
        """Make a new signing secret and return it; the previous one stays valid 24 h."""
        answer = call(
            SERVICE,
            lambda: self._client.get().webhooks.rotate_signing_secret(id=webhook_id, revocation_behavior=ROTATION),
        )
        secret = str(getattr(answer, "secret", "") or "")
        if not secret:
            raise ProviderUnavailableError(f"{SERVICE} rotated the secret but did not return it", code="NO_SECRET")
        return secret

    def ping(self, webhook_id: str) -> None:
        """Ask Google to send the webhook a test delivery."""
        call(SERVICE, lambda: self._client.get().webhooks.ping(id=webhook_id))


def _events() -> list[Any]:
    """``SUBSCRIBED_EVENTS`` as the SDK takes them."""
    return list(SUBSCRIBED_EVENTS)


def _info(hook: Any) -> WebhookInfo:
    secrets = tuple(
        SigningSecretInfo(truncated=str(s.truncated_secret or ""), expires_at=s.expire_time)
        for s in (hook.signing_secrets or [])
    )
    return WebhookInfo(
        id=str(hook.id or ""),
        uri=str(hook.uri or ""),
        state=str(hook.state or "unknown"),
        subscribed_events=tuple(str(e) for e in (hook.subscribed_events or [])),
        signing_secrets=secrets,
        name=str(hook.name or ""),
        new_secret=str(hook.new_signing_secret or ""),
    )
