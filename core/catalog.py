"""The model catalog: what each model accepts and what a second of it costs.

One table, with the date each price was read. The Create page offers only what
the chosen model accepts, and :func:`validate_request` refuses the rest with a
message naming the rule. Imports nothing but the standard library.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from core.errors import ValidationError

MAX_PROMPT_CHARS = 2000
"""Longest prompt accepted, in characters (Veo reads up to 1,024 tokens)."""

MAX_NEGATIVE_PROMPT_CHARS = 500
"""Longest negative prompt accepted, in characters."""

MAX_SEED = 2**32 - 1
"""Largest seed accepted."""


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
    supports_seed: bool = True
    needs_8s_for: tuple[str, ...] = ()
    """Resolutions that only come at 8 seconds."""
    notes: str = ""
    inputs: tuple[str, ...] = field(default=("text",))

    @property
    def default_resolution(self) -> str:
        return self.resolutions[0]


OFFLINE_MODEL = "offline-preview"

MODELS: dict[str, ModelSpec] = {
    spec.id: spec
    for spec in (
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


def get_model(model_id: str) -> ModelSpec:
    """Return a model's spec, or raise ValidationError naming the unknown id."""
    try:
        return MODELS[model_id]
    except KeyError:
        raise ValidationError(f"Unknown model {model_id!r}.", field="model") from None


def price_usd(spec: ModelSpec, *, duration_seconds: int, resolution: str, sample_count: int) -> Decimal:
    """Return the price of a request: seconds × rate(resolution) × videos."""
    return spec.usd_per_second[resolution] * duration_seconds * sample_count


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


def validate_request(
    spec: ModelSpec,
    *,
    duration_seconds: int,
    aspect_ratio: str,
    resolution: str,
    sample_count: int,
    seed: int | None,
) -> None:
    """Raise ValidationError naming the first rule of the model that the request breaks."""
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
    if not 1 <= sample_count <= spec.max_samples:
        raise ValidationError(
            f"{spec.label} makes 1 to {spec.max_samples} videos per request, not {sample_count}.",
            field="sample_count",
        )
    if seed is not None:
        if not spec.supports_seed:
            raise ValidationError(f"{spec.label} does not take a seed.", field="seed")
        if not 0 <= seed <= MAX_SEED:
            raise ValidationError(f"Seed must be between 0 and {MAX_SEED}.", field="seed")
