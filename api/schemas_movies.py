"""The films' request and response models (``/v1/movies``), each with an example; built from core's views.

Limits on free text are core's own constants (core/services/storyboard.py checks them
again with the plain messages a page shows). Imports ``core`` and Pydantic only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

from api.schemas import EXAMPLE_ID, GenerationOut, Money, generation_of
from core import catalog
from core.movies import MAX_SCRIPT_CHARS, SENTENCE_SPLIT, Storyboard
from core.services.bank import MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS
from core.services.movie_views import MovieView
from core.services.storyboard import (
    MAX_FILM_SECONDS,
    MAX_SHOTS,
    MAX_STYLE_CHARS,
    MAX_TITLE_CHARS,
    MIN_FILM_SECONDS,
    MovieDraft,
    ShotDraft,
)

MAX_CHARACTERS_PER_SHOT = 10
"""Most characters one shot may name (each brings its reference images; Veo takes three pictures at most)."""

Id = Annotated[str, StringConstraints(max_length=64)]


class ShotIn(BaseModel):
    """One shot of a storyboard, as the Movies page's storyboard table has it."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(max_length=catalog.MAX_PROMPT_CHARS)
    duration_seconds: int = Field(strict=True, description="One of the model's lengths (``GET /v1/models``).")
    model: str = Field(max_length=64)
    join: str = Field(
        default="cut",
        max_length=16,
        description="How it follows the shot before: ``cut``, ``crossfade``, ``continue`` (from its last frame) "
        "or ``extend`` (the previous shot). The first shot's is a cut.",
    )
    characters: list[Id] = Field(
        default_factory=list,
        max_length=MAX_CHARACTERS_PER_SHOT,
        description="Ids of the film's characters in this shot (``POST /v1/movies/{movie_id}/characters``).",
    )
    start_image_id: Id | None = Field(
        default=None,
        description="Id of a start image of the film's (``POST /v1/movies/{movie_id}/start-images``): the shot's "
        "first frame.",
    )
    match_colours: bool = Field(
        default=False,
        description="Recolour the start image to the previous shot's last frame (the shot then waits for it).",
    )

    def draft(self) -> ShotDraft:
        return ShotDraft(
            prompt=self.prompt,
            duration_seconds=self.duration_seconds,
            model=self.model,
            join=self.join,
            characters=tuple(self.characters),
            start_image_id=self.start_image_id,
            match_colours=self.match_colours,
        )


SHOT_EXAMPLE: JsonDict = {
    "prompt": "Red dunes at dawn",
    "duration_seconds": 2,
    "model": "offline-preview",
    "join": "cut",
}


class MovieIn(BaseModel):
    """A film from a storyboard document: its settings and its shots (stored together or not at all)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Dunes",
                    "style": "artistic",
                    "aspect_ratio": "16:9",
                    "resolution": "360p",
                    "target_seconds": 8,
                    "shots": [SHOT_EXAMPLE, {**SHOT_EXAMPLE, "prompt": "A blue kite", "join": "crossfade"}],
                }
            ]
        },
    )

    title: str = Field(max_length=MAX_TITLE_CHARS)
    style: str = Field(
        max_length=16, description="``cinematic``, ``realistic``, ``animated``, ``artistic`` or ``custom``."
    )
    aspect_ratio: str = Field(default="16:9", max_length=8)
    resolution: str = Field(default="720p", max_length=8)
    target_seconds: int = Field(strict=True, ge=MIN_FILM_SECONDS, le=MAX_FILM_SECONDS)
    style_prompt: str | None = Field(
        default=None, max_length=MAX_STYLE_CHARS, description="Added to every shot; null takes the style's preset."
    )
    style_negative: str | None = Field(default=None, max_length=MAX_STYLE_CHARS)
    shots: list[ShotIn] = Field(
        default_factory=list, max_length=MAX_SHOTS, description="May be empty: write them later with PUT."
    )

    def draft(self) -> MovieDraft:
        return MovieDraft(**self.model_dump(exclude={"shots"}))


class StoryboardIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"shots": [SHOT_EXAMPLE]}]})

    shots: list[ShotIn] = Field(max_length=MAX_SHOTS)


class StartIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"draft": True}]})

    draft: bool = Field(
        default=False, description="Render every shot with the offline renderer first (free); finalise later."
    )


class FinaliseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"shot_ids": None}]})

    shot_ids: list[Id] | None = Field(
        default=None, max_length=200, description="The drafted shots to render at their own models; null: all."
    )


class RerenderIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"prompt": "Yellow night"}]})

    prompt: str | None = Field(
        default=None, max_length=catalog.MAX_PROMPT_CHARS, description="A new prompt for the shot; null keeps it."
    )


class TakeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"generation_id": EXAMPLE_ID}]})

    generation_id: Id = Field(description="A finished take of the shot.")


MAX_SCRIPT_READ_CHARS = 2 * MAX_SCRIPT_CHARS
"""Longest script read, in characters: twice core's limit, which it checks after trimming the script, so a script
a little over that limit gets core's sentence rather than a bare length error."""


class ProposalIn(BaseModel):
    """A script to propose a storyboard from, as the Movies page's "Propose shots from a script" form has it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "script": "A boat leaves the harbour. Gulls follow it!",
                    "model": "offline-preview",
                    "duration_seconds": 4,
                }
            ]
        },
    )

    script: str = Field(
        max_length=MAX_SCRIPT_READ_CHARS,
        description=f"The story to split into shots: at most {MAX_SCRIPT_CHARS:,} characters once trimmed.",
    )
    model: str = Field(max_length=64, description="The model every proposed shot is rendered with.")
    duration_seconds: int = Field(
        strict=True, description="Each shot's length when the text model proposes none (or without a text model)."
    )


class ProposedShotOut(ShotIn):
    """A proposed shot, in the shape ``PUT /v1/movies/{movie_id}/storyboard`` takes: edit it, then put it."""


class ProposalOut(BaseModel):
    """A proposed storyboard: nothing is stored or paid until its shots are put into a film."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "shots": [
                        {**SHOT_EXAMPLE, "prompt": "A boat leaves the harbour.", "duration_seconds": 4},
                        {**SHOT_EXAMPLE, "prompt": "Gulls follow it!", "duration_seconds": 4},
                    ],
                    "source": SENTENCE_SPLIT,
                    "note": None,
                    "unavailable": "Prompt help needs a Gemini API key (VEOGEN_GEMINI_API_KEY); without it, each "
                    "sentence of the script becomes a shot.",
                }
            ]
        }
    )

    shots: list[ProposedShotOut] = Field(max_length=MAX_SHOTS)
    source: str = Field(description=f"The text model that proposed the shots, or ``{SENTENCE_SPLIT}``.")
    note: str | None = Field(description="Why the text model's proposal was replaced by a split by sentences.")
    unavailable: str | None = Field(
        description="Why no text model proposes storyboards here (the script is then split by sentences); "
        "null when one does."
    )


def proposal_of(board: Storyboard, unavailable: str | None) -> ProposalOut:
    return ProposalOut(
        shots=[
            ProposedShotOut(
                prompt=s.prompt,
                duration_seconds=s.duration_seconds,
                model=s.model,
                join=s.join,
                characters=list(s.characters),
                start_image_id=s.start_image_id,
                match_colours=s.match_colours,
            )
            for s in board.shots
        ],
        source=board.source,
        note=board.note,
        unavailable=unavailable,
    )


class CharacterIn(BaseModel):
    """A character of a film; its 1–3 reference images come beside it (see ``POST …/characters``)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Ada", "description": "a sailor in a yellow coat"}]}
    )

    name: str = Field(max_length=MAX_NAME_CHARS, description="Unique in the film (letter case aside).")
    description: str = Field(default="", max_length=MAX_DESCRIPTION_CHARS)


class StartImageIn(BaseModel):
    """A picture shots of a film may start from; the picture comes beside it (see ``POST …/start-images``)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "sunrise"}]})

    name: str = Field(max_length=MAX_NAME_CHARS, description="Unique in the film (letter case aside).")


class CharacterOut(BaseModel):
    id: str = Field(description="What a shot's ``characters`` name.")
    name: str
    description: str
    images: int = Field(description="How many reference images the character has.")


class StartImageOut(BaseModel):
    id: str = Field(description="What a shot's ``start_image_id`` names.")
    name: str
    width: int
    height: int


class SoundtrackOut(BaseModel):
    name: str = Field(description="The uploaded file's name.")
    mode: str = Field(description="``mix`` (under the shots' sound) or ``replace`` (instead of it).")
    level: float = Field(description="The music's level, 0 to 1.")


class ShotOut(BaseModel):
    id: str
    position: int = Field(description="0-based place in the film.")
    prompt: str
    duration_seconds: int
    model: str
    join: str
    characters: list[str]
    start_image_id: str | None
    match_colours: bool
    seconds: int = Field(description="What the shot adds to the film (an extension adds its new seconds).")
    final: bool = Field(description="A take at the shot's own model exists (not only drafts).")
    chosen_id: str | None = Field(description="The take the film uses: the one picked, else the newest finished.")
    price_usd: Money = Field(description="What one more take at the shot's own model costs.")
    spent_usd: Money = Field(description="Settled over the shot's takes.")
    takes: list[GenerationOut] = Field(description="Oldest first.")


class MovieOut(BaseModel):
    """A film as its owner sees it: every shot and take, and the money."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": EXAMPLE_ID,
                    "title": "Dunes",
                    "style": "artistic",
                    "style_prompt": "Painterly artistic style",
                    "style_negative": "photorealistic",
                    "aspect_ratio": "16:9",
                    "resolution": "360p",
                    "target_seconds": 8,
                    "length_seconds": 7,
                    "started_at": None,
                    "price_usd": "0.0000",
                    "committed_usd": "0.0000",
                    "spent_usd": "0.0000",
                    "finalise_usd": "0.0000",
                    "assembly_status": "none",
                    "assembly_message": None,
                    "assembled_at": None,
                    "assembled_seconds": None,
                    "assembly_current": False,
                    "join_flags": [],
                    "soundtrack_name": None,
                    "soundtrack": None,
                    "characters": [],
                    "start_images": [],
                    "shots": [],
                }
            ]
        }
    )

    id: str
    title: str
    style: str
    style_prompt: str
    style_negative: str
    aspect_ratio: str
    resolution: str
    target_seconds: int
    length_seconds: int = Field(description="What the shots add up to.")
    started_at: datetime | None
    price_usd: Money = Field(description="What rendering every shot once costs (the storyboard's price).")
    committed_usd: Money = Field(description="Reserved and settled over all takes now.")
    spent_usd: Money = Field(description="Settled over all takes: the cost so far.")
    finalise_usd: Money = Field(description="What rendering every drafted shot at its own model costs now.")
    assembly_status: str = Field(description="none, queued, running, done or failed.")
    assembly_message: str | None
    assembled_at: datetime | None
    assembled_seconds: float | None
    assembly_current: bool = Field(description="The assembled film uses the takes chosen now.")
    join_flags: list[str]
    soundtrack_name: str | None
    soundtrack: SoundtrackOut | None = Field(description="The film's music, used at assembly; null: the shots' sound.")
    characters: list[CharacterOut]
    start_images: list[StartImageOut]
    shots: list[ShotOut]


def movie_of(view: MovieView) -> MovieOut:
    return MovieOut(
        id=view.id,
        title=view.title,
        style=view.style,
        style_prompt=view.style_prompt,
        style_negative=view.style_negative,
        aspect_ratio=view.aspect_ratio,
        resolution=view.resolution,
        target_seconds=view.target_seconds,
        length_seconds=view.length_seconds,
        started_at=view.started_at,
        price_usd=view.price_usd,
        committed_usd=view.committed_usd,
        spent_usd=view.spent_usd,
        finalise_usd=view.finalise_usd,
        assembly_status=view.assembly_status,
        assembly_message=view.assembly_message,
        assembled_at=view.assembled_at,
        assembled_seconds=view.assembled_seconds,
        assembly_current=view.assembly_current,
        join_flags=list(view.join_flags),
        soundtrack_name=view.soundtrack_name,
        soundtrack=None
        if view.soundtrack_name is None
        else SoundtrackOut(name=view.soundtrack_name, mode=view.soundtrack_mode, level=view.soundtrack_level),
        characters=[
            CharacterOut(id=c.id, name=c.name, description=c.description, images=c.images) for c in view.characters
        ],
        start_images=[StartImageOut(id=i.id, name=i.name, width=i.width, height=i.height) for i in view.start_images],
        shots=[
            ShotOut(
                id=s.id,
                position=s.position,
                prompt=s.prompt,
                duration_seconds=s.duration_seconds,
                model=s.model,
                join=s.join,
                characters=list(s.characters),
                start_image_id=s.start_image_id,
                match_colours=s.match_colours,
                seconds=s.seconds,
                final=s.final,
                chosen_id=s.chosen_id,
                price_usd=s.price_usd,
                spent_usd=s.spent_usd,
                takes=[generation_of(t) for t in s.takes],
            )
            for s in view.shots
        ],
    )


class MovieList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": []}]})

    items: list[MovieOut] = Field(description="The caller's films, newest first (the latest 100).")
