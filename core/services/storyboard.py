"""A film's storyboard as rules: its shots as the creator writes them, the presets, what one take of a shot
asks the model for and costs, and the checks a storyboard must pass before anything is stored or paid.

Pure functions over rows and drafts: no session, no storage. ``core.services.movies`` stores and submits;
``core.services.movie_views`` reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from core import catalog
from core.errors import ValidationError
from core.models import Movie, Shot
from core.services.continuity import CONTINUITY_JOINS
from core.services.generations import GenerationForm, UploadedImage, quote

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


def storyboard_from_script(
    script: str, *, model: str, duration_seconds: int, max_shots: int = MAX_SHOTS
) -> list[ShotDraft]:
    """A plain proposal without a text model: one shot per sentence (editable before anything is paid)."""
    text = " ".join(script.split())
    sentences = [s.strip() for s in _SENTENCE.split(text) if s.strip()]
    return [ShotDraft(prompt=s, duration_seconds=duration_seconds, model=model) for s in sentences[:max_shots]]


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


def check_storyboard(
    movie: Movie, shots: list[ShotDraft], *, characters: dict[str, int], start_images: set[str]
) -> None:
    """Check every shot against its model's rules and the film's (continuity, length); ``characters`` maps the
    film's character ids to their number of reference images, ``start_images`` holds its start images' ids."""
    if not 1 <= len(shots) <= MAX_SHOTS:
        raise ValidationError(f"A storyboard has 1 to {MAX_SHOTS} shots, not {len(shots)}.", field="shots")
    known, pictures = characters, start_images
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
            check_continuity(draft, previous)
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


def shot_seconds(shot: Shot | ShotDraft, *, first: bool) -> int:
    """Seconds a shot adds to the film: its duration, or what an extension of the previous shot adds."""
    if shot.join != "extend" or first:
        return shot.duration_seconds
    return catalog.billed_seconds(catalog.get_model(shot.model), mode="extend", duration_seconds=shot.duration_seconds)


def check_continuity(shot: ShotDraft, previous: ShotDraft | None) -> None:
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


def previous_id(movie: Movie, shot: Shot) -> str | None:
    return next((s.id for s in movie.shots if s.position == shot.position - 1), None)


def take_price(movie: Movie, shot: Shot, *, draft: bool = False) -> Decimal:
    """What one take of the shot costs (a draft is free; an extension pays for the seconds it adds)."""
    counted = UploadedImage("first_frame", "start", b"") if shot.start_image_id else None
    form = shot_form(
        movie,
        shot,
        take=1,
        shot_id=shot.id,
        draft=draft,
        previous_shot_id=previous_id(movie, shot),
        start_frame=counted,
    )
    return catalog.price_usd(form.params)
