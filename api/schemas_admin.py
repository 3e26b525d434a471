"""The administrators' request and response models (``/v1/admin``): users, invitations, password resets, account
events, everyone's tokens, the team's credentials and model lists (analytics and queue health are in
api/schemas_reports.py).

Responses are read from core's plain views (``from_attributes``), so the routes hold no field lists. Core checks
usernames, roles, emails, limits and credentials with the pages' messages; the bounds here only keep inputs short.
No model here carries a stored credential: a credential is written, and read back as its last four only.
Imports ``core`` and Pydantic only.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from api.schemas import FromView, Money, from_view
from core.services.credentials import MAX_CREDENTIAL_CHARS, TEAM_FIELDS

CREDENTIAL_READ_CHARS = 4 * MAX_CREDENTIAL_CHARS
"""Longest credential value read, in characters: room for the spaces core strips, so that core refuses a value
over its own limit with the Settings page's sentence; anything longer is refused before core reads it."""


_ALICE: JsonDict = {
    "id": 2,
    "username": "alice",
    "name": "Alice",
    "email": "alice@example.org",
    "role": "creator",
    "disabled": False,
    "must_change_password": False,
    "monthly_budget_usd": "50.0000",
    "max_open_generations": None,
    "last_login_at": "2026-12-07T05:00:00Z",
    "has_personal_key": False,
}


class AdminUserOut(FromView):
    """A user as the Users page lists them (limits null: the studio's defaults)."""

    model_config = from_view(_ALICE)

    id: int
    username: str
    name: str
    email: str
    role: str
    disabled: bool
    must_change_password: bool
    monthly_budget_usd: Money | None
    max_open_generations: int | None
    last_login_at: datetime | None
    has_personal_key: bool


class UserList(BaseModel):
    model_config = from_view({"items": [_ALICE]})

    items: list[AdminUserOut]


class UserIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"username": "carol", "role": "creator", "email": ""}]}
    )

    username: str = Field(
        max_length=32, description="2-32 of a-z, 0-9, ``_``, ``.``, ``-``; starts with a letter or digit."
    )
    role: str = Field(default="creator", max_length=16, description="``creator`` or ``admin``.")
    email: str = Field(default="", max_length=254)


_CAROL: JsonDict = {
    "id": 3,
    "username": "carol",
    "name": "",
    "email": "carol@example.org",
    "role": "creator",
    "disabled": False,
    "must_change_password": True,
    "monthly_budget_usd": None,
    "max_open_generations": None,
    "last_login_at": None,
    "has_personal_key": False,
}


class NewUserOut(BaseModel):
    """A new user and their initial password, shown this once; they must change it at first login."""

    model_config = from_view({"user": _CAROL, "initial_password": "Hn4w-x0PqLs7cTe2RbYu"})

    user: AdminUserOut
    initial_password: str


class InvitationOut(BaseModel):
    """A user invited by link (the Users page's "Invite by link"): the link is shown this once."""

    model_config = from_view(
        {
            "user": _CAROL,
            "invite_url": "https://studio.example.org/?invite=Zm9yIGV4YW1wbGUgb25seSwgbm90IGEgcmVhbCB0b2tlbg",
            "valid_hours": 72,
        }
    )

    user: AdminUserOut
    invite_url: str = Field(description="Works once; there they choose their own password. Not shown again.")
    valid_hours: int = Field(description="How long the link works after this answer (VEOGEN_INVITE_TTL_HOURS).")


class PasswordResetOut(BaseModel):
    """A new random password, shown this once: the user's sessions and tokens have ended, and they must change it
    when they next log in."""

    model_config = from_view({"user": _CAROL, "password": "q7Vd-2LmXc9RtzKp0aWe"})

    user: AdminUserOut
    password: str


_ACCOUNT_EVENT: JsonDict = {
    "at": "2026-12-07T05:00:00Z",
    "username": "carol",
    "kind": "account",
    "detail": "password reset (by admin)",
}


class AccountEventOut(BaseModel):
    model_config = from_view(_ACCOUNT_EVENT)

    at: datetime
    username: str = Field(description="Whose account; ``—`` when it names none (a failed login for no such user).")
    kind: str
    detail: str


class AccountEventList(BaseModel):
    """Logins, failed logins, locks and account changes, newest first (the Users page's "Account events")."""

    model_config = from_view({"items": [_ACCOUNT_EVENT]})

    items: list[AccountEventOut]


_TOKEN: JsonDict = {
    "id": 7,
    "user_id": 2,
    "username": "alice",
    "name": "nightly renders on CI",
    "hint": "veogen_pat_Xk3q",
    "scopes": ["read", "generate"],
    "created_at": "2026-12-01T09:00:00Z",
    "expires_at": "2027-03-01T09:00:00Z",
    "last_used_at": "2026-12-07T04:58:00Z",
    "revoked_at": None,
    "state": "active",
}


class AdminTokenOut(FromView):
    """Someone's personal access token: never its secret, only its first characters (``hint``)."""

    model_config = from_view(_TOKEN)

    id: int
    user_id: int
    username: str
    name: str
    hint: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    state: str = Field(description="``active``, ``expired``, ``revoked`` or ``ended`` (its account is disabled).")


class AdminTokenList(BaseModel):
    """Everyone's personal access tokens, newest first (the Users page's "API tokens")."""

    model_config = from_view({"items": [_TOKEN]})

    items: list[AdminTokenOut]


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"role": "admin"}]})

    role: str = Field(max_length=16, description="``creator`` or ``admin``.")


class LimitsIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"monthly_budget_usd": "25.00", "max_open_generations": None}]},
    )

    monthly_budget_usd: Decimal | None = Field(
        description="US dollars a month (a decimal string); null: the studio default.", max_digits=12, decimal_places=4
    )
    max_open_generations: int | None = Field(description="Open generations at once; null: the studio default.")


class CredentialOut(FromView):
    """A team credential as the Settings page shows it: set or not, and its last four characters (none when it is
    shorter than eight). Its value is never sent back."""

    model_config = from_view({"name": "gemini_api_key", "is_set": True, "last4": "x9Qw"})

    name: str = Field(description=f"One of {', '.join(TEAM_FIELDS)}.")
    is_set: bool
    last4: str


class CredentialList(BaseModel):
    model_config = from_view({"items": [{"name": "gemini_api_key", "is_set": True, "last4": "x9Qw"}]})

    items: list[CredentialOut]


class CredentialIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"value": "my-vertex-project"}]})

    value: str = Field(
        min_length=1,
        max_length=CREDENTIAL_READ_CHARS,
        description=f"The new value, at most {MAX_CREDENTIAL_CHARS} characters once surrounding spaces are "
        "stripped. Write-only: answers show its last four.",
    )


_LISTING: JsonDict = {
    "credential": "the team's Gemini API key",
    "surface_label": "Gemini API",
    "offered": ["Gemini Omni Flash"],
    "read_at": "2026-12-07T05:00:00Z",
    "error": "",
}


class CredentialModelsOut(FromView):
    model_config = from_view(_LISTING)

    credential: str = Field(description='Whose credential and which: "the team\'s Gemini API key".')
    surface_label: str
    offered: list[str] = Field(description="Labels of the catalog's models Google lists for it now.")
    read_at: datetime | None = Field(description="When Google's list was read.")
    error: str = Field(description="Why the list could not be read; empty when it was.")


class ModelListsOut(BaseModel):
    """Each of the studio's Google credentials and the models it offers now (the Settings page's "Models offered");
    empty when none is configured."""

    model_config = from_view({"items": [_LISTING]})

    items: list[CredentialModelsOut]


class ModelRefreshOut(ModelListsOut):
    """The lists after reading them again from Google."""

    model_config = from_view({"read": 1, "items": [_LISTING]})

    read: int = Field(description="How many credentials' lists were read (personal keys included).")
