"""``/v1/admin``: users, tokens, the team's credentials and model lists, analytics and the queue, for administrators.

A route needs a token with the ``admin`` scope (403 ``insufficient-scope``
otherwise) and, like every admin method in core, a caller who is still an
enabled administrator (403 ``forbidden``). Each route is one call of the
methods the admin pages make: the Users page's ``studio.accounts`` and
``studio.tokens.list_all``/``revoke_any``, the Settings page's
``studio.accounts.team_credentials``/``set_team_credential`` and
``studio.generations.model_lists``/``refresh_model_lists``, the Analytics page's
``studio.analytics.report``, the Queue page's ``studio.queue_admin``.

A secret shown once (a new user's password, a reset password, an invitation
link) is in that one answer only, sent with ``Cache-Control: no-store``; no
read gives it again. A credential is write-only: answers show its last four.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from api.problems import blank_secret, documented, invalid
from api.routes.generations import GenerationId, state_refusals
from api.schemas import GenerationOut, generation_of
from api.schemas_admin import (
    AccountEventList,
    AccountEventOut,
    AdminTokenList,
    AdminTokenOut,
    AdminUserOut,
    CredentialIn,
    CredentialList,
    CredentialOut,
    InvitationOut,
    LimitsIn,
    ModelListsOut,
    ModelRefreshOut,
    NewUserOut,
    PasswordResetOut,
    RoleIn,
    UserIn,
    UserList,
)
from api.schemas_reports import AnalyticsOut, QueueOut
from api.security import Administrator, StudioDep
from core.services.analytics import DateRange
from core.services.credentials import TEAM_FIELDS

router = APIRouter(prefix="/admin", tags=["admin"])

UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]
TokenId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The token's id (``GET /v1/admin/tokens``).")]
CredentialName = Annotated[str, Path(max_length=32, description=f"One of {', '.join(TEAM_FIELDS)}.")]

MAX_RANGE_DAYS = 400
"""Longest analytics range one request may ask for, in days (a year and some; the page shows any range)."""

READS = documented(401, 403)
CHANGES = documented(401, 403, 404, 422)
SENT_CHANGES = {**CHANGES, **documented(400, 413)}  # a JSON body: 400 when it is not JSON, 413 over 64 KiB


def _user(view: object) -> AdminUserOut:
    return AdminUserOut.model_validate(view)


def _shown_once(response: Response) -> None:
    """Keep an answer carrying a one-time secret out of every cache (as ``POST /v1/token`` does)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"


@router.get("/users", response_model=UserList, responses=READS)
def list_users(owner: Administrator, studio: StudioDep) -> UserList:
    """Every user, by username, with their role, state and limits."""
    return UserList(items=[_user(v) for v in studio.accounts.list_users(owner.user.id)])


@router.get("/users/{user_id}", response_model=AdminUserOut, responses=documented(401, 403, 404, 422))
def get_user(user_id: UserId, owner: Administrator, studio: StudioDep) -> AdminUserOut:
    return _user(studio.accounts.user(owner.user.id, user_id))


@router.post("/users", status_code=201, response_model=NewUserOut, responses=documented(400, 401, 403, 413, 422))
def create_user(body: UserIn, owner: Administrator, studio: StudioDep, response: Response) -> NewUserOut:
    """A new user with an initial password (shown this once) that they must change at first login."""
    view, password = studio.accounts.create_user(owner.user.id, body.username, body.role, body.email)
    response.headers["Location"] = f"/v1/admin/users/{view.id}"
    _shown_once(response)
    return NewUserOut(user=_user(view), initial_password=password)


@router.post(
    "/invitations", status_code=201, response_model=InvitationOut, responses=documented(400, 401, 403, 413, 422)
)
def invite_user(body: UserIn, owner: Administrator, studio: StudioDep, response: Response) -> InvitationOut:
    """A new user invited by a one-time link (shown this once), where they choose their own password."""
    view, link = studio.accounts.invite_user(owner.user.id, body.username, body.role, body.email)
    response.headers["Location"] = f"/v1/admin/users/{view.id}"
    _shown_once(response)
    return InvitationOut(user=_user(view), invite_url=link, valid_hours=studio.settings.invite_ttl_hours)


@router.post("/users/{user_id}/disable", response_model=AdminUserOut, responses=CHANGES)
def disable_user(user_id: UserId, owner: Administrator, studio: StudioDep) -> AdminUserOut:
    """Disable a user: their sessions and tokens stop working (the last enabled admin cannot be disabled)."""
    return _user(studio.accounts.set_disabled(owner.user.id, user_id, True))


@router.post("/users/{user_id}/enable", response_model=AdminUserOut, responses=CHANGES)
def enable_user(user_id: UserId, owner: Administrator, studio: StudioDep) -> AdminUserOut:
    return _user(studio.accounts.set_disabled(owner.user.id, user_id, False))


@router.post("/users/{user_id}/password-reset", response_model=PasswordResetOut, responses=CHANGES)
def reset_password(user_id: UserId, owner: Administrator, studio: StudioDep, response: Response) -> PasswordResetOut:
    """A new random password (shown this once); the user's sessions and tokens end, and they must change it."""
    view, password = studio.accounts.reset_password(owner.user.id, user_id)
    _shown_once(response)
    return PasswordResetOut(user=_user(view), password=password)


@router.put("/users/{user_id}/role", response_model=AdminUserOut, responses=SENT_CHANGES)
def set_role(user_id: UserId, body: RoleIn, owner: Administrator, studio: StudioDep) -> AdminUserOut:
    """Make a user a creator or an admin (the last enabled admin stays one)."""
    return _user(studio.accounts.set_role(owner.user.id, user_id, body.role))


@router.put("/users/{user_id}/limits", response_model=AdminUserOut, responses=SENT_CHANGES)
def set_limits(user_id: UserId, body: LimitsIn, owner: Administrator, studio: StudioDep) -> AdminUserOut:
    """A user's monthly budget and cap of open generations (null: the studio's defaults)."""
    return _user(studio.accounts.set_limits(owner.user.id, user_id, body.monthly_budget_usd, body.max_open_generations))


@router.get("/events", response_model=AccountEventList, responses=READS)
def account_events(owner: Administrator, studio: StudioDep) -> AccountEventList:
    """Logins, failed logins, locks and account changes, newest first (the Users page's list)."""
    return AccountEventList(
        items=[
            AccountEventOut(at=at, username=username, kind=kind, detail=detail)
            for at, username, kind, detail in studio.accounts.events(owner.user.id)
        ]
    )


@router.get("/tokens", response_model=AdminTokenList, responses=READS)
def list_tokens(owner: Administrator, studio: StudioDep) -> AdminTokenList:
    """Everyone's personal access tokens, newest first, whatever their state (never a secret)."""
    return AdminTokenList(items=[AdminTokenOut.model_validate(v) for v in studio.tokens.list_all(owner.user.id)])


@router.post("/tokens/{token_id}/revoke", response_model=AdminTokenOut, responses=CHANGES)
def revoke_token(token_id: TokenId, owner: Administrator, studio: StudioDep) -> AdminTokenOut:
    """Revoke anyone's token: it stops working at once (revoking it again changes nothing)."""
    return AdminTokenOut.model_validate(studio.tokens.revoke_any(owner.user.id, token_id))


@router.get("/credentials", response_model=CredentialList, responses=READS)
def team_credentials(owner: Administrator, studio: StudioDep) -> CredentialList:
    """The team's Google credentials: set or not, and their last four characters (the Settings page)."""
    return CredentialList(
        items=[CredentialOut.model_validate(v) for v in studio.accounts.team_credentials(owner.user.id)]
    )


@router.put("/credentials/{name}", response_model=CredentialOut, responses=SENT_CHANGES)
def set_credential(name: CredentialName, body: CredentialIn, owner: Administrator, studio: StudioDep) -> CredentialOut:
    """Store a team credential, encrypted (the Settings page's Save); the answer shows its last four only.

    An empty value (or spaces only) is refused, as the page's Save refuses it: ``DELETE`` removes a credential.
    """
    if not body.value.strip():
        raise blank_secret(f"{name} credential")
    return CredentialOut.model_validate(studio.accounts.set_team_credential(owner.user.id, name, body.value))


@router.delete("/credentials/{name}", response_model=CredentialOut, responses=documented(401, 403, 422))
def remove_credential(name: CredentialName, owner: Administrator, studio: StudioDep) -> CredentialOut:
    """Remove a team credential (the Settings page's Remove)."""
    return CredentialOut.model_validate(studio.accounts.set_team_credential(owner.user.id, name, ""))


@router.get("/models", response_model=ModelListsOut, responses=READS)
def model_lists(owner: Administrator, studio: StudioDep) -> ModelListsOut:
    """Each Google credential, the models Google lists for it now and when that list was read."""
    return ModelListsOut.model_validate({"items": studio.generations.model_lists(owner.user.id)})


@router.post("/models/refresh", response_model=ModelRefreshOut, responses=READS)
def refresh_model_lists(owner: Administrator, studio: StudioDep) -> ModelRefreshOut:
    """Read every credential's model list from Google again now (the Settings page's button), then show them."""
    read = studio.generations.refresh_model_lists(owner.user.id)
    return ModelRefreshOut.model_validate({"read": read, "items": studio.generations.model_lists(owner.user.id)})


@router.get("/analytics", response_model=AnalyticsOut, responses=documented(401, 403, 422))
def analytics(
    owner: Administrator,
    studio: StudioDep,
    start: Annotated[date | None, Query(description="First UTC day; default: 30 days before ``end``.")] = None,
    end: Annotated[date | None, Query(description="Last UTC day, included; default: today.")] = None,
    period: Annotated[
        str | None, Query(max_length=7, description="Budget month ``YYYY-MM`` within the range; default: the latest.")
    ] = None,
) -> AnalyticsOut:
    """Spend and counts by day, model and user, timings, budgets and films for a range (the Analytics page)."""
    default = studio.analytics.default_range()
    span = DateRange(
        start or (default.start if end is None else end - (default.end - default.start)), end or default.end
    )
    if (span.end - span.start).days + 1 > MAX_RANGE_DAYS:
        raise invalid(
            f"Ask for {MAX_RANGE_DAYS} days at most; this range has {(span.end - span.start).days + 1}.", "start"
        )
    month = period or span.periods[0]
    if month not in span.periods:
        raise invalid(f"The budget month must be one the range touches: {', '.join(span.periods)}.", "period")
    report = studio.analytics.report(owner.user.id, span, month)
    return AnalyticsOut.model_validate(
        {
            "start": span.start,
            "end": span.end,
            "counts": report.counts,
            "timings": report.timings,
            "daily_spend": report.daily_spend,
            "user_spend": report.user_spend,
            "budgets": report.budgets,
            "films": report.films,
        },
        from_attributes=True,
    )


@router.get("/queue", response_model=QueueOut, responses=READS)
def queue(owner: Administrator, studio: StudioDep) -> QueueOut:
    """Queue health now: counts, in-flight generations and their ages, stuck ones, recent failures, workers."""
    return QueueOut.model_validate(studio.queue_admin.snapshot(owner.user.id))


QUEUE_ACTIONS = documented(401, 403, 404, 409, 422)


@router.post("/queue/{generation_id}/cancel", response_model=GenerationOut, responses=QUEUE_ACTIONS)
def cancel_queued(generation_id: GenerationId, owner: Administrator, studio: StudioDep) -> GenerationOut:
    """Cancel anyone's queued generation as its owner's Cancel does: its reservation is released.

    409 ``conflict`` once it has reached the provider: from then on it is being paid for.
    """
    with state_refusals():
        return generation_of(studio.queue_admin.cancel(owner.user.id, generation_id))


@router.post(
    "/queue/{generation_id}/retry",
    status_code=201,
    response_model=GenerationOut,
    responses={
        200: {"description": "This generation was retried before: its retry.", "model": GenerationOut},
        **QUEUE_ACTIONS,
    },
)
def retry_failed(
    generation_id: GenerationId, owner: Administrator, studio: StudioDep, response: Response
) -> GenerationOut:
    """Retry anyone's failed, filtered or canceled generation as a new one of its owner (their budget and cap).

    Retrying it again answers the first retry (200, ``Idempotent-Replayed: true``). 409 ``conflict`` says why a
    retry is refused (still in progress, succeeded, or a submission whose answer was lost: it could pay twice);
    403 ``over-budget`` when the owner's budget or cap does not allow it.
    """
    with state_refusals():
        view, created = studio.queue_admin.retry(owner.user.id, generation_id)
    response.status_code = 201 if created else 200
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return generation_of(view)
