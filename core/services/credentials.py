"""Provider credentials set in the UI: encrypted at rest with Fernet, never sent back whole.

The key comes from the environment (``VEOGEN_SECRET_KEY``), never from the
database it protects. Admins set the team's Veo key and Vertex project; a
creator may add a personal Gemini key that only their own generations use.
Pages see only the last four characters. Services take ``session`` keyword-only.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ConfigurationError, ValidationError
from core.models import AppSecret, Event, User, utcnow
from core.services.users import require_admin

TEAM_FIELDS = ("gemini_api_key", "vertex_project", "vertex_location")
"""The team credentials an admin can set."""


class Vault:
    """Encrypts and decrypts with one Fernet key, read only when first needed.

    A studio that never stores a credential never needs the key.
    """

    def __init__(self, key: Callable[[], str]) -> None:
        self._key = key
        self._fernet: Fernet | None = None

    @property
    def fernet(self) -> Fernet:
        if self._fernet is None:
            try:
                self._fernet = Fernet(self._key().encode())
            except ValueError as exc:
                raise ConfigurationError("VEOGEN_SECRET_KEY is not a Fernet key (32 url-safe base64 bytes)") from exc
        return self._fernet

    def seal(self, plain: str) -> str:
        return self.fernet.encrypt(plain.encode()).decode()

    def open(self, token: str) -> str:
        try:
            return self.fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ConfigurationError("a stored credential cannot be decrypted: VEOGEN_SECRET_KEY changed?") from exc


@dataclass(frozen=True)
class CredentialView:
    """What a page may show of a credential: whether it is set, and its last four characters."""

    name: str
    is_set: bool
    last4: str = ""


MAX_CREDENTIAL_CHARS = 256
"""Longest credential accepted, in characters (a Gemini API key has 39; a Vertex project id at most 30)."""


def check_credential(label: str, value: str) -> str:
    """Return the credential without surrounding spaces, or refuse one too long or with an invisible character."""
    value = value.strip()
    if len(value) > MAX_CREDENTIAL_CHARS:
        raise ValidationError(f"{label} is {len(value)} characters long; the limit is {MAX_CREDENTIAL_CHARS}.")
    if any(unicodedata.category(ch)[0] == "C" for ch in value):
        raise ValidationError(f"{label} contains an invisible or control character; paste it again without it.")
    return value


def masked(value: str) -> str:
    return value[-4:] if len(value) >= 8 else ""


def set_team_credential(*, session: Session, vault: Vault, actor_id: int, name: str, value: str) -> CredentialView:
    """Store (or, with an empty value, remove) one team credential."""
    actor = require_admin(session=session, actor_id=actor_id)
    if name not in TEAM_FIELDS:
        raise ValidationError("Unknown credential.", field="name")
    value = check_credential("The credential", value)
    row = session.get(AppSecret, name)
    if not value:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(AppSecret(name=name, ciphertext=vault.seal(value), updated_by=actor.id))
    else:
        row.ciphertext, row.updated_at, row.updated_by = vault.seal(value), utcnow(), actor.id
    session.add(Event(user_id=actor.id, kind="credentials", detail=f"{name} {'set' if value else 'removed'}"))
    return CredentialView(name, bool(value), masked(value))


def team_credentials(*, session: Session, vault: Vault) -> dict[str, str]:
    """The decrypted team credentials, for the server side only."""
    rows = session.query(AppSecret).filter(AppSecret.name.in_(TEAM_FIELDS)).all()
    return {row.name: vault.open(row.ciphertext) for row in rows}


def team_credential_views(*, session: Session, vault: Vault, actor_id: int) -> list[CredentialView]:
    require_admin(session=session, actor_id=actor_id)
    values = team_credentials(session=session, vault=vault)
    return [CredentialView(n, n in values, masked(values[n]) if n in values else "") for n in TEAM_FIELDS]


def set_personal_key(*, session: Session, vault: Vault, user_id: int, value: str) -> CredentialView:
    """Store (or remove, when empty) the user's own Gemini key."""
    user = session.get(User, user_id)
    if user is None:
        raise ValidationError("No such user.")
    value = check_credential("Personal Gemini API key", value)
    user.personal_key_encrypted = vault.seal(value) if value else None
    session.add(Event(user_id=user.id, kind="credentials", detail=f"personal key {'set' if value else 'removed'}"))
    return CredentialView("personal_key", bool(value), masked(value))


def personal_key(*, session: Session, vault: Vault, user_id: int) -> str:
    user = session.get(User, user_id)
    return vault.open(user.personal_key_encrypted) if user and user.personal_key_encrypted else ""


def personal_key_owners(*, session: Session) -> list[int]:
    """Ids of the active users who set a personal Gemini key."""
    rows = session.execute(
        select(User.id).where(User.personal_key_encrypted.is_not(None), User.disabled.is_(False))
    ).scalars()
    return list(rows)
