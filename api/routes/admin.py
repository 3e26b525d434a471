"""``/v1/admin``: users, analytics and queue health, for administrators.

A route needs a token with the ``admin`` scope (403 ``insufficient-scope``
otherwise) and, like every admin method in core, a caller who is still an
enabled administrator (403 ``forbidden``). Each route is one call of the
methods the Users, Analytics and Queue pages make: ``studio.accounts``,
``studio.analytics.report``, ``studio.queue_admin.snapshot``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from api.problems import Problem, documented
from api.schemas_admin import (
    AdminUserOut,
    AnalyticsOut,
    LimitsIn,
    NewUserOut,
    QueueOut,
    RoleIn,
    UserIn,
    UserList,
)
from api.security import StudioDep, scoped
from core.services.analytics import DateRange
from core.services.tokens import TokenOwner

router = APIRouter(prefix="/admin", tags=["admin"])

Admin = Annotated[TokenOwner, Depends(scoped("admin"))]
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]

MAX_RANGE_DAYS = 400
"""Longest analytics range one request may ask for, in days (a year and some; the page shows any range)."""

READS = documented(401, 403)
CHANGES = documented(401, 403, 404, 422)
SENT_CHANGES = {**CHANGES, **documented(400, 413)}  # a JSON body: 400 when it is not JSON, 413 over 64 KiB


def _user(view: object) -> AdminUserOut:
    return AdminUserOut.model_validate(view)


@router.get("/users", response_model=UserList, responses=READS)
def list_users(owner: Admin, studio: StudioDep) -> UserList:
    """Every user, by username, with their role, state and limits."""
    return UserList(items=[_user(v) for v in studio.accounts.list_users(owner.user.id)])


@router.get("/users/{user_id}", response_model=AdminUserOut, responses=documented(401, 403, 404, 422))
def get_user(user_id: UserId, owner: Admin, studio: StudioDep) -> AdminUserOut:
    return _user(studio.accounts.user(owner.user.id, user_id))


@router.post("/users", status_code=201, response_model=NewUserOut, responses=documented(400, 401, 403, 413, 422))
def create_user(body: UserIn, owner: Admin, studio: StudioDep, response: Response) -> NewUserOut:
    """A new user with an initial password (shown this once) that they must change at first login."""
    view, password = studio.accounts.create_user(owner.user.id, body.username, body.role, body.email)
    response.headers["Location"] = f"/v1/admin/users/{view.id}"
    return NewUserOut(user=_user(view), initial_password=password)


@router.post("/users/{user_id}/disable", response_model=AdminUserOut, responses=CHANGES)
def disable_user(user_id: UserId, owner: Admin, studio: StudioDep) -> AdminUserOut:
    """Disable a user: their sessions and tokens stop working (the last enabled admin cannot be disabled)."""
    return _user(studio.accounts.set_disabled(owner.user.id, user_id, True))


@router.post("/users/{user_id}/enable", response_model=AdminUserOut, responses=CHANGES)
def enable_user(user_id: UserId, owner: Admin, studio: StudioDep) -> AdminUserOut:
    return _user(studio.accounts.set_disabled(owner.user.id, user_id, False))


@router.put("/users/{user_id}/role", response_model=AdminUserOut, responses=SENT_CHANGES)
def set_role(user_id: UserId, body: RoleIn, owner: Admin, studio: StudioDep) -> AdminUserOut:
    """Make a user a creator or an admin (the last enabled admin stays one)."""
    return _user(studio.accounts.set_role(owner.user.id, user_id, body.role))


@router.put("/users/{user_id}/limits", response_model=AdminUserOut, responses=SENT_CHANGES)
def set_limits(user_id: UserId, body: LimitsIn, owner: Admin, studio: StudioDep) -> AdminUserOut:
    """A user's monthly budget and cap of open generations (null: the studio's defaults)."""
    return _user(studio.accounts.set_limits(owner.user.id, user_id, body.monthly_budget_usd, body.max_open_generations))


@router.get("/analytics", response_model=AnalyticsOut, responses=documented(401, 403, 422))
def analytics(
    owner: Admin,
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
        raise Problem(
            422,
            "validation",
            "The request is not valid",
            f"Ask for {MAX_RANGE_DAYS} days at most; this range has {(span.end - span.start).days + 1}.",
            field="start",
        )
    month = period or span.periods[0]
    if month not in span.periods:
        raise Problem(
            422,
            "validation",
            "The request is not valid",
            f"The budget month must be one the range touches: {', '.join(span.periods)}.",
            field="period",
        )
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
def queue(owner: Admin, studio: StudioDep) -> QueueOut:
    """Queue health now: counts, in-flight generations and their ages, stuck ones, recent failures, workers."""
    return QueueOut.model_validate(studio.queue_admin.snapshot(owner.user.id))
