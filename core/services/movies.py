"""Movies for their owner: storyboard, price, start (every shot reserved at once), new takes, chosen takes.

A movie's shots are rendered as ordinary generations (takes), each reserving,
settling or releasing its own money exactly as any generation; a movie only
groups them. Every query is scoped to the calling user; another user's movie
answers NotFoundError. Services take ``session`` keyword-only and never commit;
:mod:`core.movies` does.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core import catalog
from core.catalog import Offer
from core.errors import NotFoundError, ValidationError
from core.models import Movie, Shot, new_id, utcnow
from core.services import bank
from core.services.bank import clean_text
from core.services.budgets import Limits, check_budget
from core.services.continuity import pending_final
from core.services.generations import GenerationView, submit_generation
from core.services.movie_views import MovieView, has_final, takes_of, view_of
from core.services.storyboard import (
    DRAFT_MODEL,
    MAX_FILM_SECONDS,
    MAX_STYLE_CHARS,
    MAX_TITLE_CHARS,
    MIN_FILM_SECONDS,
    STYLES,
    MovieDraft,
    ShotDraft,
    check_storyboard,
    previous_id,
    shot_form,
    take_price,
)
from core.status import Status
from core.storage import Storage


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


def set_storyboard(*, session: Session, user_id: int, movie_id: str, shots: list[ShotDraft]) -> Movie:
    """Replace the storyboard of a movie not started yet; every shot checked against its model's rules."""
    movie = owned(session=session, user_id=user_id, movie_id=movie_id, for_update=True)
    if movie.started_at is not None:
        raise ValidationError("This film has started: re-render single shots instead of rewriting it.", field="shots")
    known = {c.id: len(c.images) for c in bank.characters(session=session, movie_id=movie.id)}
    pictures = {i.id for i in bank.start_images(session=session, movie_id=movie.id)}
    check_storyboard(movie, shots, characters=known, start_images=pictures)
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
    taken = takes_of(session=session, shot_ids=[s.id for s in movie.shots])
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
    taken = takes_of(session=session, shot_ids=[s.id for s in movie.shots])
    wanted = [s for s in movie.shots if shot_ids is None or s.id in shot_ids]
    if shot_ids is not None and len(wanted) != len(set(shot_ids)):
        raise NotFoundError("No such shot.")
    if any(not Status(t.status).is_final for s in wanted for t in taken.get(s.id, [])):
        raise ValidationError("A shot is still rendering; wait for its take to finish.", field="shots")
    drafts = [(s, len(taken.get(s.id, [])) + 1) for s in wanted if not has_final(s, taken.get(s.id, []))]
    if not drafts:
        raise ValidationError("Every shot already has a final take.", field="shots")
    return _submit_all(session, user_id, movie, drafts, offers, limits, store, draft=False)


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
        (take_price(movie, s, draft=draft) for s, _ in shots),
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
    takes = takes_of(session=session, shot_ids=[shot.id]).get(shot.id, [])
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
    takes = takes_of(session=session, shot_ids=[shot.id]).get(shot.id, [])
    take = next((t for t in takes if t.id == generation_id), None)
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
    previous = previous_id(movie, shot)
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
