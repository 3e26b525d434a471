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


SHOT_EXAMPLE: JsonDict = {
    "prompt": "Red dunes at dawn",
    "duration_seconds": 2,
    "model": "offline-preview",
    "join": "cut",
}


class ShotIn(BaseModel):
    """One shot of a storyboard, as the Movies page's storyboard table has it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SHOT_EXAMPLE]})

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


class CharacterOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5e0b7c3a9f1d4e2b8c6a4d0f1e3b5a79",
                    "name": "Ada",
                    "description": "a sailor in a yellow coat",
                    "images": 2,
                }
            ]
        }
    )

    id: str = Field(description="What a shot's ``characters`` name.")
    name: str
    description: str
    images: int = Field(description="How many reference images the character has.")


class StartImageOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"id": "a2c4e6f8b0d1439587a6c5e4d3b2a190", "name": "sunrise", "width": 1280, "height": 720}]
        }
    )

    id: str = Field(description="What a shot's ``start_image_id`` names.")
    name: str
    width: int
    height: int


class SoundtrackOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "theme.mp3", "mode": "mix", "level": 0.5}]})

    name: str = Field(description="The uploaded file's name.")
    mode: str = Field(description="``mix`` (under the shots' sound) or ``replace`` (instead of it).")
    level: float = Field(description="The music's level, 0 to 1.")


class ShotOut(BaseModel):
    """A shot of a film with its takes, as the Movies page's storyboard shows it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **SHOT_EXAMPLE,
                    "id": "7b9d1f3e5a0c4b6d8e2f4a6c8e0b2d41",
                    "position": 0,
                    "characters": [],
                    "start_image_id": None,
                    "match_colours": False,
                    "seconds": 2,
                    "final": False,
                    "chosen_id": None,
                    "price_usd": "0.0000",
                    "spent_usd": "0.0000",
                    "takes": [],
                }
            ]
        }
    )

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
