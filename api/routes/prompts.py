"""``/v1/prompts``: the Create page's prompt help over the API — "Improve prompt", and whether it can work here.

The page sends only the prompt's text (the model picked, the mode and the other
settings play no part) to ``studio.generations.improve_prompt``, which checks it as
any prompt (empty, over ``MAX_PROMPT_CHARS``, control characters: 422 with the
page's sentence) and has the studio's text model (VEOGEN_PROMPT_MODEL) rewrite it.
When the studio has no text model (no Gemini API key), the page's button is
disabled with ``studio.generations.prompt_help_unavailable``'s reason: here that
reason answers 409 ``prompt-help-unavailable`` before the text is looked at (the
studio's configuration, not a fault, so not a 5xx; ``GET /v1/prompts/help`` tells
ahead). A failing text model answers as any provider error does (usually 502
``provider``), with the error the page shows after "Prompt help failed:".

A rewrite calls Google's text model with the studio's key, so it needs the
``generate`` scope and counts against the submits rate limit; the availability
check needs ``read``. Nothing is stored: the original comes back beside the
rewrite, as the page keeps it for "Restore my original prompt".
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.problems import Problem, documented
from api.security import Generator, Reader, StudioDep
from core import catalog

router = APIRouter(prefix="/prompts", tags=["generations"])

MAX_PROMPT_READ_CHARS = 2 * catalog.MAX_PROMPT_CHARS
"""Longest prompt read, in characters: core refuses one over ``MAX_PROMPT_CHARS`` (after trimming spaces) with the
Create page's sentence; anything longer than this is refused before it is read."""


class PromptHelpOut(BaseModel):
    """Whether "Improve prompt" works in this studio, with which text model, or why not."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"available": True, "model": "gemini-flash-latest", "unavailable": None}]}
    )

    available: bool
    model: str = Field(description="The text model that rewrites prompts (VEOGEN_PROMPT_MODEL).")
    unavailable: str | None = Field(description="Why prompt help cannot work here (the Create page's sentence).")


class PromptIn(BaseModel):
    """The prompt to improve, as typed in the Create page's prompt box."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"prompt": "a fox in the snow"}]})

    prompt: str = Field(
        max_length=MAX_PROMPT_READ_CHARS,
        description=f"The prompt to rewrite: not empty, at most {catalog.MAX_PROMPT_CHARS} characters.",
    )


class ImprovedPromptOut(BaseModel):
    """The text model's rewrite, beside the prompt you sent (nothing is stored)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "original": "a fox in the snow",
                    "improved": "A red fox bounds through fresh powder snow at sunrise, low tracking shot, "
                    "soft golden backlight, breath visible in the cold air.",
                    "model": "gemini-flash-latest",
                }
            ]
        }
    )

    original: str
    improved: str = Field(description=f"At most {catalog.MAX_PROMPT_CHARS} characters, ready to submit or edit.")
    model: str = Field(description="The text model that rewrote it.")


@router.get("/help", response_model=PromptHelpOut, responses=documented(401, 403))
def prompt_help(owner: Reader, studio: StudioDep) -> PromptHelpOut:
    """Whether "Improve prompt" can work here: the Create page enables its button, or shows why not."""
    del owner  # the token is checked; the answer is the same for everyone
    unavailable = studio.generations.prompt_help_unavailable()
    return PromptHelpOut(available=unavailable is None, model=studio.settings.prompt_model, unavailable=unavailable)


@router.post("/improve", response_model=ImprovedPromptOut, responses=documented(400, 401, 403, 409, 413, 422, 502, 503))
def improve_prompt(body: PromptIn, owner: Generator, studio: StudioDep) -> ImprovedPromptOut:
    """Rewrite a prompt with the studio's text model (the Create page's "Improve prompt"); one request to it.

    409 ``prompt-help-unavailable`` with the page's reason when the studio has no text model; 422 with the
    page's sentence for an empty, over-long or unprintable prompt; 502 when the text model fails.
    """
    del owner  # the token is checked and counted; the studio's key pays, as on the page
    unavailable = studio.generations.prompt_help_unavailable()
    if unavailable is not None:  # the page's button is disabled, whatever the text
        raise Problem(409, "prompt-help-unavailable", "Prompt help is not available here", unavailable)
    improved = studio.generations.improve_prompt(body.prompt)
    return ImprovedPromptOut(original=body.prompt, improved=improved, model=studio.settings.prompt_model)
