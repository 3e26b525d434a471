"""The project webhook as VeoGen stored it: Google's id, the address, and its signing secrets, encrypted;
and the plain views of it that operators get (no secret in full).

One ``AppSecret`` row (``WEBHOOK_ROW``) holds the registration as JSON sealed
with the same ``Vault`` as the provider keys, so a database dump shows no
secret. During a rotation the previous secret stays beside the new one until
it expires (Google keeps signing with both for 24 h). Functions take
``session`` keyword-only and never commit; ``core.webhooks.Webhooks`` owns the
transactions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core.errors import ConfigurationError
from core.models import AppSecret, utcnow
from core.services.credentials import Vault

WEBHOOK_ROW = "google_webhook"
"""Name of the ``app_secrets`` row that holds the registration."""

ROTATION_GRACE = timedelta(hours=24)
"""How long a replaced secret still verifies deliveries (Google's ``revoke_previous_secrets_after_h24``)."""


@dataclass(frozen=True)
class SigningSecret:
    """One ``whsec_…`` secret; ``expires_at`` None means it is the current one."""

    secret: str
    expires_at: datetime | None = None

    def live(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now

    @property
    def truncated(self) -> str:
        """The secret the way Google shows it: ``whsec_...`` and its last four characters."""
        return f"whsec_...{self.secret[-4:]}"


@dataclass(frozen=True)
class Registration:
    """The project webhook VeoGen registered at Google."""

    webhook_id: str
    uri: str
    secrets: tuple[SigningSecret, ...]
    registered_at: datetime

    def live_secrets(self, now: datetime) -> list[str]:
        """The secrets that may sign a delivery now, newest first."""
        return [s.secret for s in self.secrets if s.live(now)]


def load_registration(*, session: Session, vault: Vault) -> Registration | None:
    """The stored registration, decrypted; None when webhooks were never registered."""
    row = session.get(AppSecret, WEBHOOK_ROW)
    if row is None:
        return None
    try:
        data = json.loads(vault.open(row.ciphertext))
        return Registration(
            webhook_id=str(data["webhook_id"]),
            uri=str(data["uri"]),
            secrets=tuple(
                SigningSecret(str(s["secret"]), datetime.fromisoformat(s["expires_at"]) if s["expires_at"] else None)
                for s in data["secrets"]
            ),
            registered_at=datetime.fromisoformat(data["registered_at"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigurationError(f"the stored webhook registration cannot be read ({exc}); register again") from exc


def save_registration(*, session: Session, vault: Vault, registration: Registration) -> None:
    """Store (or replace) the registration, sealed; expired secrets are dropped."""
    now = utcnow()
    data = {
        "webhook_id": registration.webhook_id,
        "uri": registration.uri,
        "secrets": [
            {"secret": s.secret, "expires_at": s.expires_at.isoformat() if s.expires_at else None}
            for s in registration.secrets
            if s.live(now)
        ],
        "registered_at": registration.registered_at.isoformat(),
    }
    sealed = vault.seal(json.dumps(data))
    row = session.get(AppSecret, WEBHOOK_ROW)
    if row is None:
        session.add(AppSecret(name=WEBHOOK_ROW, ciphertext=sealed))
    else:
        row.ciphertext, row.updated_at = sealed, now


def with_new_secret(registration: Registration, secret: str, *, now: datetime) -> Registration:
    """The registration after a rotation: ``secret`` current, the previous ones expiring within 24 h."""
    until = now + ROTATION_GRACE
    previous = tuple(
        replace(s, expires_at=min(s.expires_at or until, until))
        for s in registration.secrets
        if s.live(now) and s.secret != secret
    )
    return replace(registration, secrets=(SigningSecret(secret), *previous))


@dataclass(frozen=True)
class SecretView:
    """A signing secret as shown to operators: truncated, and when it stops verifying (None: current)."""

    truncated: str
    expires_at: datetime | None


@dataclass(frozen=True)
class WebhookOverview:
    """The webhook at a glance (Queue page, ``veogen webhooks status``); no secret in full."""

    registered: bool
    state: str
    """One of ``core.webhooks.STATES``."""
    webhook_id: str = ""
    uri: str = ""
    checked_at: datetime | None = None
    """When Google last answered a status check."""
    error: str = ""
    """Why the last status check failed, if it did."""
    secrets: tuple[SecretView, ...] = ()
    """The secrets stored here."""
    google_secrets: tuple[SecretView, ...] = ()
    """The secrets Google reported at the last check."""
    events: dict[str, int] = field(default_factory=dict)
    """Deliveries received, by outcome."""
    last_event_at: datetime | None = None
    last_accepted_at: datetime | None = None
    receiver_alive: bool = False
    healthy: bool = False


@dataclass(frozen=True)
class SecretIssued:
    """The answer to ``register`` or ``rotate``: ``secret`` is shown once (empty when it did not change)."""

    webhook_id: str
    uri: str
    state: str
    secret: str
    action: str
    """``created``, ``adopted`` (an existing webhook for this address got a new secret), ``updated`` or ``rotated``."""
    previous_expires_at: datetime | None = None
