"""The request and response models of a film's assets (``/v1/movies`` proposals, characters, start images): a
storyboard proposed from a script, and the JSON parts that come beside uploaded pictures. The film itself (and the
characters, start images and soundtrack it shows) is in api/schemas_movies.py. Imports ``core`` and Pydantic only.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from api.schemas_movies import SHOT_EXAMPLE, ShotIn
from core.movies import MAX_SCRIPT_CHARS, SENTENCE_SPLIT, Storyboard
from core.services.bank import MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS
from core.services.storyboard import MAX_SHOTS

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


_PROPOSED: JsonDict = {
    **SHOT_EXAMPLE,
    "prompt": "A boat leaves the harbour.",
    "duration_seconds": 4,
    "characters": [],
    "start_image_id": None,
    "match_colours": False,
}


class ProposedShotOut(ShotIn):
    """A proposed shot, in the shape ``PUT /v1/movies/{movie_id}/storyboard`` takes: edit it, then put it."""

    model_config = ConfigDict(json_schema_extra={"examples": [_PROPOSED]})


class ProposalOut(BaseModel):
    """A proposed storyboard: nothing is stored or paid until its shots are put into a film."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "shots": [_PROPOSED, {**_PROPOSED, "prompt": "Gulls follow it!"}],
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
