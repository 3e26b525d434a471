"""The model catalog: what each model accepts and what a second of it costs.

One table, with the date each price was read. The Create page offers only what
the chosen model accepts, and :func:`validate_request` refuses the rest with a
message naming the rule. Imports nothing but the standard library.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from core.errors import ValidationError
from core.params import GenerationParams

MAX_PROMPT_CHARS = 2000
"""Longest prompt accepted, in characters (Veo reads up to 1,024 tokens)."""

MAX_NEGATIVE_PROMPT_CHARS = 500
"""Longest negative prompt accepted, in characters."""

MAX_SEED = 2**32 - 1
"""Largest seed accepted."""


MODES: dict[str, str] = {
    "text": "Text to video",
    "image": "Image to video (first frame)",
    "frames": "First and last frame",
    "reference": "Reference images",
    "extend": "Extend one of your videos",
}
"""Every way to ask for a video, with the label the Create page shows."""

MAX_REFERENCE_IMAGES = 3
"""Reference ("ingredient") images per request."""

EXTENSION_SECONDS = 7
"""Seconds of new video an extension adds (and is charged for)."""

EXTENSION_WINDOW_SECONDS = 2 * 24 * 3600
"""How long Veo keeps a video it made, and so how long it can be extended, in seconds."""


@dataclass(frozen=True)
class ModelSpec:
    """One model's limits and price."""

    id: str
    label: str
    provider: str
    durations: tuple[int, ...]
    resolutions: tuple[str, ...]
    aspect_ratios: tuple[str, ...]
    max_samples: int
    audio: bool
    usd_per_second: dict[str, Decimal]
    """Price per second of output video, by resolution."""
    price_read_on: str
    """When and where the price was read."""
    supports_seed: bool = True
    needs_8s_for: tuple[str, ...] = ()
    """Resolutions that only come at 8 seconds."""
    notes: str = ""
    modes: tuple[str, ...] = ("text",)
    """Which of MODES the model accepts."""
    only_16_9_for: tuple[str, ...] = ()
    """Resolutions offered only in 16:9."""

    @property
    def default_resolution(self) -> str:
        return self.resolutions[0]


OFFLINE_MODEL = "offline-preview"

_VEO_31_MODES = ("text", "image", "frames", "reference", "extend")
_PRICE_2026 = "2026-09-20 (ai.google.dev/pricing transcript; LiteLLM 1.109.1)"
_PRICE_2025 = "late 2025 (Gemini API docs; LiteLLM 1.80.0)"


def _usd(**by_resolution: str) -> dict[str, Decimal]:
    return {res.removeprefix("r"): Decimal(price) for res, price in by_resolution.items()}


MODELS: dict[str, ModelSpec] = {
    spec.id: spec
    for spec in (
        ModelSpec(
            id="veo-3.1-generate-001",
            label="Veo 3.1",
            provider="veo",
            durations=(4, 6, 8),
            resolutions=("720p", "1080p", "4k"),
            aspect_ratios=("16:9", "9:16"),
            max_samples=1,
            audio=True,
            usd_per_second=_usd(r720p="0.40", r1080p="0.40", r4k="0.60"),
            price_read_on=_PRICE_2026,
            needs_8s_for=("1080p", "4k"),
            modes=_VEO_31_MODES,
            notes="Google's best Veo: video with sound. 1080p and 4k need 8 s.",
        ),
        ModelSpec(
            id="veo-3.1-fast-generate-001",
            label="Veo 3.1 Fast",
            provider="veo",
            durations=(4, 6, 8),
            resolutions=("720p", "1080p", "4k"),
            aspect_ratios=("16:9", "9:16"),
            max_samples=1,
            audio=True,
            usd_per_second=_usd(r720p="0.10", r1080p="0.12", r4k="0.30"),
            price_read_on=_PRICE_2026,
            needs_8s_for=("1080p", "4k"),
            modes=_VEO_31_MODES,
            notes="Faster and cheaper Veo 3.1, with sound. 1080p and 4k need 8 s.",
        ),
        ModelSpec(
            id="veo-3.1-lite-generate-preview",
            label="Veo 3.1 Lite (preview)",
            provider="veo",
            durations=(4, 6, 8),
            resolutions=("720p", "1080p"),
            aspect_ratios=("16:9", "9:16"),
            max_samples=1,
            audio=True,
            usd_per_second=_usd(r720p="0.05", r1080p="0.08"),
            price_read_on=_PRICE_2026,
            needs_8s_for=("1080p",),
            modes=("text", "image", "frames"),
            notes="The cheapest Veo 3.1. No reference images, no extension, no 4k.",
        ),
        ModelSpec(
            id="veo-3.0-generate-001",
            label="Veo 3",
            provider="veo",
            durations=(4, 6, 8),
            resolutions=("720p", "1080p"),
            aspect_ratios=("16:9", "9:16"),
            max_samples=1,
            audio=True,
            usd_per_second=_usd(r720p="0.40", r1080p="0.40"),
            price_read_on=_PRICE_2025,
            needs_8s_for=("1080p",),
            only_16_9_for=("1080p",),
            modes=("text", "image", "frames"),
            notes="Retired by Google in 2026 on some routes; kept for projects that still have it.",
        ),
        ModelSpec(
            id="veo-3.0-fast-generate-001",
            label="Veo 3 Fast",
            provider="veo",
            durations=(4, 6, 8),
            resolutions=("720p", "1080p"),
            aspect_ratios=("16:9", "9:16"),
            max_samples=1,
            audio=True,
            usd_per_second=_usd(r720p="0.15", r1080p="0.15"),
            price_read_on=_PRICE_2025,
            needs_8s_for=("1080p",),
            only_16_9_for=("1080p",),
            modes=("text", "image", "frames"),
            notes="Retired by Google in 2026 on some routes; kept for projects that still have it.",
        ),
        ModelSpec(
            id="veo-2.0-generate-001",
            label="Veo 2",
            provider="veo",
            durations=(5, 6, 7, 8),
            resolutions=("720p",),
            aspect_ratios=("16:9", "9:16"),
            max_samples=2,
            audio=False,
            usd_per_second=_usd(r720p="0.35"),
            price_read_on=_PRICE_2025,
            supports_seed=False,
            modes=("text", "image", "frames"),
            notes="Silent video; up to 2 videos per request.",
        ),
        ModelSpec(
            id=OFFLINE_MODEL,
            label="Offline preview renderer (local, not AI)",
            provider="offline",
            durations=(2, 4, 6, 8),
            resolutions=("360p", "720p", "1080p", "240p"),
            aspect_ratios=("16:9", "9:16"),
            max_samples=4,
            audio=False,
            usd_per_second={"240p": Decimal(0), "360p": Decimal(0), "720p": Decimal(0), "1080p": Decimal(0)},
            price_read_on="n/a (runs on this machine, free)",
            notes="Draws the prompt's words, colours and motion locally with PyAV. It is not AI.",
        ),
    )
}


def models_for(providers: set[str]) -> list[ModelSpec]:
    """Return the catalog entries whose provider is available, in catalog order."""
    return [m for m in MODELS.values() if m.provider in providers]


QUOTE_CHARS = 40
"""At most this much of an unknown value is quoted back in a message."""


def quoted(value: object) -> str:
    """A value for a message: repr'd and cut to ``QUOTE_CHARS``, so a huge input is never echoed whole."""
    text = repr(value)
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"


def get_model(model_id: str) -> ModelSpec:
    """Return a model's spec, or raise ValidationError naming the unknown id."""
    try:
        return MODELS[model_id]
    except KeyError:
        raise ValidationError(f"Unknown model {quoted(model_id)}.", field="model") from None


def billed_seconds(*, mode: str, duration_seconds: int) -> int:
    """Seconds of new video a request makes: its duration, or what an extension adds."""
    return EXTENSION_SECONDS if mode == "extend" else duration_seconds


def price_usd(params: GenerationParams, *, spec: ModelSpec | None = None) -> Decimal:
    """The money rule, the only one: billed seconds × the model's rate at the resolution × videos.

    The Create page's price, the reservation at submit and the settled cost
    (with the number of videos actually made) all come from here. ``spec``
    defaults to the catalog's entry for ``params.model``.
    """
    spec = spec or get_model(params.model)
    seconds = billed_seconds(mode=params.mode, duration_seconds=params.duration_seconds)
    return spec.usd_per_second[params.resolution] * seconds * params.sample_count


def clean_prompt(text: str, *, field_name: str, max_chars: int, required: bool) -> str:
    """Normalise a prompt and refuse empty, over-long or control-character input."""
    text = unicodedata.normalize("NFC", text or "").strip()
    label = "Prompt" if field_name == "prompt" else "Negative prompt"
    if required and not text:
        raise ValidationError(f"{label} is empty: describe the video you want.", field=field_name)
    if len(text) > max_chars:
        raise ValidationError(f"{label} is {len(text)} characters long; the limit is {max_chars}.", field=field_name)
    for ch in text:
        if ch in "\n\t":
            continue
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            raise ValidationError(
                f"{label} contains an invisible or control character (U+{ord(ch):04X}); remove it.",
                field=field_name,
            )
    return text


def _whole(value: object) -> bool:
    """Whether ``value`` is an integer (``True`` is not a count, ``"5"`` and ``5.0`` are not integers)."""
    return isinstance(value, int) and not isinstance(value, bool)


def validate_request(
    spec: ModelSpec,
    *,
    duration_seconds: int,
    aspect_ratio: str,
    resolution: str,
    sample_count: int,
    seed: int | None,
    mode: str = "text",
    first_frame: bool = False,
    last_frame: bool = False,
    reference_images: int = 0,
    extends_video: bool = False,
) -> None:
    """Raise ValidationError naming the first rule of the model that the request breaks."""
    if mode not in MODES:
        raise ValidationError(f"Unknown mode {quoted(mode)}.", field="mode")
    if mode not in spec.modes:
        raise ValidationError(f"{spec.label} does not offer “{MODES[mode]}”.", field="mode")
    if duration_seconds not in spec.durations:
        allowed = ", ".join(f"{d} s" for d in spec.durations)
        raise ValidationError(
            f"{spec.label} makes videos of {allowed}; {duration_seconds} s is not one of them.",
            field="duration_seconds",
        )
    if aspect_ratio not in spec.aspect_ratios:
        raise ValidationError(
            f"{spec.label} supports aspect ratios {', '.join(spec.aspect_ratios)}, not {aspect_ratio}.",
            field="aspect_ratio",
        )
    if resolution not in spec.resolutions:
        raise ValidationError(
            f"{spec.label} supports {', '.join(spec.resolutions)}, not {resolution}.",
            field="resolution",
        )
    if resolution in spec.needs_8s_for and duration_seconds != 8:
        raise ValidationError(f"{resolution} needs 8 s with {spec.label}.", field="resolution")
    if resolution in spec.only_16_9_for and aspect_ratio != "16:9":
        raise ValidationError(f"{resolution} comes only in 16:9 with {spec.label}.", field="aspect_ratio")
    if not _whole(sample_count) or not 1 <= sample_count <= spec.max_samples:
        raise ValidationError(
            f"{spec.label} makes 1 to {spec.max_samples} videos per request, not {sample_count}.",
            field="sample_count",
        )
    if seed is not None:
        if not spec.supports_seed:
            raise ValidationError(f"{spec.label} does not take a seed.", field="seed")
        if not _whole(seed) or not 0 <= seed <= MAX_SEED:
            raise ValidationError(f"Seed must be between 0 and {MAX_SEED}.", field="seed")
    _validate_inputs(
        spec,
        mode=mode,
        duration_seconds=duration_seconds,
        aspect_ratio=aspect_ratio,
        resolution=resolution,
        first_frame=first_frame,
        last_frame=last_frame,
        reference_images=reference_images,
        extends_video=extends_video,
    )


def _validate_inputs(
    spec: ModelSpec,
    *,
    mode: str,
    duration_seconds: int,
    aspect_ratio: str,
    resolution: str,
    first_frame: bool,
    last_frame: bool,
    reference_images: int,
    extends_video: bool,
) -> None:
    """The rules of each mode: which images it needs, and what Veo allows with them."""
    wants_first = mode in ("image", "frames")
    if first_frame != wants_first:
        message = "Upload a first-frame image." if wants_first else f"“{MODES[mode]}” takes no first-frame image."
        raise ValidationError(message, field="first_frame")
    if last_frame != (mode == "frames"):
        message = "Upload a last-frame image." if mode == "frames" else f"“{MODES[mode]}” takes no last-frame image."
        raise ValidationError(message, field="last_frame")
    if mode == "reference":
        if not 1 <= reference_images <= MAX_REFERENCE_IMAGES:
            raise ValidationError(
                f"Upload 1 to {MAX_REFERENCE_IMAGES} reference images, not {reference_images}.",
                field="reference_images",
            )
        if duration_seconds != 8:
            raise ValidationError("Reference images need 8 s.", field="duration_seconds")
        if aspect_ratio != "16:9":
            raise ValidationError("Reference images need 16:9.", field="aspect_ratio")
    elif reference_images:
        raise ValidationError(f"“{MODES[mode]}” takes no reference images.", field="reference_images")
    if extends_video != (mode == "extend"):
        message = "Pick one of your videos to extend." if mode == "extend" else "Only an extension takes a video."
        raise ValidationError(message, field="extend_of_id")
    if mode == "extend" and (resolution != "720p" or duration_seconds != 8):
        raise ValidationError("An extension is made at 720p and 8 s.", field="resolution")
