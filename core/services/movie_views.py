"""A film as its owner sees it: every shot with its takes, the chosen take, what it adds, its price and
spend, the film's committed and spent money, its assembly and its soundtrack.

Reads only; ``session`` keyword-only where public. ``core.services.movies`` finds the owner's movie.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from core.models import Generation, LedgerEntry, Movie, Shot
from core.services import bank
from core.services.bank import CharacterView, StartImageView
from core.services.generations import GenerationView, to_view
from core.services.storyboard import shot_seconds, take_price
from core.status import Status


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


ENDED_WITHOUT_VIDEO = frozenset({Status.FAILED.value, Status.FILTERED.value, Status.CANCELED.value})


def has_final(shot: Shot, takes: list[Generation]) -> bool:
    """Whether a take at the shot's own model is queued, rendering or done (not only drafts or failures)."""
    return any(t.model == shot.model and t.status not in ENDED_WITHOUT_VIDEO for t in takes)


def soundtrack_signature(movie: Movie) -> str | None:
    """What an assembly records of the film's music, so a changed soundtrack asks for assembling again."""
    if not movie.soundtrack_key:
        return None
    return f"{movie.soundtrack_key}|{movie.soundtrack_mode}|{movie.soundtrack_level:g}|{movie.soundtrack_name}"


def takes_of(*, session: Session, shot_ids: list[str]) -> dict[str, list[Generation]]:
    """Every take of these shots, oldest first, by shot id."""
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
    takes = takes_of(session=session, shot_ids=[s.id for s in movie.shots])
    ids = [t.id for ts in takes.values() for t in ts]
    committed = Decimal(0)
    if ids:
        committed = Decimal(
            session.execute(
                select(func.coalesce(func.sum(LedgerEntry.amount_usd), 0)).where(LedgerEntry.generation_id.in_(ids))
            ).scalar_one()
        )
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
                final=has_final(shot, takes.get(shot.id, [])),
                seconds=shot_seconds(shot, first=shot.position == 0),
                start_image_id=shot.start_image_id,
                match_colours=shot.match_colours,
                price_usd=take_price(movie, shot),
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
        price_usd=sum((s.price_usd for s in shots), Decimal(0)),  # every shot once, each priced above
        committed_usd=committed,
        spent_usd=sum((s.spent_usd for s in shots), Decimal(0)),
        finalise_usd=sum((s.price_usd for s in shots if movie.started_at is not None and not s.final), Decimal(0)),
    )
