"""The caller's own account over ``/v1/me``: their tokens, personal Gemini key and password, each with an example.

Responses are read from core's plain views (``TokenView``, ``CredentialView``), so the routes hold no field lists.
Core checks passwords and keys with the Account page's messages; the bounds here only keep inputs short, a little
above core's own limits, so an input just over one gets the page's sentence. A stored key is never sent back: only
whether one is set and its last four characters. Imports ``core`` and Pydantic only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from core.services.auth import MAX_PASSWORD_BYTES
from core.services.credentials import MAX_CREDENTIAL_CHARS, CredentialView
from core.services.tokens import TokenView

MAX_PASSWORD_READ_CHARS = 2 * MAX_PASSWORD_BYTES
"""Longest password read, in characters: core refuses a new one over ``MAX_PASSWORD_BYTES`` bytes with the Account
page's sentence; anything longer than this is refused before it is read (or hashed)."""

MAX_KEY_READ_CHARS = 2 * MAX_CREDENTIAL_CHARS
"""Longest key read, in characters: core refuses one over ``MAX_CREDENTIAL_CHARS`` (after trimming spaces) with
the Account page's sentence; anything longer than this is refused before it is read."""

_TOKEN: dict[str, Any] = {
    "id": 7,
    "name": "nightly renders on CI",
    "hint": "veogen_pat_Xk3q",
    "scopes": ["read", "generate"],
    "state": "active",
    "created_at": "2026-12-01T09:00:00Z",
    "expires_at": "2027-03-01T09:00:00Z",
    "last_used_at": "2026-12-07T05:00:00Z",
    "revoked_at": None,
    "current": True,
}


class TokenOut(BaseModel):
    """One of your personal access tokens as the Account page lists it: never its secret, only its first characters."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_TOKEN]})

    id: int
    name: str
    hint: str = Field(description="The token's first characters (its prefix and four more), to tell tokens apart.")
    scopes: list[str]
    state: str = Field(
        description="``active``, ``expired``, ``revoked`` (by you, an administrator, or a password change, reset "
        "or disabling) or ``ended`` (your account is disabled)."
    )
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    current: bool = Field(default=False, description="Whether this is the token the request was sent with.")


class TokenList(BaseModel):
    """Your tokens, newest first, whatever their state."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_TOKEN]}]})

    items: list[TokenOut]


def token_of(view: TokenView, *, current_id: int) -> TokenOut:
    """A token as the API shows it; ``current_id`` is the id of the token in use (0 for a password login)."""
    return TokenOut.model_validate(view).model_copy(update={"current": view.id == current_id})


class PersonalKeyOut(BaseModel):
    """Your personal Gemini API key as the Account page shows it: set or not, and its last four characters."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [{"is_set": True, "last4": "x9Qw"}]})

    is_set: bool
    last4: str = Field(description="Its last four characters; empty when none is set or it is shorter than eight.")


def personal_key_of(view: CredentialView) -> PersonalKeyOut:
    return PersonalKeyOut.model_validate(view)


class PersonalKeyIn(BaseModel):
    """A personal Gemini API key to store (encrypted); it replaces the one set before."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"value": "AIzaSyExampleExampleExampleExampl9Qw"}]}
    )

    value: SecretStr = Field(
        max_length=MAX_KEY_READ_CHARS,
        description=f"The key (surrounding spaces are ignored); at most {MAX_CREDENTIAL_CHARS} characters, "
        "no invisible or control characters. It is never sent back.",
    )


class PasswordIn(BaseModel):
    """Your current password and the new one; the new one is checked as on the Account page."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"current_password": "correct horse battery", "password": "a brand new passphrase"}]
        },
    )

    current_password: SecretStr = Field(max_length=MAX_PASSWORD_READ_CHARS)
    password: SecretStr = Field(
        max_length=MAX_PASSWORD_READ_CHARS,
        description="The new password: at least VEOGEN_MIN_PASSWORD_CHARS characters, "
        f"at most {MAX_PASSWORD_BYTES} bytes, not a common password, not your username, and not the current one.",
    )
