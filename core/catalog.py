"""The model catalog: what each model accepts and what a second of it costs.

The table is data (``catalog.toml``), with the date each price was read and the
date Google retired each id; which models a studio offers is decided at run
time by the live model list (``core/providers/live.py``). The Create page offers
only what the chosen model accepts, and :func:`validate_request` refuses the
rest with a message naming the rule. Imports nothing but the standard library.
"""

from __future__ import annotations

import tomllib
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

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
    "edit": "Edit one of your videos (an instruction)",
}
"""Every way to ask for a video, with the label the Create page shows."""

MAX_REFERENCE_IMAGES = 3
"""Reference ("ingredient") images per request on any model (a model may allow fewer)."""

SOURCE_MODES = ("extend", "edit")
"""Modes that start from one of the creator's own videos."""

EXTENSION_WINDOW_SECONDS = 2 * 24 * 3600
"""How long Veo keeps a video it made, and so how long it can be extended, in seconds."""


@dataclass(frozen=True)
class ModelSpec:
    """One model's limits, where Google serves it, and its price (one entry of ``catalog.toml``)."""

    id: str
    label: str
    provider: str
    """The backend that drives it: ``veo`` (long-running operation), ``omni`` (Interactions) or ``offline``."""
    surfaces: tuple[str, ...]
    """Where it may be served: ``gemini`` (API key), ``vertex`` (project), ``local``; the live list decides."""
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
    max_samples_by_surface: dict[str, int] = field(default_factory=dict)
    """A lower videos-per-request limit on one surface."""
    negative_prompt: bool = True
    """False when the model takes none (Omni): the negative prompt is folded into the prompt."""
    max_reference_images: int = 3
    extend_seconds: int | None = 7
    """Seconds an extension adds; None means the chosen duration."""
    max_total_seconds: int = 148
    """Longest video a chain of extensions may reach."""
    retired: dict[str, str] = field(default_factory=dict)
    """Surface → the date Google shut this id down there."""
    replacement: str = ""
    """The id a retired model's users are sent to."""

    @property
    def default_resolution(self) -> str:
        return self.resolutions[0]

    def max_samples_on(self, surface: str | None) -> int:
        """Videos per request on ``surface`` (the model's most when the surface is not known yet)."""
        return self.max_samples_by_surface.get(surface or "", self.max_samples)

    def retired_on(self, surface: str) -> str | None:
        """The date this id was shut down on ``surface``, or None while it may still be served there."""
        return self.retired.get(surface)

    @property
    def retired_everywhere(self) -> bool:
        return all(s in self.retired for s in self.surfaces)

    def retirement_message(self) -> str:
        """What a creator who picks this retired model is told."""
        when = max(self.retired.values()) if self.retired else "an earlier date"
        instead = MODELS[self.replacement].label if self.replacement in MODELS else ""
        return f"{self.label} was shut down by Google on {when}." + (f" Use {instead} instead." if instead else "")


@dataclass(frozen=True)
class Offer:
    """A model a creator may pick here, and the credential that serves it (see core/providers/registry.py)."""

    spec: ModelSpec
    surface: str
    """``gemini``, ``vertex`` or ``local``."""
    credential: str
    """Whose credential serves it ("your own Gemini API key"; "this machine" for the offline renderer)."""


OFFLINE_MODEL = "offline-preview"

CATALOG_FILE = Path(__file__).with_name("catalog.toml")
"""The catalog's data: one ``[[model]]`` table per model, defaults in ``[defaults]``."""


def _spec(entry: dict[str, Any], defaults: dict[str, Any]) -> ModelSpec:
    data = defaults | entry
    extend = data["extend_seconds"]
    return ModelSpec(
        id=data["id"],
        label=data["label"],
        provider=data["provider"],
        surfaces=tuple(data["surfaces"]),
        durations=tuple(data["durations"]),
        resolutions=tuple(data["resolutions"]),
        aspect_ratios=tuple(data["aspect_ratios"]),
        max_samples=data["max_samples"],
        audio=data["audio"],
        usd_per_second={res: Decimal(price) for res, price in data["usd_per_second"].items()},
        price_read_on=data["price_read_on"],
        supports_seed=data["supports_seed"],
        needs_8s_for=tuple(data["needs_8s_for"]),
        notes=data.get("notes", ""),
        modes=tuple(data["modes"]),
        only_16_9_for=tuple(data["only_16_9_for"]),
        max_samples_by_surface=dict(data["max_samples_by_surface"]),
        negative_prompt=data["negative_prompt"],
        max_reference_images=data["max_reference_images"],
        extend_seconds=None if extend == "duration" else int(extend),
        max_total_seconds=data["max_total_seconds"],
        retired=dict(data["retired"]),
        replacement=data["replacement"],
    )


def load_catalog(path: Path = CATALOG_FILE) -> dict[str, ModelSpec]:
    """Read the catalog file into specs keyed by id, in file order."""
    with path.open("rb") as f:
        data = tomllib.load(f)
    return {spec.id: spec for spec in (_spec(entry, data["defaults"]) for entry in data["model"])}


MODELS: dict[str, ModelSpec] = load_catalog()


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


def billed_seconds(spec: ModelSpec, *, mode: str, duration_seconds: int) -> int:
    """Seconds of new video a request makes: its duration, or what the model's extension adds."""
    if mode == "extend" and spec.extend_seconds is not None:
        return spec.extend_seconds
    return duration_seconds


def price_usd(params: GenerationParams, *, spec: ModelSpec | None = None) -> Decimal:
    """The money rule, the only one: billed seconds × the model's rate at the resolution × videos.

    The Create page's price, the reservation at submit and the settled cost
    (with the number of videos actually made) all come from here. ``spec``
    defaults to the catalog's entry for ``params.model``.
    """
    spec = spec or get_model(params.model)
    seconds = billed_seconds(spec, mode=params.mode, duration_seconds=params.duration_seconds)
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
    surface: str | None = None,
) -> None:
    """Raise ValidationError naming the first rule of the model that the request breaks.

    ``extends_video`` is whether a source video is named (extend and edit take
    one); ``surface`` is where the model will be served, when already known.
    """
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
    most = spec.max_samples_on(surface)
    if not _whole(sample_count) or not 1 <= sample_count <= most:
        raise ValidationError(
            f"{spec.label} makes 1 to {most} videos per request, not {sample_count}.",
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
    """The rules of each mode: which images it needs, and what the model allows with them."""
    wants_first = mode in ("image", "frames")
    if first_frame != wants_first:
        message = "Upload a first-frame image." if wants_first else f"“{MODES[mode]}” takes no first-frame image."
        raise ValidationError(message, field="first_frame")
    if last_frame != (mode == "frames"):
        message = "Upload a last-frame image." if mode == "frames" else f"“{MODES[mode]}” takes no last-frame image."
        raise ValidationError(message, field="last_frame")
    veo = spec.provider == "veo"
    if mode == "reference":
        most = min(spec.max_reference_images, MAX_REFERENCE_IMAGES)
        if not 1 <= reference_images <= most:
            raise ValidationError(
                f"Upload 1 to {most} reference images, not {reference_images}.", field="reference_images"
            )
        if veo and duration_seconds != 8:
            raise ValidationError("Reference images need 8 s.", field="duration_seconds")
        if veo and aspect_ratio != "16:9":
            raise ValidationError("Reference images need 16:9.", field="aspect_ratio")
    elif reference_images:
        raise ValidationError(f"“{MODES[mode]}” takes no reference images.", field="reference_images")
    if extends_video != (mode in SOURCE_MODES):
        message = "Pick one of your videos." if mode in SOURCE_MODES else "Only an extension or an edit takes a video."
        raise ValidationError(message, field="extend_of_id")
    if mode == "extend" and veo and (resolution != "720p" or duration_seconds != 8):
        raise ValidationError("A Veo extension is made at 720p and 8 s.", field="resolution")
