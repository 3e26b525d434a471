"""Generations for their owner: submit, cancel, delete, list, read.

Every query is scoped to the calling user; another user's id answers
NotFoundError, the same as an id that does not exist. Services take
``session`` keyword-only and never commit; :mod:`core.studio` does.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from core import catalog, safety, storage
from core.catalog import Offer
from core.errors import ConfirmationRequired, NotFoundError, ValidationError
from core.images import check_image
from core.models import Event, Generation, GenerationInput, new_id, utcnow
from core.params import GenerationParams, VideoFacts
from core.services import ledger
from core.services.budgets import Limits, check_budget
from core.services.lifecycle import transition
from core.status import Status
from core.storage import Storage

MAX_SEARCH_CHARS = 200
"""Longest gallery search, in characters (SQLite refuses LIKE patterns past about 50,000 bytes)."""


@dataclass(frozen=True)
class UploadedImage:
    """An image as the browser sent it: checked by core.images before anything is stored."""

    role: str
    """first_frame, last_frame or reference."""
    name: str
    data: bytes


@dataclass(frozen=True, kw_only=True)
class GenerationForm(GenerationParams):
    """What a creator asks for (the parameters, and how the request is made); checked by :func:`submit_generation`."""

    idempotency_key: str = ""
    remix_of_id: str | None = None
    images: tuple[UploadedImage, ...] = ()
    extend_of_id: str | None = None
    confirm_repeat: bool = False
    """The user saw that an identical request was just made and wants to pay for another."""
    waits_for_shot_id: str | None = None
    """A film's take that starts from the shot before it: its first frame (``image`` mode) or its source
    video (``extend``) is attached once that shot has a finished take; until then it waits, reserved."""

    def count(self, role: str) -> int:
        return sum(1 for image in self.images if image.role == role)


@dataclass(frozen=True, kw_only=True)
class VideoView(VideoFacts):
    """A stored video as its owner sees it: its facts, and where its files are."""

    index: int
    storage_key: str
    thumbnail_key: str
    poster_key: str
    flags: tuple[str, ...] = ()
    """What the quality checks of a film's shot found, in plain sentences (never blocking)."""


@dataclass(frozen=True, kw_only=True)
class GenerationView(GenerationParams):
    """A generation as its owner sees it: the parameters, then what became of them."""

    id: str
    user_id: int
    status: Status
    provider: str
    model_label: str
    price_usd: Decimal
    cost_usd: Decimal | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    error_message: str | None
    safety_reasons: list[str]
    remix_of_id: str | None
    extend_of_id: str | None = None
    input_roles: list[str] = field(default_factory=list)
    videos: list[VideoView] = field(default_factory=list)
    error_code: str | None = None
    surface: str | None = None
    """Where Google served it (``gemini``, ``vertex``), ``local``, or None for rows made before surfaces."""
    waits_for_shot_id: str | None = None
    """Queued and reserved until the shot before it has a finished take (see ``GenerationForm``)."""

    @property
    def is_final(self) -> bool:
        return self.status.is_final

    @property
    def safety_categories(self) -> list[safety.SafetyCategory]:
        """What the safety filter objected to, by Google's categories (empty unless filtered)."""
        return safety.categories(self.safety_reasons) if self.status is Status.FILTERED else []

    def retry_refusal(self) -> str | None:
        """Why Retry is not offered for this generation, or None when it is (the rule :func:`retry_form` keeps)."""
        if self.status not in RETRYABLE:
            return f"Only a failed, filtered or canceled generation can be retried; this one is {self.status.value}."
        if self.status is Status.FILTERED and not all(c.retry_can_help for c in self.safety_categories):
            names = ", ".join(c.name.lower() for c in self.safety_categories)
            return (
                f"Google blocks this subject ({names}), so the same request would be blocked again. "
                "Change the prompt or images and make a new request instead."
            )
        if self.error_code == "SUBMIT_OUTCOME_UNKNOWN":
            return (
                "This one may have been accepted by the provider (its answer was lost), so retrying it could pay "
                "twice. Check the provider's bill first; Remix makes a new request when you are sure."
            )
        return None

    def as_form(self) -> GenerationForm:
        """The settings of this generation, for a remix."""
        return GenerationForm(
            **self.params.columns() | {"mode": self.mode if self.mode in ("text", "extend") else "text"},
            remix_of_id=self.id,
            extend_of_id=self.extend_of_id,
        )


@dataclass(frozen=True)
class EventView:
    at: datetime
    kind: str
    from_status: str | None
    to_status: str | None
    detail: str
    id: int = 0
    """The event's row id: increasing, so a live stream resumes after the last one it sent."""


@dataclass(frozen=True)
class GenerationPage:
    items: list[GenerationView]
    total: int
    page: int
    pages: int


def to_view(row: Generation) -> GenerationView:
    """Copy a row (and its videos) into plain data."""
    spec = catalog.MODELS.get(row.model)
    return GenerationView(
        **GenerationParams.of(row).columns(),
        id=row.id,
        user_id=row.user_id,
        status=Status(row.status),
        provider=row.provider,
        model_label=spec.label if spec else row.model,
        price_usd=Decimal(row.price_usd),
        cost_usd=None if row.cost_usd is None else Decimal(row.cost_usd),
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
        error_message=row.error_message,
        safety_reasons=list(row.safety_reasons or []),
        remix_of_id=row.remix_of_id,
        extend_of_id=row.extend_of_id,
        input_roles=[i.role for i in row.inputs],
        videos=[
            VideoView(
                **VideoFacts.of(v).columns(),
                index=v.index,
                storage_key=v.storage_key,
                thumbnail_key=v.thumbnail_key,
                poster_key=v.poster_key,
                flags=tuple(str(f.get("message", "")) for f in v.quality_flags or ()),
            )
            for v in row.videos
        ],
        error_code=row.error_code,
        surface=row.surface,
        waits_for_shot_id=row.waits_for_shot_id,
    )


def quote(form: GenerationForm, *, surface: str | None = None) -> Decimal:
    """Return the price of a form without submitting it (validates the model limits on ``surface``).

    A waiting take (``waits_for_shot_id``) counts the first frame or source video it will be given.
    """
    spec = catalog.get_model(form.model)
    waits = form.waits_for_shot_id is not None
    catalog.validate_request(
        spec,
        duration_seconds=form.duration_seconds,
        aspect_ratio=form.aspect_ratio,
        resolution=form.resolution,
        sample_count=form.sample_count,
        seed=form.seed,
        mode=form.mode,
        first_frame=form.count("first_frame") == 1 or (waits and form.mode == "image"),
        last_frame=form.count("last_frame") == 1,
        reference_images=form.count("reference"),
        extends_video=form.extend_of_id is not None or (waits and form.mode in catalog.SOURCE_MODES),
        surface=surface,
    )
    if form.count("first_frame") > 1 or form.count("last_frame") > 1:
        raise ValidationError("Upload one first frame and at most one last frame.", field="images")
    return catalog.price_usd(form.params, spec=spec)


def _owned(session: Session, user_id: int, generation_id: str, *, for_update: bool = False) -> Generation:
    stmt = (
        select(Generation)
        .where(Generation.id == generation_id, Generation.user_id == user_id)
        .options(selectinload(Generation.videos), selectinload(Generation.inputs))
    )
    if for_update:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).scalar_one_or_none()
    if row is None:
        raise NotFoundError("No such generation.")
    return row


def request_hash(form: GenerationForm, image_hashes: list[tuple[str, str]]) -> str:
    """A fingerprint of everything that makes two requests the same video."""
    fields = form.params.columns() | {
        "prompt": " ".join(form.prompt.split()),
        "negative_prompt": " ".join(form.negative_prompt.split()),
        "extend": form.extend_of_id,
        "waits": form.waits_for_shot_id,
        "images": image_hashes,
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


SOURCE_BACKENDS = ("veo", "omni")
"""Backends whose videos can be extended or edited (by a model of the same backend)."""


def source_generation(
    *, session: Session, user_id: int, generation_id: str, now: datetime, spec: catalog.ModelSpec, mode: str
) -> Generation:
    """The user's video that ``spec`` is asked to extend or edit, or a ValidationError saying why it cannot be."""
    verb = "extended" if mode == "extend" else "edited"
    source = _owned(session, user_id, generation_id)
    if source.status != Status.SUCCEEDED.value or not source.videos:
        raise ValidationError(f"Only a finished video can be {verb}.", field="extend_of_id")
    if source.provider != spec.provider or source.provider not in SOURCE_BACKENDS:
        made_by = "Veo" if spec.provider == "veo" else "Gemini Omni"
        raise ValidationError(f"{spec.label} can only continue videos made by {made_by}.", field="extend_of_id")
    if source.provider == "veo":
        if not source.videos[0].provider_uri:
            raise ValidationError("Veo no longer holds this video.", field="extend_of_id")
        if mode != "extend" or source.resolution != "720p" or "extend" not in catalog.MODELS[source.model].modes:
            raise ValidationError("Veo extends 720p videos made by Veo 3.1 or 3.1 Fast only.", field="extend_of_id")
    elif not source.operation_name:
        raise ValidationError("Google's record of this video is gone, so it cannot be continued.", field="extend_of_id")
    finished = source.finished_at or source.created_at
    if (now - finished).total_seconds() > catalog.EXTENSION_WINDOW_SECONDS:
        raise ValidationError(
            f"Google keeps a video for two days only; this one is older and can no longer be {verb}.",
            field="extend_of_id",
        )
    return source


def check_source_length(*, source: Generation, spec: catalog.ModelSpec, mode: str, duration_seconds: int) -> None:
    """An edit keeps the source's length; an extension may not pass the model's longest video."""
    length = round(max((v.duration_seconds or 0) for v in source.videos) or source.duration_seconds)
    if mode == "edit" and duration_seconds != length:
        raise ValidationError(f"An edit keeps the video's length: {length} s.", field="duration_seconds")
    if mode == "extend" and spec.provider == "omni" and length + duration_seconds > spec.max_total_seconds:
        raise ValidationError(
            f"{spec.label} extends videos up to {spec.max_total_seconds} s in all; this one is {length} s, "
            f"so add at most {max(0, spec.max_total_seconds - length)} s.",
            field="duration_seconds",
        )


def submit_generation(
    *,
    session: Session,
    user_id: int,
    form: GenerationForm,
    offer: Offer,
    limits: Limits,
    store: Storage,
    movie_id: str | None = None,
    shot_id: str | None = None,
) -> tuple[GenerationView, bool]:
    # A movie's shot (``movie_id``, ``shot_id``) is one take of the film: the film counted once against the
    # open-generation cap when it started, so its shots are not counted again here.
    """Validate, price and write a queued generation with its ledger reservation.

    Everything is checked before anything is stored: the model's rules, the
    prompt, each uploaded image (by content, size and pixels), an extension's
    source, a repeat of the same paid request, then the budget and the cap with
    the user's row locked. Returns ``(view, created)``; a repeated idempotency
    key returns the existing generation with ``created=False``. The caller commits.
    """
    if not form.idempotency_key or len(form.idempotency_key) > 64:
        raise ValidationError("Missing or over-long idempotency key.", field="idempotency_key")
    existing = session.execute(
        select(Generation).where(Generation.user_id == user_id, Generation.idempotency_key == form.idempotency_key)
    ).scalar_one_or_none()
    if existing is not None:
        return to_view(existing), False

    spec = offer.spec
    if spec.id != form.model:
        raise ValidationError(f"{spec.label} is not the model asked for.", field="model")
    prompt = catalog.clean_prompt(
        form.prompt,
        field_name="prompt",
        max_chars=catalog.MAX_PROMPT_CHARS,
        required=form.mode not in ("image", "frames"),
    )
    negative = catalog.clean_prompt(
        form.negative_prompt,
        field_name="negative_prompt",
        max_chars=catalog.MAX_NEGATIVE_PROMPT_CHARS,
        required=False,
    )
    price = quote(form, surface=offer.surface)
    clean = [(image.role, check_image(image.data, name=image.name, role=image.role)) for image in form.images]
    now = utcnow()
    if form.remix_of_id is not None:
        _owned(session, user_id, form.remix_of_id)
    if form.extend_of_id is not None:
        source = source_generation(
            session=session, user_id=user_id, generation_id=form.extend_of_id, now=now, spec=spec, mode=form.mode
        )
        check_source_length(source=source, spec=spec, mode=form.mode, duration_seconds=form.duration_seconds)
    fingerprint = request_hash(form, [(role, image.sha256) for role, image in clean])
    if price > 0 and not form.confirm_repeat and limits.duplicate_window_seconds > 0:
        _refuse_unconfirmed_repeat(session, user_id, fingerprint, now, limits.duplicate_window_seconds)
    check_budget(session=session, user_id=user_id, price=price, limits=limits, cap=shot_id is None)

    row = Generation(
        **replace(form.params, prompt=prompt, negative_prompt=negative).columns(),
        id=new_id(),
        user_id=user_id,
        status=Status.QUEUED.value,
        provider=spec.provider,
        surface=offer.surface,
        movie_id=movie_id,
        shot_id=shot_id,
        idempotency_key=form.idempotency_key,
        remix_of_id=form.remix_of_id,
        extend_of_id=form.extend_of_id,
        waits_for_shot_id=form.waits_for_shot_id,
        request_hash=fingerprint,
        price_usd=price,
    )
    # Files first: a row never points at an input that is not stored.
    for index, (role, image) in enumerate(clean):
        key = storage.input_key(user_id, row.id, index, image.mime_type)
        store.put_bytes(key, image.data)
        row.inputs.append(
            GenerationInput(
                index=index,
                role=role,
                storage_key=key,
                mime_type=image.mime_type,
                width=image.width,
                height=image.height,
                sha256=image.sha256,
            )
        )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
            ledger.reserve(session=session, generation=row)
            session.add(
                Event(
                    generation_id=row.id,
                    user_id=user_id,
                    kind="status",
                    from_status=None,
                    to_status=Status.QUEUED.value,
                    detail=f"submitted; price ${price:.2f}",
                )
            )
            session.flush()
    except IntegrityError:
        # A concurrent submit with the same key won the race: answer with its row.
        if clean:
            store.delete_generation(user_id, row.id)
        winner = session.execute(
            select(Generation).where(Generation.user_id == user_id, Generation.idempotency_key == form.idempotency_key)
        ).scalar_one()
        return to_view(winner), False
    session.refresh(row, attribute_names=["videos", "inputs"])
    return to_view(row), True


def _refuse_unconfirmed_repeat(session: Session, user_id: int, fingerprint: str, now: datetime, window: int) -> None:
    """Ask before paying again for a request identical to one made moments ago."""
    since = now - timedelta(seconds=window)
    previous = session.execute(
        select(Generation.id, Generation.created_at)
        .where(
            Generation.user_id == user_id,
            Generation.request_hash == fingerprint,
            Generation.created_at >= since,
            Generation.status.not_in([Status.FAILED.value, Status.CANCELED.value, Status.FILTERED.value]),
        )
        .order_by(Generation.created_at.desc())
        .limit(1)
    ).first()
    if previous is not None:
        raise ConfirmationRequired(
            "You made exactly this request moments ago. Submitting it again pays for another video.",
            existing_id=previous.id,
        )


def get_generation(*, session: Session, user_id: int, generation_id: str) -> GenerationView:
    """Return one of the user's generations, or NotFoundError."""
    return to_view(_owned(session, user_id, generation_id))


def clean_search(search: str) -> str:
    """Return the search without surrounding spaces, or refuse one over the limit or with control characters."""
    search = unicodedata.normalize("NFC", search or "").strip()
    if len(search) > MAX_SEARCH_CHARS:
        raise ValidationError(
            f"Search is {len(search)} characters long; the limit is {MAX_SEARCH_CHARS}.", field="search"
        )
    for ch in search:
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            raise ValidationError(
                f"Search contains an invisible or control character (U+{ord(ch):04X}); remove it.", field="search"
            )
    return search


def list_generations(
    *,
    session: Session,
    user_id: int,
    page: int = 1,
    page_size: int = 12,
    statuses: list[str] | None = None,
    models: list[str] | None = None,
    search: str = "",
) -> GenerationPage:
    """Return one page of the user's generations, newest first, filtered (the search is checked first)."""
    search = clean_search(search)
    conditions = [Generation.user_id == user_id]
    if statuses:
        conditions.append(Generation.status.in_(statuses))
    if models:
        conditions.append(Generation.model.in_(models))
    if search:
        conditions.append(func.lower(Generation.prompt).contains(search.lower(), autoescape=True))
    total = session.execute(select(func.count()).select_from(Generation).where(*conditions)).scalar_one()
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    rows = session.execute(
        select(Generation)
        .where(*conditions)
        .options(selectinload(Generation.videos), selectinload(Generation.inputs))
        .order_by(Generation.created_at.desc(), Generation.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).scalars()
    return GenerationPage(items=[to_view(r) for r in rows], total=total, page=page, pages=pages)


def list_sources(*, session: Session, user_id: int, now: datetime, model: str | None = None) -> list[GenerationView]:
    """The user's recent videos that Google still holds and a model can extend or edit (newest first).

    With ``model``, only the videos that model can continue (same backend).
    """
    since = now - timedelta(seconds=catalog.EXTENSION_WINDOW_SECONDS)
    target = catalog.MODELS.get(model or "")
    backends = (target.provider,) if target else SOURCE_BACKENDS
    rows = session.execute(
        select(Generation)
        .where(
            Generation.user_id == user_id,
            Generation.status == Status.SUCCEEDED.value,
            Generation.provider.in_(backends),
            Generation.finished_at >= since,
        )
        .options(selectinload(Generation.videos), selectinload(Generation.inputs))
        .order_by(Generation.finished_at.desc())
        .limit(50)
    ).scalars()
    return [to_view(r) for r in rows if r.videos and _continuable(r)]


def _continuable(row: Generation) -> bool:
    if row.provider == "veo":  # Veo extends 720p videos of its extending models, by their URI
        spec = catalog.MODELS.get(row.model)
        return bool(row.videos[0].provider_uri) and row.resolution == "720p" and bool(spec and "extend" in spec.modes)
    return bool(row.operation_name)  # Omni continues a stored interaction


def input_of(*, session: Session, user_id: int, generation_id: str, index: int) -> tuple[str, str]:
    """Return ``(storage key, mime type)`` of one of the user's uploaded images, or NotFoundError."""
    row = _owned(session, user_id, generation_id)
    for item in row.inputs:
        if item.index == index:
            return item.storage_key, item.mime_type
    raise NotFoundError("No such image.")


def timeline(*, session: Session, user_id: int, generation_id: str) -> list[EventView]:
    """Return the generation's events, oldest first."""
    _owned(session, user_id, generation_id)
    rows = session.execute(
        select(Event).where(Event.generation_id == generation_id).order_by(Event.at, Event.id)
    ).scalars()
    return [
        EventView(at=e.at, kind=e.kind, from_status=e.from_status, to_status=e.to_status, detail=e.detail, id=e.id)
        for e in rows
    ]


def events_after(
    *, session: Session, user_id: int, generation_ids: Sequence[str], after_id: int = 0
) -> list[tuple[str, EventView]]:
    """The user's generations' events with an id above ``after_id``, as ``(generation id, event)``, in id order.

    Another user's generations contribute nothing (a caller checks ownership of what it names first).
    """
    if not generation_ids:
        return []
    rows = session.execute(
        select(Event)
        .join(Generation, Generation.id == Event.generation_id)
        .where(Event.generation_id.in_(list(generation_ids)), Generation.user_id == user_id, Event.id > after_id)
        .order_by(Event.id)
    ).scalars()
    return [
        (
            str(e.generation_id),
            EventView(at=e.at, kind=e.kind, from_status=e.from_status, to_status=e.to_status, detail=e.detail, id=e.id),
        )
        for e in rows
    ]


def cancel_generation(*, session: Session, user_id: int, generation_id: str, by: str = "its owner") -> GenerationView:
    """Cancel a generation that has not reached the provider; its reservation is released."""
    row = _owned(session, user_id, generation_id, for_update=True)
    if row.status != Status.QUEUED.value:
        raise ValidationError(f"Only a queued generation can be canceled; this one is {row.status}.", field="status")
    transition(session=session, generation=row, to=Status.CANCELED, detail=f"canceled by {by}")
    ledger.release(session=session, generation=row)
    return to_view(row)


RETRYABLE = frozenset({Status.FAILED, Status.FILTERED, Status.CANCELED})
"""Statuses a generation can be retried from (a new generation with the same request)."""

RETRY_KEY_PREFIX = "retry-"
"""A retry's idempotency key is this plus the source's id: retrying one generation twice makes one new one."""


def retry_form(*, session: Session, user_id: int, generation_id: str, store: Storage) -> GenerationForm:
    """The request of the user's finished generation, as a new form to submit again (same checks, new price).

    Refused for a generation still in progress or one that succeeded (remix it
    instead), and for a submission whose answer was lost: the provider may have
    accepted it, and a retry could pay twice.
    """
    row = _owned(session, user_id, generation_id)
    refusal = to_view(row).retry_refusal()
    if refusal:
        raise ValidationError(refusal, field="status")
    images = tuple(
        UploadedImage(role=i.role, name=f"{i.role}-{i.index}", data=store.get_bytes(i.storage_key)) for i in row.inputs
    )
    # The same request in every respect, images included (a remix keeps text and extend modes only).
    return replace(to_view(row).as_form(), idempotency_key=f"{RETRY_KEY_PREFIX}{row.id}", mode=row.mode, images=images)


def delete_generation(*, session: Session, user_id: int, generation_id: str) -> GenerationView:
    """Delete a finished generation's row; the caller removes its files after commit.

    The ledger keeps its entries (their generation id becomes empty), so spend
    history survives a delete.
    """
    row = _owned(session, user_id, generation_id, for_update=True)
    if not Status(row.status).is_final:
        raise ValidationError(
            "This generation is still in progress; wait for it to finish (or cancel it) before deleting.",
            field="status",
        )
    view = to_view(row)
    session.delete(row)
    session.flush()
    return view


def video_of(*, session: Session, user_id: int, generation_id: str, index: int) -> VideoView:
    """Return one video of the user's generation, or NotFoundError."""
    row = _owned(session, user_id, generation_id)
    for video in to_view(row).videos:
        if video.index == index:
            return video
    raise NotFoundError("No such video.")
