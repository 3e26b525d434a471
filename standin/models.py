"""The stand-in's model catalogue: what each Veo and Omni id accepts, which ids each surface serves by default,
which are retired, and how a model looks in ``models.list``/``models.get`` on either surface.

Facts follow reference part 2 (google-video-2026-12.md) sections 2.1, 2.8, 3.1–3.3. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from standin.protocol import Fail, bad

MAX_PROMPT_TOKENS = 1024
"""Longest Veo prompt, in tokens."""


@dataclass(frozen=True)
class VeoModel:
    """What one Veo model accepts on ``:predictLongRunning`` (reference part 1 section 8, part 2 section 3.3)."""

    id: str
    display_name: str
    durations: tuple[int, ...] = (4, 6, 8)
    resolutions: tuple[str, ...] = ("720p", "1080p", "4k")
    max_samples: int = 1
    reference_images: bool = False
    extension: bool = False
    hd_landscape_only: bool = False
    """True when 1080p comes only at 16:9 (Veo 3.0)."""
    audio: bool = True


@dataclass(frozen=True)
class OmniModel:
    """What one Gemini Omni Flash model accepts through the Interactions API (part 2 sections 2.1, 2.3, 2.8)."""

    id: str
    display_name: str
    version: str
    max_seconds: int = 10
    """Longest single generation, in seconds (extensions add up to :data:`MAX_CLIP_SECONDS`)."""
    resolutions: tuple[str, ...] = ("360p", "720p", "1080p", "4k")


_V31: dict[str, Any] = {"reference_images": True, "extension": True}
VEO_MODELS: dict[str, VeoModel] = {
    m.id: m
    for m in (
        VeoModel("veo-3.1-generate-preview", "Veo 3.1 (preview)", **_V31),
        VeoModel("veo-3.1-fast-generate-preview", "Veo 3.1 Fast (preview)", **_V31),
        VeoModel("veo-3.1-generate-001", "Veo 3.1", **_V31),
        VeoModel("veo-3.1-fast-generate-001", "Veo 3.1 Fast", **_V31),
        VeoModel("veo-3.1-lite-generate-preview", "Veo 3.1 Lite (preview)", resolutions=("720p", "1080p")),
        VeoModel("veo-3.1-lite-generate-001", "Veo 3.1 Lite", resolutions=("720p", "1080p")),
        VeoModel("veo-3.0-generate-001", "Veo 3", resolutions=("720p", "1080p"), hd_landscape_only=True),
        VeoModel("veo-3.0-fast-generate-001", "Veo 3 Fast", resolutions=("720p", "1080p"), hd_landscape_only=True),
        VeoModel("veo-2.0-generate-001", "Veo 2", (5, 6, 7, 8), ("720p",), max_samples=2, audio=False),
    )
}
OMNI_MODELS: dict[str, OmniModel] = {
    m.id: m
    for m in (
        OmniModel("gemini-omni-1.1-flash", "Gemini Omni 1.1 Flash", "1.1"),
        OmniModel("gemini-omni-1.2-flash", "Gemini Omni 1.2 Flash", "1.2", max_seconds=15),
        OmniModel("gemini-omni-1.1-flash-preview", "Gemini Omni 1.1 Flash (preview)", "1.1"),
        OmniModel("gemini-omni-flash-preview", "Gemini Omni Flash (preview)", "preview", resolutions=("720p",)),
    )
}
TEXT_MODELS = (
    "gemini-flash-latest",
    "gemini-flash-lite-latest",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-2.5-pro",
    "gemini-3.5-flash",
)
"""Always listed on the Gemini surface; ``:generateContent`` answers for any id starting with ``gemini-``."""

DEFAULT_GEMINI_MODELS = ("gemini-omni-1.1-flash",)
"""What an API key may use in December 2026 (part 2 sections 0 and 3.5)."""
DEFAULT_VERTEX_MODELS = (
    "veo-3.1-generate-001",
    "veo-3.1-fast-generate-001",
    "veo-3.1-lite-generate-001",
    "gemini-omni-1.2-flash",
)
"""What a Vertex project may use in December 2026 (part 2 section 3.2)."""
DEFAULT_RETIRED_MODELS = {
    "veo-2.0-generate-001": "veo-3.1-generate-001",
    "veo-3.0-generate-001": "veo-3.1-generate-001",
    "veo-3.0-fast-generate-001": "veo-3.1-fast-generate-001",
    "veo-3.1-generate-preview": "gemini-omni-1.1-flash",
    "veo-3.1-fast-generate-preview": "gemini-omni-1.1-flash",
    "veo-3.1-lite-generate-preview": "gemini-omni-1.1-flash",
    "gemini-omni-flash-preview": "gemini-omni-1.1-flash",
}
"""Shut-down id → the replacement Google names (part 2 section 3.2)."""
LEGACY_GEMINI_VEO = (
    "veo-3.1-generate-preview",
    "veo-3.1-fast-generate-preview",
    "veo-3.1-lite-generate-preview",
    "veo-3.1-generate-001",
    "veo-3.1-fast-generate-001",
    "veo-3.0-generate-001",
    "veo-3.0-fast-generate-001",
    "veo-2.0-generate-001",
)
"""The Veo ids this stand-in served to API keys before December 2026: pass
``Behaviour(gemini_models=list(LEGACY_GEMINI_VEO))`` to test the old ``predictLongRunning`` path."""

OMNI_GENERATION_METHODS = ["createInteraction"]
"""What Omni ids list as ``supportedGenerationMethods``. Google's real value is unknown (part 2 section 3.1);
clients must not depend on it."""

MAX_CLIP_SECONDS = 40
"""Longest clip an Omni extension chain may reach, in seconds."""


ENHANCE_SUFFIX = ", cinematic lighting, 35mm, shallow depth of field, smooth camera motion"
"""Appended to the user's text by ``:generateContent`` (see :func:`enhance_prompt`)."""


def enhance_prompt(text: str) -> str:
    """Return the stand-in's deterministic "improved prompt": the text plus :data:`ENHANCE_SUFFIX`."""
    return text.strip().rstrip(".!,;: ") + ENHANCE_SUFFIX


def known_model(model_id: str) -> bool:
    """Whether the catalogue has limits for ``model_id`` (only such ids may be served)."""
    return model_id in VEO_MODELS or model_id in OMNI_MODELS


def check_served(
    model: str, served: list[str] | tuple[str, ...], retired: dict[str, str], version: str, method: str = ""
) -> None:
    """Raise the 404 of a retired id ("… is no longer available") or of an unknown one, unless ``served``.

    An id both served and listed as retired is served: listing it is how a test brings an old id back.
    """
    if model in served:
        return
    if model in retired:
        raise Fail(
            404,
            f"models/{model} is no longer available. It was shut down; please migrate to {retired[model]}. "
            "See https://ai.google.dev/gemini-api/docs/deprecations.",
        )
    if method:
        raise Fail(
            404,
            f"models/{model} is not found for API version {version}, or is not supported for {method}. "
            "Call ListModels to see the list of available models and their supported methods.",
        )
    raise Fail(404, f"models/{model} is not found for API version {version}.")


def only_interactions(model: str, method: str) -> Fail:
    """The 400 for an Omni id on a route other than ``interactions`` (part 2 section 2.1)."""
    return bad(f"{model} is only supported in the Interactions API and cannot be called directly via {method}.")


# --- how models look in listings ------------------------------------------------------


def gemini_model_json(model_id: str) -> dict[str, Any]:
    """A ``models/{id}`` resource of the Gemini API."""
    veo, omni = VEO_MODELS.get(model_id), OMNI_MODELS.get(model_id)
    if veo is not None:
        return {
            "name": f"models/{model_id}",
            "version": model_id.split("-")[1],
            "displayName": veo.display_name,
            "description": f"{veo.display_name} (served by the local VeoGen stand-in, not Google)",
            "inputTokenLimit": MAX_PROMPT_TOKENS,
            "outputTokenLimit": 0,
            "supportedGenerationMethods": ["predictLongRunning"],
        }
    if omni is not None:
        return {
            "name": f"models/{model_id}",
            "version": omni.version,
            "displayName": omni.display_name,
            "description": f"{omni.display_name} (served by the local VeoGen stand-in, not Google)",
            "inputTokenLimit": 32768,
            "outputTokenLimit": 57920,
            "supportedGenerationMethods": list(OMNI_GENERATION_METHODS),
        }
    return {
        "name": f"models/{model_id}",
        "version": "stand-in",
        "displayName": model_id,
        "description": "Text model of the local VeoGen stand-in: appends a fixed cinematography suffix.",
        "inputTokenLimit": 1048576,
        "outputTokenLimit": 65536,
        "supportedGenerationMethods": ["generateContent", "countTokens"],
    }


def vertex_model_json(model_id: str) -> dict[str, Any]:
    """A ``publishers/google/models/{id}`` publisher model, with the fields the SDK reads."""
    spec = VEO_MODELS.get(model_id) or OMNI_MODELS.get(model_id)
    display = spec.display_name if spec is not None else model_id
    preview = "preview" in model_id or model_id == "veo-3.1-lite-generate-001"
    return {
        "name": f"publishers/google/models/{model_id}",
        "versionId": model_id.rsplit("-", 1)[-1] if model_id[-3:].isdigit() else "default",
        "displayName": display,
        "description": f"{display} (served by the local VeoGen stand-in, not Google)",
        "launchStage": "PUBLIC_PREVIEW" if preview else "GA",
        "openSourceCategory": "PROPRIETARY",
    }
