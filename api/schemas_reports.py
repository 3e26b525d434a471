"""The administrators' reports (``/v1/admin/analytics``, ``/v1/admin/queue``): the Analytics page's aggregates and
the Queue page's health, read from core's plain views (``from_attributes``). Imports ``core`` and Pydantic only.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from api.schemas import FromView, Money, from_view

# The analytics and queue examples tell one story, read on 2026-12-07 (UTC): alice made three offline previews
# and four 8 s Veo 3.1 Fast videos at 720p ($0.80 each): three settled ($2.40) and one still running (reserved).
_FAST = "veo-3.1-fast-generate-001"
_COUNT: JsonDict = {"day": "2026-12-07", "model": "offline-preview", "status": "succeeded", "count": 3}
_TIMING: JsonDict = {"model": _FAST, "stage": "provider", "count": 3, "p50_seconds": 62.0, "p95_seconds": 118.0}
_DAILY: JsonDict = {"day": "2026-12-07", "model": _FAST, "usd": "2.4000", "settled": 3}
_SPENDER: JsonDict = {"user_id": 2, "username": "alice", "usd": "2.4000", "settled": 3}
_USER_BUDGET: JsonDict = {
    "user_id": 2,
    "username": "alice",
    "budget_usd": "50.0000",
    "committed_usd": "3.2000",
    "remaining_usd": "46.8000",
    "percent_used": 6.4,
    "uses_default": False,
    "disabled": False,
}
_BURN: JsonDict = {"user_id": 2, "day": "2026-12-07", "committed_usd": "3.2000"}
_DAYS = [f"2026-12-{day:02d}" for day in range(1, 8)]
_BUDGETS: JsonDict = {
    "period": "2026-12",
    "days": list(_DAYS),
    "users": [_USER_BUDGET],
    "burn": [_BURN if day == _BURN["day"] else {**_BURN, "day": day, "committed_usd": "0.0000"} for day in _DAYS],
}
_FILMS: JsonDict = {"created": 1, "started": 1, "takes": 3, "takes_succeeded": 3, "spent_usd": "0.0000"}


class StatusCountOut(FromView):
    model_config = from_view(_COUNT)

    day: date
    model: str
    status: str
    count: int


class TimingOut(FromView):
    model_config = from_view(_TIMING)

    model: str
    stage: str = Field(description="``queue`` or ``provider``.")
    count: int
    p50_seconds: float
    p95_seconds: float


class DailySpendOut(FromView):
    model_config = from_view(_DAILY)

    day: date
    model: str
    usd: Money
    settled: int


class UserSpendOut(FromView):
    model_config = from_view(_SPENDER)

    user_id: int
    username: str
    usd: Money
    settled: int


class UserBudgetOut(FromView):
    model_config = from_view(_USER_BUDGET)

    user_id: int
    username: str
    budget_usd: Money
    committed_usd: Money
    remaining_usd: Money
    percent_used: float | None
    uses_default: bool
    disabled: bool


class BurnPointOut(FromView):
    model_config = from_view(_BURN)

    user_id: int
    day: date
    committed_usd: Money


class BudgetReportOut(FromView):
    model_config = from_view(_BUDGETS)

    period: str
    days: list[date]
    users: list[UserBudgetOut]
    burn: list[BurnPointOut] = Field(description="Each user's committed spend at the end of each day, cumulative.")


class FilmCountsOut(FromView):
    model_config = from_view(_FILMS)

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
                    "counts": [
                        _COUNT,
                        {**_COUNT, "model": _FAST, "count": 3},
                        {**_COUNT, "model": _FAST, "status": "running", "count": 1},
                    ],
                    "timings": [_TIMING],
                    "daily_spend": [_DAILY],
                    "user_spend": [_SPENDER],
                    "budgets": _BUDGETS,
                    "films": _FILMS,
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


_HEALTH: JsonDict = {
    "by_status": {
        "queued": 0,
        "submitting": 0,
        "running": 1,
        "fetching": 0,
        "processing": 0,
        "succeeded": 6,
        "filtered": 1,
        "failed": 0,
        "canceled": 0,
    },
    "in_flight": {"veo": 1},
    "oldest_in_flight_seconds": {"veo": 42.5},
    "oldest_queued_seconds": 0.0,
    "stuck": 0,
    "finished_last_hour": {"succeeded": 4, "filtered": 0, "failed": 0, "canceled": 0},
    "errors_last_hour": {},
    "spend_today_usd": "2.4000",
    "spend_month_usd": "3.2000",
    "reserved_usd": "0.8000",
    "budget_month_usd": "150.0000",
    "budget_max_used_ratio": 0.064,
    "users_over": {"0.8": 0, "1": 0},
}
_RUNNING: JsonDict = {
    "id": "8d1e6b2f4a9c4e07b3f5a1c2d9e8f7a6",
    "username": "alice",
    "user_id": 2,
    "provider": "veo",
    "model": _FAST,
    "status": "running",
    "created_at": "2026-12-07T04:59:17Z",
    "submitted_at": "2026-12-07T04:59:18Z",
    "updated_at": "2026-12-07T05:00:00Z",
    "age_seconds": 42.5,
    "idle_seconds": 0.5,
    "retry_count": 0,
    "poll_count": 4,
}
_FAILURE: JsonDict = {
    "id": "c47a0e9b2d3f4a18b6e5d7c8f9a0b1c2",
    "username": "alice",
    "model": _FAST,
    "status": "filtered",
    "finished_at": "2026-12-06T17:42:09Z",
    "error_code": "SAFETY",
    "message": "Veo's safety filters blocked the video and gave no reason.",
}


class HealthOut(FromView):
    model_config = from_view(_HEALTH)

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


class UnfinishedOut(FromView):
    model_config = from_view(_RUNNING)

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


class FailureOut(FromView):
    model_config = from_view(_FAILURE)

    id: str
    username: str
    model: str
    status: str
    finished_at: datetime | None
    error_code: str
    message: str


class QueueOut(FromView):
    """The queue now, as the Queue page shows it."""

    model_config = from_view(
        {
            "health": _HEALTH,
            "jobs": {"queued": 0, "scheduled": 1, "started": 0, "failed": 0},
            "workers_alive": 2,
            "scheduler_leading": True,
            "unfinished": [_RUNNING],
            "stuck": [],
            "failures": [_FAILURE],
            "failed_jobs": [],
            "read_at": "2026-12-07T05:00:00.500000Z",
            "redis_error": None,
        }
    )

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
