"""Movies for their owner: storyboard, price, start (every shot reserved at once), new takes, chosen takes.

A movie's shots are rendered as ordinary generations (takes), each reserving,
settling or releasing its own money exactly as any generation; a movie only
groups them. Every query is scoped to the calling user; another user's movie
answers NotFoundError. Services take ``session`` keyword-only and never commit;
:mod:`core.movies` does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from core import catalog
from core.catalog import Offer
from core.errors import NotFoundError, ValidationError
from core.models import Generation, LedgerEntry, Movie, Shot, new_id, utcnow
from core.services import bank
from core.services.bank import CharacterView, StartImageView, clean_text
from core.services.budgets import Limits, check_budget
from core.services.continuity import CONTINUITY_JOINS, pending_final
from core.services.generations import (
    GenerationForm,
    GenerationView,
    UploadedImage,
    quote,
    submit_generation,
    to_view,
)
from core.status import Status
from core.storage import Storage

MIN_FILM_SECONDS = 8
MAX_FILM_SECONDS = 300
"""A film's target length, in seconds."""

MAX_SHOTS = 60
"""Most shots in one storyboard (300 s of 5 s shots)."""

MAX_TITLE_CHARS = 120
MAX_STYLE_CHARS = 500
"""Longest style prompt or style negative prompt, in characters."""

JOINS = {
    "cut": "Cut",
    "crossfade": "Crossfade",
    "continue": "Continue from its last frame",
    "extend": "Extend the previous shot",
}
"""How a shot follows the previous one (the first shot's is a cut). A final take of a "continue" or "extend"
shot waits for the previous shot's finished take (``core.services.continuity``); a draft take is a cut."""

STYLES: dict[str, tuple[str, str]] = {
    "cinematic": (
        "Cinematic film look: anamorphic widescreen framing, shallow depth of field, motivated lighting, "
        "smooth dolly and crane moves, rich colour grade.",
        "shaky handheld camera, flat lighting, text overlays, watermarks",
    ),
    "realistic": (
        "Photorealistic documentary style: natural light, true-to-life colours, real textures, steady camera.",
        "cartoon, illustration, stylised colours, text overlays, watermarks",
    ),
    "animated": (
        "Animated film style: clean shapes, expressive characters, bright consistent palette, smooth motion.",
        "photorealistic, live action, film grain, text overlays, watermarks",
    ),
    "artistic": (
        "Painterly artistic style: visible brush strokes, bold composition, dreamlike colour and light.",
        "photorealistic, plain snapshot look, text overlays, watermarks",
    ),
}
"""The four style presets: (style prompt, style negative prompt); a creator sees and may edit both."""

DRAFT_MODEL = catalog.OFFLINE_MODEL
DRAFT_RESOLUTION = "360p"
"""A draft take: the offline renderer at its smallest common size (free, and says it is not AI)."""

RETAKE_KEY = "movie-{movie}-{shot}-take-{take}"
"""Idempotency key of a shot's take: starting twice or double-clicking never pays twice."""

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class ShotDraft:
    """One shot as the creator writes it."""

    prompt: str
    duration_seconds: int
    model: str
    join: str = "cut"
    characters: tuple[str, ...] = ()
    """Ids of the movie's characters in this shot: their reference images go with it."""
    start_image_id: str | None = None
    """Id of the film's start image the shot starts from (first-frame mode), if any."""
    match_colours: bool = False
    """Recolour the start image to the previous shot's last frame before it is sent (the shot then waits)."""


@dataclass(frozen=True)
class MovieDraft:
    """A movie's settings as the creator writes them."""

    title: str
    style: str
    aspect_ratio: str
    resolution: str
    target_seconds: int
    style_prompt: str | None = None
    """None takes the style's preset."""
    style_negative: str | None = None


@dataclass(frozen=True)
class ShotView:
    id: str
    position: int
    prompt: str
    duration_seconds: int
    model: str
    join: str
    takes: list[GenerationView] = field(default_factory=list)
    """Oldest first."""
    characters: tuple[str, ...] = ()
    chosen_id: str | None = None
    """The take the film uses: the one picked, else the newest that succeeded."""
    final: bool = False
    """Whether a take at the shot's own model exists (queued, rendering or done), not only drafts."""
    seconds: int = 0
    """What the shot adds to the film: its duration, or the seconds an extension adds."""
    start_image_id: str | None = None
    match_colours: bool = False
    price_usd: Decimal = Decimal(0)
    """What one take at the shot's own model costs (what re-rendering or finalising it adds)."""
    spent_usd: Decimal = Decimal(0)
    """Settled over the shot's takes."""


@dataclass(frozen=True)
class MovieView:
    id: str
    user_id: int
    title: str
    style: str
    style_prompt: str
    style_negative: str
    aspect_ratio: str
    resolution: str
    target_seconds: int
    started_at: datetime | None
    shots: list[ShotView]
    characters: list[CharacterView]
    price_usd: Decimal
    """What rendering every shot once costs (the storyboard's price)."""
    committed_usd: Decimal
    """Reserved and settled over all takes now."""
    spent_usd: Decimal
    """Settled over all takes: the cost so far."""
    assembly_status: str = "none"
    assembly_message: str | None = None
    assembled_at: datetime | None = None
    assembled_seconds: float | None = None
    join_flags: tuple[str, ...] = ()
    """What the checks found at the joins of the assembled film (colour or exposure jumps)."""
    assembly_current: bool = False
    """The assembled film uses the takes chosen now (False: a shot changed since; assemble again)."""
    finalise_usd: Decimal = Decimal(0)
    """What rendering every shot that has only drafts at its own model costs now."""
    start_images: list[StartImageView] = field(default_factory=list)
    soundtrack_name: str | None = None
    """The music the creator uploaded for the film, if any (see ``core.services.film``)."""
    soundtrack_mode: str = "mix"
    soundtrack_level: float = 0.5

    @property
    def length_seconds(self) -> int:
        return sum(s.seconds for s in self.shots)


def storyboard_from_script(
    script: str, *, model: str, duration_seconds: int, max_shots: int = MAX_SHOTS
) -> list[ShotDraft]:
    """A plain proposal without a text model: one shot per sentence (editable before anything is paid)."""
    text = " ".join(script.split())
    sentences = [s.strip() for s in _SENTENCE.split(text) if s.strip()]
    return [ShotDraft(prompt=s, duration_seconds=duration_seconds, model=model) for s in sentences[:max_shots]]


def owned(*, session: Session, user_id: int, movie_id: str, for_update: bool = False) -> Movie:
    """The user's movie (locked with ``for_update``); another user's answers NotFoundError."""
    stmt = select(Movie).where(Movie.id == movie_id, Movie.user_id == user_id).options(selectinload(Movie.shots))
    if for_update:
        stmt = stmt.with_for_update()
    movie = session.execute(stmt).scalar_one_or_none()
    if movie is None:
        raise NotFoundError("No such movie.")
    return movie


def create_movie(*, session: Session, user_id: int, draft: MovieDraft) -> Movie:
    """Check a movie's settings and add it (no shots yet). The caller commits."""
    if draft.style not in STYLES and draft.style != "custom":
        raise ValidationError(f"Unknown style {catalog.quoted(draft.style)}.", field="style")
    preset = STYLES.get(draft.style, ("", ""))
    if not MIN_FILM_SECONDS <= draft.target_seconds <= MAX_FILM_SECONDS:
        raise ValidationError(
            f"A film is {MIN_FILM_SECONDS} to {MAX_FILM_SECONDS} s long, not {draft.target_seconds} s.",
            field="target_seconds",
        )
    movie = Movie(
        id=new_id(),
        user_id=user_id,
        title=clean_text(draft.title, label="Title", limit=MAX_TITLE_CHARS, required=True),
        style=draft.style,
        style_prompt=catalog.clean_prompt(
            preset[0] if draft.style_prompt is None else draft.style_prompt,
            field_name="prompt",
            max_chars=MAX_STYLE_CHARS,
            required=False,
        ),
        style_negative=catalog.clean_prompt(
            preset[1] if draft.style_negative is None else draft.style_negative,
            field_name="negative_prompt",
            max_chars=MAX_STYLE_CHARS,
            required=False,
        ),
        aspect_ratio=draft.aspect_ratio,
        resolution=draft.resolution,
        target_seconds=draft.target_seconds,
    )
    session.add(movie)
    session.flush()
    return movie


def shot_form(
    movie: Movie,
    shot: Shot | ShotDraft,
    *,
    take: int,
    shot_id: str,
    draft: bool = False,
    references: tuple[UploadedImage, ...] = (),
    previous_shot_id: str | None = None,
    start_frame: UploadedImage | None = None,
) -> GenerationForm:
    """The generation request of one take of a shot: the style around the shot's prompt, the film's shape.

    A draft take is made by the offline renderer at 360p instead of the shot's model (and without the
    characters' or start images, which it cannot take); ``references`` are the shot's characters' images and
    ``start_frame`` its start image. A final take of a "continue" or "extend" shot after ``previous_shot_id``,
    or of a shot whose start image is matched to that shot's colours, waits for that shot's finished take.
    """
    prompt = " ".join(part for part in (shot.prompt.strip(), movie.style_prompt.strip()) if part)
    images: tuple[UploadedImage, ...] = () if draft else references
    after, mode = None, "reference" if images else "text"
    if not draft and previous_shot_id and shot.join in CONTINUITY_JOINS:
        after, mode = previous_shot_id, CONTINUITY_JOINS[shot.join]
    elif not draft and shot.start_image_id:
        mode = "image"
        if shot.match_colours and previous_shot_id:
            after = previous_shot_id  # the image is recoloured to that shot's last frame, then attached
        elif start_frame is not None:
            images = (start_frame,)
    return GenerationForm(
        model=DRAFT_MODEL if draft else shot.model,
        mode=mode,
        waits_for_shot_id=after,
        images=images,
        prompt=prompt[: catalog.MAX_PROMPT_CHARS],
        negative_prompt=movie.style_negative[: catalog.MAX_NEGATIVE_PROMPT_CHARS],
        duration_seconds=shot.duration_seconds,
        aspect_ratio=movie.aspect_ratio,
        resolution=DRAFT_RESOLUTION if draft else movie.resolution,
        idempotency_key=RETAKE_KEY.format(movie=movie.id[:12], shot=shot_id[:12], take=take),
        confirm_repeat=True,  # starting the film (or a retake) is the confirmation of each shot's price
    )


def set_storyboard(*, session: Session, user_id: int, movie_id: str, shots: list[ShotDraft]) -> Movie:
    """Replace the storyboard of a movie not started yet; every shot checked against its model's rules."""
    movie = owned(session=session, user_id=user_id, movie_id=movie_id, for_update=True)
    if movie.started_at is not None:
        raise ValidationError("This film has started: re-render single shots instead of rewriting it.", field="shots")
    if not 1 <= len(shots) <= MAX_SHOTS:
        raise ValidationError(f"A storyboard has 1 to {MAX_SHOTS} shots, not {len(shots)}.", field="shots")
    known = {c.id: len(c.images) for c in bank.characters(session=session, movie_id=movie.id)}
    pictures = {i.id for i in bank.start_images(session=session, movie_id=movie.id)}
    total = chain = 0
    for index, draft in enumerate(shots, start=1):
        if draft.join not in JOINS:
            raise ValidationError(f"Shot {index}: unknown join {catalog.quoted(draft.join)}.", field="join")
        catalog.clean_prompt(draft.prompt, field_name="prompt", max_chars=catalog.MAX_PROMPT_CHARS, required=True)
        unknown = set(draft.characters) - set(known)
        if unknown:
            raise ValidationError(f"Shot {index}: no such character.", field="characters")
        # The rules and the price depend on how many reference images a shot sends, not on their bytes.
        counted_references = tuple(
            UploadedImage("reference", "reference", b"") for c in draft.characters for _ in range(known[c])
        )
        previous = shots[index - 2] if index > 1 else None
        if draft.start_image_id is not None and draft.start_image_id not in pictures:
            raise ValidationError(f"Shot {index}: no such start image.", field="start_image")
        try:
            _check_continuity(draft, previous)
            quote(
                shot_form(
                    movie,
                    draft,
                    take=1,
                    shot_id=str(index),
                    references=counted_references,
                    previous_shot_id=str(index - 1) if previous else None,
                    start_frame=UploadedImage("first_frame", "start", b"") if draft.start_image_id else None,
                )
            )
        except ValidationError as exc:
            raise ValidationError(f"Shot {index}: {exc}", field=exc.field) from exc
        seconds = shot_seconds(draft, first=previous is None)
        chain = chain + seconds if draft.join == "extend" and previous else seconds
        spec = catalog.get_model(draft.model)
        if draft.join == "extend" and previous and chain > spec.max_total_seconds:
            raise ValidationError(
                f"Shot {index}: {spec.label} extends a video up to {spec.max_total_seconds} s in all; "
                f"this chain of extensions reaches {chain} s.",
                field="join",
            )
        total += seconds
    if total > MAX_FILM_SECONDS:
        raise ValidationError(f"The shots add up to {total} s; a film is at most {MAX_FILM_SECONDS} s.", field="shots")
    movie.shots.clear()
    session.flush()
    for position, draft in enumerate(shots):
        movie.shots.append(
            Shot(
                id=new_id(),
                position=position,
                prompt=catalog.clean_prompt(
                    draft.prompt, field_name="prompt", max_chars=catalog.MAX_PROMPT_CHARS, required=True
                ),
                duration_seconds=draft.duration_seconds,
                model=draft.model,
                join=draft.join,
                character_ids=list(draft.characters) or None,
                start_image_id=draft.start_image_id,
                match_colours=draft.match_colours and draft.start_image_id is not None,
            )
        )
    movie.updated_at = utcnow()
    session.flush()
    return movie


def shot_seconds(shot: Shot | ShotDraft, *, first: bool) -> int:
    """Seconds a shot adds to the film: its duration, or what an extension of the previous shot adds."""
    if shot.join != "extend" or first:
        return shot.duration_seconds
    return catalog.billed_seconds(catalog.get_model(shot.model), mode="extend", duration_seconds=shot.duration_seconds)


def _check_continuity(shot: ShotDraft, previous: ShotDraft | None) -> None:
    """The rules of a shot that starts from the previous one (beyond its model's, which ``quote`` checks)."""
    if shot.match_colours and shot.start_image_id is None:
        raise ValidationError("Only a start image can be matched to the previous shot's colours.", field="match")
    if shot.match_colours and previous is None:
        raise ValidationError("The first shot has no shot before it to match colours with.", field="match_colours")
    if shot.start_image_id is not None and (shot.characters or shot.join in CONTINUITY_JOINS):
        raise ValidationError(
            "A shot starts from its start image, or from the previous shot, or sends its characters' "
            "reference images: pick one.",
            field="start_image",
        )
    if shot.join not in CONTINUITY_JOINS:
        return
    if previous is None:
        raise ValidationError("The first shot has no shot before it to start from; make it a cut.", field="join")
    if shot.characters:
        raise ValidationError(
            "A shot that starts from the previous one keeps the characters in its frames; "
            "it cannot also send their reference images. Remove its characters or make it a cut.",
            field="characters",
        )
    if shot.join == "extend":
        mine, theirs = catalog.get_model(shot.model), catalog.get_model(previous.model)
        if mine.provider != theirs.provider or "extend" not in theirs.modes:
            raise ValidationError(
                f"{mine.label} can extend only a shot made by a model that can be extended the same way "
                f"({theirs.label} cannot); use the same model for both shots.",
                field="join",
            )


def movie_price(movie: Movie) -> Decimal:
    """What rendering every shot once costs."""
    return sum((_price(movie, s) for s in movie.shots), Decimal(0))


def _previous_id(movie: Movie, shot: Shot) -> str | None:
    return next((s.id for s in movie.shots if s.position == shot.position - 1), None)


def _price(movie: Movie, shot: Shot, *, draft: bool = False) -> Decimal:
    """What one take of the shot costs (a draft is free; an extension pays for the seconds it adds)."""
    counted = UploadedImage("first_frame", "start", b"") if shot.start_image_id else None
    form = shot_form(
        movie,
        shot,
        take=1,
        shot_id=shot.id,
        draft=draft,
        previous_shot_id=_previous_id(movie, shot),
        start_frame=counted,
    )
    return catalog.price_usd(form.params)


def start_movie(
    *,
    session: Session,
    user_id: int,
    movie_id: str,
    offers: dict[str, Offer],
    limits: Limits,
    store: Storage,
    draft: bool = False,
) -> list[GenerationView]:
    """Reserve every shot that has no take yet, in the caller's one transaction: all or nothing.

    With ``draft``, every take is made by the offline renderer (free); :func:`finalise` renders
    them again at their own models later.

    The film's whole price is checked against the budget first (one refusal
    naming the film's price), then each shot is submitted like any generation
    (its own reservation); the open-generation cap counts the film as one. The
    caller commits, or rolls everything back on any refusal.
    """
    movie = owned(session=session, user_id=user_id, movie_id=movie_id, for_update=True)
    if not movie.shots:
        raise ValidationError("Write at least one shot first.", field="shots")
    taken = _takes(session, [s.id for s in movie.shots])
    pending = [s for s in movie.shots if not taken.get(s.id)]
    if not pending:
        raise ValidationError("Every shot already has a take; re-render single shots instead.", field="shots")
    return _submit_all(session, user_id, movie, [(s, 1) for s in pending], offers, limits, store, draft=draft)


def finalise(
    *,
    session: Session,
    user_id: int,
    movie_id: str,
    shot_ids: list[str] | None,
    offers: dict[str, Offer],
    limits: Limits,
    store: Storage,
) -> list[GenerationView]:
    """Render at their own models the shots (all, or ``shot_ids``) that have only drafts: all or nothing."""
    movie = owned(session=session, user_id=user_id, movie_id=movie_id, for_update=True)
    taken = _takes(session, [s.id for s in movie.shots])
    wanted = [s for s in movie.shots if shot_ids is None or s.id in shot_ids]
    if shot_ids is not None and len(wanted) != len(set(shot_ids)):
        raise NotFoundError("No such shot.")
    if any(not Status(t.status).is_final for s in wanted for t in taken.get(s.id, [])):
        raise ValidationError("A shot is still rendering; wait for its take to finish.", field="shots")
    drafts = [(s, len(taken.get(s.id, [])) + 1) for s in wanted if not _has_final(s, taken.get(s.id, []))]
    if not drafts:
        raise ValidationError("Every shot already has a final take.", field="shots")
    return _submit_all(session, user_id, movie, drafts, offers, limits, store, draft=False)


_ENDED_WITHOUT_VIDEO = frozenset({Status.FAILED.value, Status.FILTERED.value, Status.CANCELED.value})


def _has_final(shot: Shot, takes: list[Generation]) -> bool:
    """Whether a take at the shot's own model is queued, rendering or done (not only drafts or failures)."""
    return any(t.model == shot.model and t.status not in _ENDED_WITHOUT_VIDEO for t in takes)


def _submit_all(
    session: Session,
    user_id: int,
    movie: Movie,
    shots: list[tuple[Shot, int]],
    offers: dict[str, Offer],
    limits: Limits,
    store: Storage,
    *,
    draft: bool,
) -> list[GenerationView]:
    """One take of each shot, the whole price checked against the budget first (the film counts once)."""
    price = sum(
        (_price(movie, s, draft=draft) for s, _ in shots),
        Decimal(0),
    )
    check_budget(session=session, user_id=user_id, price=price, limits=limits)
    submitted = [
        _submit_take(session, user_id, movie, shot, take, offers, limits, store, draft=draft) for shot, take in shots
    ]
    movie.started_at = movie.started_at or utcnow()
    movie.updated_at = utcnow()
    return submitted


def rerender_shot(
    *,
    session: Session,
    user_id: int,
    movie_id: str,
    shot_id: str,
    prompt: str | None,
    offers: dict[str, Offer],
    limits: Limits,
    store: Storage,
) -> GenerationView:
    """A new take of one shot (the earlier ones kept); only this shot is paid again."""
    movie = owned(session=session, user_id=user_id, movie_id=movie_id, for_update=True)
    shot = next((s for s in movie.shots if s.id == shot_id), None)
    if shot is None:
        raise NotFoundError("No such shot.")
    takes = _takes(session, [shot.id]).get(shot.id, [])
    if any(not Status(t.status).is_final for t in takes):
        raise ValidationError("This shot is still rendering; wait for its take to finish.", field="shot")
    if prompt is not None:
        shot.prompt = catalog.clean_prompt(
            prompt, field_name="prompt", max_chars=catalog.MAX_PROMPT_CHARS, required=True
        )
    view = _submit_take(session, user_id, movie, shot, len(takes) + 1, offers, limits, store)
    movie.updated_at = utcnow()
    return view


def choose_take(*, session: Session, user_id: int, movie_id: str, shot_id: str, generation_id: str) -> None:
    """Use one of a shot's finished takes in the film."""
    movie = owned(session=session, user_id=user_id, movie_id=movie_id, for_update=True)
    shot = next((s for s in movie.shots if s.id == shot_id), None)
    if shot is None:
        raise NotFoundError("No such shot.")
    take = next((t for t in _takes(session, [shot.id]).get(shot.id, []) if t.id == generation_id), None)
    if take is None:
        raise NotFoundError("No such take.")
    if take.status != Status.SUCCEEDED.value:
        raise ValidationError("Only a finished take can be used.", field="take")
    shot.chosen_generation_id = take.id
    movie.updated_at = utcnow()


def get_movie(*, session: Session, user_id: int, movie_id: str) -> MovieView:
    return view_of(session=session, movie=owned(session=session, user_id=user_id, movie_id=movie_id))


def list_movies(*, session: Session, user_id: int) -> list[MovieView]:
    movies = session.execute(
        select(Movie)
        .where(Movie.user_id == user_id)
        .options(selectinload(Movie.shots))
        .order_by(Movie.created_at.desc())
        .limit(100)
    ).scalars()
    return [view_of(session=session, movie=m) for m in movies]


def _submit_take(
    session: Session,
    user_id: int,
    movie: Movie,
    shot: Shot,
    take: int,
    offers: dict[str, Offer],
    limits: Limits,
    store: Storage,
    *,
    draft: bool = False,
) -> GenerationView:
    model = DRAFT_MODEL if draft else shot.model
    offer = offers.get(model)
    if offer is None:
        raise ValidationError(f"{catalog.get_model(model).label} is not available to you now.", field="model")
    references = () if draft else bank.references(session=session, shot=shot, store=store)
    previous = _previous_id(movie, shot)
    waits_to_match = shot.match_colours and previous is not None
    start = None if draft or waits_to_match else bank.start_frame(session=session, shot=shot, store=store)
    form = shot_form(
        movie,
        shot,
        take=take,
        shot_id=shot.id,
        draft=draft,
        references=references,
        previous_shot_id=previous,
        start_frame=start,
    )
    before = next((s for s in movie.shots if s.id == previous), None)
    if form.waits_for_shot_id is not None and before is not None and not pending_final(session=session, shot=before):
        raise ValidationError(
            f"Shot {shot.position + 1} starts from shot {shot.position}: render shot {shot.position} "
            "at its own model first (a draft cannot be continued).",
            field="shots",
        )
    view, _ = submit_generation(
        session=session,
        user_id=user_id,
        form=form,
        offer=offer,
        limits=limits,
        store=store,
        movie_id=movie.id,
        shot_id=shot.id,
    )
    return view


def soundtrack_signature(movie: Movie) -> str | None:
    """What an assembly records of the film's music, so a changed soundtrack asks for assembling again."""
    if not movie.soundtrack_key:
        return None
    return f"{movie.soundtrack_key}|{movie.soundtrack_mode}|{movie.soundtrack_level:g}|{movie.soundtrack_name}"


def _takes(session: Session, shot_ids: list[str]) -> dict[str, list[Generation]]:
    found: dict[str, list[Generation]] = {}
    if not shot_ids:
        return found
    rows = session.execute(
        select(Generation)
        .where(Generation.shot_id.in_(shot_ids))
        .options(selectinload(Generation.videos), selectinload(Generation.inputs))
        .order_by(Generation.created_at, Generation.id)
    ).scalars()
    for row in rows:
        found.setdefault(row.shot_id or "", []).append(row)
    return found


def view_of(*, session: Session, movie: Movie) -> MovieView:
    takes = _takes(session, [s.id for s in movie.shots])
    ids = [t.id for ts in takes.values() for t in ts]
    committed = spent = Decimal(0)
    if ids:
        committed = Decimal(
            session.execute(
                select(func.coalesce(func.sum(LedgerEntry.amount_usd), 0)).where(LedgerEntry.generation_id.in_(ids))
            ).scalar_one()
        )
        spent = sum((Decimal(t.cost_usd) for ts in takes.values() for t in ts if t.cost_usd is not None), Decimal(0))
    shots = []
    for shot in movie.shots:
        views = [to_view(t) for t in takes.get(shot.id, [])]
        finished = [v.id for v in views if v.status is Status.SUCCEEDED]
        chosen = shot.chosen_generation_id if shot.chosen_generation_id in finished else None
        shots.append(
            ShotView(
                id=shot.id,
                position=shot.position,
                prompt=shot.prompt,
                duration_seconds=shot.duration_seconds,
                model=shot.model,
                join=shot.join,
                takes=views,
                chosen_id=chosen or (finished[-1] if finished else None),
                final=_has_final(shot, takes.get(shot.id, [])),
                seconds=shot_seconds(shot, first=shot.position == 0),
                start_image_id=shot.start_image_id,
                match_colours=shot.match_colours,
                price_usd=_price(movie, shot),
                spent_usd=sum((v.cost_usd for v in views if v.cost_usd is not None), Decimal(0)),
                characters=tuple(shot.character_ids or ()),
            )
        )
    report = movie.assembly_report or {}
    chosen_now = [s.chosen_id for s in shots]
    return MovieView(
        assembly_status=movie.assembly_status,
        assembly_message=movie.assembly_message,
        assembled_at=movie.assembled_at,
        assembled_seconds=report.get("duration_seconds"),
        join_flags=tuple(str(f) for f in report.get("join_flags", ())),
        assembly_current=movie.assembly_status == "done"
        and (movie.assembly_takes or []) == chosen_now
        and report.get("soundtrack") == soundtrack_signature(movie),
        soundtrack_name=movie.soundtrack_name,
        soundtrack_mode=movie.soundtrack_mode,
        soundtrack_level=movie.soundtrack_level,
        id=movie.id,
        user_id=movie.user_id,
        title=movie.title,
        style=movie.style,
        style_prompt=movie.style_prompt,
        style_negative=movie.style_negative,
        aspect_ratio=movie.aspect_ratio,
        resolution=movie.resolution,
        target_seconds=movie.target_seconds,
        started_at=movie.started_at,
        shots=shots,
        characters=[
            CharacterView(c.id, c.name, c.description, len(c.images))
            for c in bank.characters(session=session, movie_id=movie.id)
        ],
        start_images=[
            StartImageView(i.id, i.name, i.width, i.height, i.storage_key)
            for i in bank.start_images(session=session, movie_id=movie.id)
        ],
        price_usd=movie_price(movie),
        committed_usd=committed,
        spent_usd=spent,
        finalise_usd=sum(
            (
                _price(movie, s)
                for s in movie.shots
                if movie.started_at is not None and not _has_final(s, takes.get(s.id, []))
            ),
            Decimal(0),
        ),
    )
