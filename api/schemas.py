"""The API's request and response models, each with an example; built from core's plain views.

Money is a decimal string in US dollars with the ledger's four places (``"0.4000"``), never a float. Times are
ISO 8601 in UTC. Every ``*_of`` function copies one of core's views into its
model, so the routes hold no field lists. Imports ``core`` and Pydantic only.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer
from pydantic.config import JsonDict

from core.catalog import Offer
from core.params import GenerationParams, VideoFacts
from core.services.budgets import BudgetView
from core.services.generations import EventView, GenerationView
from core.services.tokens import TokenOwner

EXAMPLE_ID = "3f2c9a7d1b5e4c8f9a0b1c2d3e4f5a6b"

MONEY_PLACES = Decimal("0.0001")
"""Money is written with the ledger's precision (``Numeric(12, 4)``), so one amount always reads the same."""

Money = Annotated[Decimal, PlainSerializer(lambda v: str(v.quantize(MONEY_PLACES)), return_type=str)]


def _example(value: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [value]})


class FromView(BaseModel):
    """A response read from one of core's plain views (its attributes), so a route holds no field list."""

    model_config = ConfigDict(from_attributes=True)


def from_view(example: JsonDict) -> ConfigDict:
    """The config of a :class:`FromView` model documented with ``example``."""
    return ConfigDict(from_attributes=True, json_schema_extra={"examples": [example]})


class ProblemOut(BaseModel):
    """An error (RFC 9457): ``detail`` is the plain sentence a page would show."""

    model_config = _example(
        {
            "type": "urn:veogen:problem:validation",
            "title": "The request is not valid",
            "status": 422,
            "detail": "Offline preview renderer (local, not AI) makes videos of 2 s, 3 s, 4 s; 1 s is not one of them.",
            "instance": "/v1/generations",
            "field": "duration_seconds",
        }
    )

    type: str = Field(description="A stable identifier of the kind of problem (``urn:veogen:problem:<slug>``).")
    title: str
    status: int
    detail: str
    instance: str | None = None
    field: str | None = Field(default=None, description="The input a validation problem is about.")


_MODEL: dict[str, Any] = {
    "id": "offline-preview",
    "label": "Offline preview renderer (local, not AI)",
    "backend": "offline",
    "surface": "local",
    "credential": "this machine",
    "modes": ["text"],
    "durations": [2, 4, 8],
    "resolutions": ["240p", "720p"],
    "aspect_ratios": ["16:9", "9:16"],
    "max_videos": 4,
    "audio": False,
    "negative_prompt": True,
    "seed": True,
    "usd_per_second": {"240p": "0.0000", "720p": "0.0000"},
    "price_read_on": "n/a (runs on this machine, free)",
    "notes": "Draws the prompt's words, colours and motion locally with PyAV. It is not AI.",
}


class ModelOut(BaseModel):
    """A model the caller may use now, its limits and prices, and the credential that serves it."""

    model_config = _example(_MODEL)

    id: str
    label: str
    backend: str = Field(description="``veo``, ``omni`` or ``offline``.")
    surface: str = Field(description="Where it is served: ``gemini``, ``vertex`` or ``local``.")
    credential: str = Field(description="Whose credential serves it.")
    modes: list[str]
    durations: list[int] = Field(description="Seconds a video may last.")
    resolutions: list[str]
    aspect_ratios: list[str]
    max_videos: int = Field(description="Videos per request (``sample_count``) at most, on this surface.")
    audio: bool
    negative_prompt: bool = Field(description="False when the model takes none (the text is added to the prompt).")
    seed: bool
    usd_per_second: dict[str, Money] = Field(description="Price of a second of video, by resolution.")
    price_read_on: str
    notes: str = ""


class ModelList(BaseModel):
    model_config = _example({"models": [_MODEL], "unavailable": []})

    models: list[ModelOut]
    unavailable: list[str] = Field(description="Credentials whose model list could not be read, and why.")


def model_of(offer: Offer) -> ModelOut:
    spec = offer.spec
    return ModelOut(
        id=spec.id,
        label=spec.label,
        backend=spec.provider,
        surface=offer.surface,
        credential=offer.credential,
        modes=list(spec.modes),
        durations=list(spec.durations),
        resolutions=list(spec.resolutions),
        aspect_ratios=list(spec.aspect_ratios),
        max_videos=spec.max_samples_on(offer.surface),
        audio=spec.audio,
        negative_prompt=spec.negative_prompt,
        seed=spec.supports_seed,
        usd_per_second=dict(spec.usd_per_second),
        price_read_on=spec.price_read_on,
        notes=spec.notes,
    )


_USER: dict[str, Any] = {"id": 2, "username": "alice", "name": "Alice", "role": "creator"}
_TOKEN_INFO: dict[str, Any] = {
    "name": "ci renders",
    "scopes": ["read", "generate"],
    "expires_at": "2027-03-07T05:00:00Z",
}
_BUDGET: dict[str, Any] = {
    "period": "2026-12",
    "budget_usd": "50.0000",
    "committed_usd": "3.2000",
    "remaining_usd": "46.8000",
    "open_generations": 1,
    "max_open_generations": 20,
}


class UserOut(BaseModel):
    model_config = _example(_USER)

    id: int
    username: str
    name: str
    role: str


class TokenInfo(BaseModel):
    model_config = _example(_TOKEN_INFO)

    name: str
    scopes: list[str]
    expires_at: datetime


class BudgetOut(BaseModel):
    """The caller's month (UTC): the budget, what is spent or reserved, and open generations."""

    model_config = _example(_BUDGET)

    period: str = Field(description="``YYYY-MM``, UTC.")
    budget_usd: Money
    committed_usd: Money = Field(description="Reserved for open generations plus settled costs this month.")
    remaining_usd: Money
    open_generations: int
    max_open_generations: int


class MeOut(BaseModel):
    model_config = _example({"user": _USER, "token": _TOKEN_INFO, "budget": _BUDGET})

    user: UserOut
    token: TokenInfo
    budget: BudgetOut


def me_of(owner: TokenOwner, budget: BudgetView) -> MeOut:
    user = owner.user
    return MeOut(
        user=UserOut(id=user.id, username=user.username, name=user.name, role=user.role),
        token=TokenInfo(name=owner.token_name, scopes=sorted(owner.scopes), expires_at=owner.expires_at),
        budget=BudgetOut(
            period=budget.period,
            budget_usd=budget.budget_usd,
            committed_usd=budget.committed_usd,
            remaining_usd=budget.remaining_usd,
            open_generations=budget.open_generations,
            max_open_generations=budget.max_open_generations,
        ),
    )


class GenerationIn(BaseModel):
    """A generation request: the Create page's settings. Image modes send it as the ``request`` part of a
    multipart body beside their images; ``extend`` and ``edit`` name one of your videos in ``extend_of_id``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "model": "offline-preview",
                    "prompt": "A lighthouse in a storm, waves breaking",
                    "duration_seconds": 4,
                    "resolution": "720p",
                    "aspect_ratio": "16:9",
                }
            ]
        },
    )

    model: str = Field(max_length=64, description="A model id from ``GET /v1/models``.")
    prompt: str
    negative_prompt: str = ""
    duration_seconds: int = Field(default=GenerationParams.duration_seconds, strict=True)
    aspect_ratio: str = GenerationParams.aspect_ratio
    resolution: str = GenerationParams.resolution
    seed: int | None = Field(default=None, strict=True)
    sample_count: int = Field(default=GenerationParams.sample_count, strict=True, description="Videos to make.")
    mode: str = Field(
        default="text",
        description="``text``, ``image`` (a first frame), ``frames`` (first and last), ``reference`` (1–3 "
        "reference images), ``extend`` or ``edit`` (of ``extend_of_id``); ``GET /v1/models`` lists each model's.",
    )
    extend_of_id: str | None = Field(
        default=None, max_length=64, description="The video of yours to extend or edit (modes extend, edit)."
    )
    confirm_repeat: bool = Field(
        default=False,
        description="Pay for another video although the same request was made moments ago (after a 409).",
    )


class VideoOut(BaseModel):
    model_config = _example(
        {
            "index": 0,
            "duration_seconds": 4.0,
            "width": 1280,
            "height": 720,
            "fps": 24.0,
            "codec": "h264",
            "has_audio": False,
            "size_bytes": 1843217,
            "sha256": "9b74c9897bac770ffc029102a200c5de4d7e7c7a8e8f3b1d2c6a5e4f3b2a1c0d",
            "flags": [],
        }
    )

    index: int
    duration_seconds: float
    width: int
    height: int
    fps: float
    codec: str
    has_audio: bool
    size_bytes: int
    sha256: str
    flags: list[str] = Field(default_factory=list, description="What a film shot's quality checks found.")


class GenerationOut(BaseModel):
    """A generation as its owner sees it."""

    model_config = _example(
        {
            "id": EXAMPLE_ID,
            "status": "queued",
            "model": "offline-preview",
            "model_label": "Offline preview renderer (local, not AI)",
            "mode": "text",
            "prompt": "A lighthouse in a storm, waves breaking",
            "negative_prompt": "",
            "duration_seconds": 4,
            "aspect_ratio": "16:9",
            "resolution": "720p",
            "seed": None,
            "sample_count": 1,
            "backend": "offline",
            "surface": "local",
            "price_usd": "0.0000",
            "cost_usd": None,
            "created_at": "2026-12-07T05:00:00Z",
            "updated_at": "2026-12-07T05:00:00Z",
            "finished_at": None,
            "error_code": None,
            "error_message": None,
            "safety_reasons": [],
            "remix_of_id": None,
            "extend_of_id": None,
            "videos": [],
        }
    )

    id: str
    status: str = Field(description="queued, submitting, running, fetching, processing, succeeded, failed, …")
    model: str
    model_label: str
    mode: str
    prompt: str
    negative_prompt: str
    duration_seconds: int
    aspect_ratio: str
    resolution: str
    seed: int | None
    sample_count: int
    backend: str
    surface: str | None
    price_usd: Money = Field(description="Reserved at submit.")
    cost_usd: Money | None = Field(description="The real cost, once settled.")
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    error_code: str | None
    error_message: str | None
    safety_reasons: list[str]
    remix_of_id: str | None
    extend_of_id: str | None
    videos: list[VideoOut]


def generation_of(view: GenerationView) -> GenerationOut:
    return GenerationOut(
        **view.params.columns(),
        id=view.id,
        status=view.status.value,
        model_label=view.model_label,
        backend=view.provider,
        surface=view.surface,
        price_usd=view.price_usd,
        cost_usd=view.cost_usd,
        created_at=view.created_at,
        updated_at=view.updated_at,
        finished_at=view.finished_at,
        error_code=view.error_code,
        error_message=view.error_message,
        safety_reasons=list(view.safety_reasons),
        remix_of_id=view.remix_of_id,
        extend_of_id=view.extend_of_id,
        videos=[VideoOut(**VideoFacts.of(v).columns(), index=v.index, flags=list(v.flags)) for v in view.videos],
    )


class GenerationList(BaseModel):
    model_config = _example({"items": [], "total": 0, "next_cursor": None})

    items: list[GenerationOut]
    total: int = Field(description="How many generations match the filters.")
    next_cursor: str | None = Field(description="Pass as ``cursor`` for the next page; null on the last page.")


_EVENT: dict[str, Any] = {
    "at": "2026-12-07T05:00:00Z",
    "kind": "status",
    "from_status": None,
    "to_status": "queued",
    "detail": "submitted; price $0.40",
}


class EventOut(BaseModel):
    """One change in a generation's life: a row of the Generation page's timeline."""

    model_config = _example(_EVENT)

    at: datetime
    kind: str = Field(description="``status`` for a change of status; other kinds note what happened.")
    from_status: str | None = Field(description="The status before (null for the submission).")
    to_status: str | None
    detail: str = Field(description="What happened, in the words the page shows.")


class EventList(BaseModel):
    model_config = _example(
        {
            "events": [
                _EVENT,
                {
                    "at": "2026-12-07T05:00:02Z",
                    "kind": "status",
                    "from_status": "queued",
                    "to_status": "canceled",
                    "detail": "canceled by its owner",
                },
            ]
        }
    )

    events: list[EventOut] = Field(description="Oldest first.")


def events_of(events: list[EventView]) -> EventList:
    return EventList(
        events=[
            EventOut(at=e.at, kind=e.kind, from_status=e.from_status, to_status=e.to_status, detail=e.detail)
            for e in events
        ]
    )
