"""The administrators' request and response models (``/v1/admin``): users, invitations, password resets, account
events, everyone's tokens, the team's credentials and model lists, analytics, queue health.

Responses are read from core's plain views (``from_attributes``), so the routes hold no field lists. Core checks
usernames, roles, emails, limits and credentials with the pages' messages; the bounds here only keep inputs short.
No model here carries a stored credential: a credential is written, and read back as its last four only.
Imports ``core`` and Pydantic only.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from api.schemas import Money
from core.services.credentials import MAX_CREDENTIAL_CHARS, TEAM_FIELDS

CREDENTIAL_READ_CHARS = 4 * MAX_CREDENTIAL_CHARS
"""Longest credential value read, in characters: room for the spaces core strips, so that core refuses a value
over its own limit with the Settings page's sentence; anything longer is refused before core reads it."""


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AdminUserOut(_Read):
    """A user as the Users page lists them (limits null: the studio's defaults)."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
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
            ]
        },
    )

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


class NewUserOut(BaseModel):
    """A new user and their initial password, shown this once; they must change it at first login."""

    user: AdminUserOut
    initial_password: str


def _read(example: JsonDict) -> ConfigDict:
    return ConfigDict(from_attributes=True, json_schema_extra={"examples": [example]})


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


class InvitationOut(BaseModel):
    """A user invited by link (the Users page's "Invite by link"): the link is shown this once."""

    model_config = _read(
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

    model_config = _read({"user": _CAROL, "password": "q7Vd-2LmXc9RtzKp0aWe"})

    user: AdminUserOut
    password: str


class AccountEventOut(BaseModel):
    at: datetime
    username: str = Field(description="Whose account; ``—`` when it names none (a failed login for no such user).")
    kind: str
    detail: str


class AccountEventList(BaseModel):
    """Logins, failed logins, locks and account changes, newest first (the Users page's "Account events")."""

    model_config = _read(
        {"items": [{"at": "2026-12-07T05:00:00Z", "username": "carol", "kind": "account", "detail": "password reset"}]}
    )

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


class AdminTokenOut(_Read):
    """Someone's personal access token: never its secret, only its first characters (``hint``)."""

    model_config = _read(_TOKEN)

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

    model_config = _read({"items": [_TOKEN]})

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


class StatusCountOut(_Read):
    day: date
    model: str
    status: str
    count: int


class TimingOut(_Read):
    model: str
    stage: str = Field(description="``queue`` or ``provider``.")
    count: int
    p50_seconds: float
    p95_seconds: float


class DailySpendOut(_Read):
    day: date
    model: str
    usd: Money
    settled: int


class UserSpendOut(_Read):
    user_id: int
    username: str
    usd: Money
    settled: int


class UserBudgetOut(_Read):
    user_id: int
    username: str
    budget_usd: Money
    committed_usd: Money
    remaining_usd: Money
    percent_used: float | None
    uses_default: bool
    disabled: bool


class BurnPointOut(_Read):
    user_id: int
    day: date
    committed_usd: Money


class BudgetReportOut(_Read):
    period: str
    days: list[date]
    users: list[UserBudgetOut]
    burn: list[BurnPointOut] = Field(description="Each user's committed spend at the end of each day, cumulative.")


class FilmCountsOut(_Read):
    created: int
    started: int
    takes: int
    takes_succeeded: int
    spent_usd: Money


class AnalyticsOut(BaseModel):
    """What the Analytics page shows for a range of UTC days and one budget month."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "start": "2026-11-08",
                    "end": "2026-12-07",
                    "counts": [{"day": "2026-12-07", "model": "offline-preview", "status": "succeeded", "count": 3}],
                    "timings": [],
                    "daily_spend": [],
                    "user_spend": [],
                    "budgets": {"period": "2026-12", "days": [], "users": [], "burn": []},
                    "films": {"created": 1, "started": 1, "takes": 3, "takes_succeeded": 3, "spent_usd": "0.0000"},
                }
            ]
        }
    )

    start: date
    end: date
    counts: list[StatusCountOut] = Field(description="Generations created, by day, model and status.")
    timings: list[TimingOut]
    daily_spend: list[DailySpendOut] = Field(description="Real cost settled, by day and model.")
    user_spend: list[UserSpendOut]
    budgets: BudgetReportOut
    films: FilmCountsOut


class HealthOut(_Read):
    by_status: dict[str, int]
    in_flight: dict[str, int] = Field(description="Generations in flight, by provider.")
    oldest_in_flight_seconds: dict[str, float]
    oldest_queued_seconds: float
    stuck: int
    finished_last_hour: dict[str, int]
    errors_last_hour: dict[str, int]
    spend_today_usd: Money
    spend_month_usd: Money
    reserved_usd: Money
    budget_month_usd: Money
    budget_max_used_ratio: float
    users_over: dict[str, int]


class UnfinishedOut(_Read):
    id: str
    username: str
    user_id: int
    provider: str
    model: str
    status: str
    created_at: datetime
    submitted_at: datetime | None
    updated_at: datetime
    age_seconds: float
    idle_seconds: float
    retry_count: int
    poll_count: int


class FailureOut(_Read):
    id: str
    username: str
    model: str
    status: str
    finished_at: datetime | None
    error_code: str
    message: str


class QueueOut(_Read):
    """The queue now, as the Queue page shows it."""

    health: HealthOut
    jobs: dict[str, int] = Field(description="RQ jobs by state; empty when Redis did not answer.")
    workers_alive: int
    scheduler_leading: bool
    unfinished: list[UnfinishedOut]
    stuck: list[UnfinishedOut]
    failures: list[FailureOut]
    failed_jobs: list[str]
    read_at: datetime
    redis_error: str | None


class CredentialOut(_Read):
    """A team credential as the Settings page shows it: set or not, and its last four characters (none when it is
    shorter than eight). Its value is never sent back."""

    model_config = _read({"name": "gemini_api_key", "is_set": True, "last4": "x9Qw"})

    name: str = Field(description=f"One of {', '.join(TEAM_FIELDS)}.")
    is_set: bool
    last4: str


class CredentialList(BaseModel):
    model_config = _read({"items": [{"name": "gemini_api_key", "is_set": True, "last4": "x9Qw"}]})

    items: list[CredentialOut]


class CredentialIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"value": "my-vertex-project"}]})

    value: str = Field(
        min_length=1,
        max_length=CREDENTIAL_READ_CHARS,
        description=f"The new value, at most {MAX_CREDENTIAL_CHARS} characters once surrounding spaces are "
        "stripped. Write-only: answers show its last four.",
    )


class CredentialModelsOut(_Read):
    credential: str = Field(description='Whose credential and which: "the team\'s Gemini API key".')
    surface_label: str
    offered: list[str] = Field(description="Labels of the catalog's models Google lists for it now.")
    read_at: datetime | None = Field(description="When Google's list was read.")
    error: str = Field(description="Why the list could not be read; empty when it was.")


_LISTING: JsonDict = {
    "credential": "the team's Gemini API key",
    "surface_label": "Gemini API",
    "offered": ["Gemini Omni Flash"],
    "read_at": "2026-12-07T05:00:00Z",
    "error": "",
}


class ModelListsOut(BaseModel):
    """Each of the studio's Google credentials and the models it offers now (the Settings page's "Models offered");
    empty when none is configured."""

    model_config = _read({"items": [_LISTING]})

    items: list[CredentialModelsOut]


class ModelRefreshOut(ModelListsOut):
    """The lists after reading them again from Google."""

    model_config = _read({"read": 1, "items": [_LISTING]})

    read: int = Field(description="How many credentials' lists were read (personal keys included).")
