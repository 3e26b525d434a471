"""Reading a Veo ``:predictLongRunning`` body into a :class:`Submission`, refusing what Veo refuses with its
400 INVALID_ARGUMENT (reference part 1 section 8, part 2 section 3.3).

Keys may be camelCase or snake_case. Imports the standard library and the sibling modules.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from standin.models import MAX_PROMPT_TOKENS, VeoModel
from standin.protocol import as_int, as_str, bad, decoded_size, field_of, param

MAX_IMAGE_BYTES = 20 * 1024 * 1024
"""Largest decoded input image, in bytes."""
IMAGE_MIME_TYPES = ("image/png", "image/jpeg", "image/webp")
VERTEX_MAX_SAMPLES = 4
GS_URI = re.compile(r"gs://(?P<bucket>[a-z0-9][a-z0-9._-]{1,221}[a-z0-9])(?:/(?P<path>.*))?")


def _image(value: Any, where: str, vertex: bool) -> dict[str, Any]:
    """Check one Image JSON and return what is kept of it: its mime type and size."""
    if not isinstance(value, dict):
        raise bad(f"Invalid value at '{where}': expected an image object")
    mime = field_of(value, "mimeType")
    if mime not in IMAGE_MIME_TYPES:
        raise bad(f"{where}.mimeType must be one of {', '.join(IMAGE_MIME_TYPES)}, not {mime!r}")
    encoded, gcs = field_of(value, "bytesBase64Encoded"), field_of(value, "gcsUri")
    if vertex and isinstance(gcs, str) and gcs.startswith("gs://"):
        return {"mime_type": mime, "gcs_uri": gcs}
    if not isinstance(encoded, str) or not encoded:
        raise bad(f"{where} needs bytesBase64Encoded" + (" or gcsUri" if vertex else ""))
    size = decoded_size(encoded, f"{where}.bytesBase64Encoded")
    if not 0 < size <= MAX_IMAGE_BYTES:
        raise bad(f"{where} must hold 1 byte to {MAX_IMAGE_BYTES // 2**20} MB of image data, not {size} bytes")
    return {"mime_type": mime, "size_bytes": size}


@dataclass
class Submission:
    """A validated start request."""

    prompt: str
    negative_prompt: str
    parameters: dict[str, Any]
    inputs: list[dict[str, Any]]
    output_seconds: int
    aspect_ratio: str
    resolution: str
    sample_count: int
    seed: int | None
    audio: bool
    storage_uri: str | None
    extends_file: str | None


def parse_submission(spec: VeoModel, body: Any, *, vertex: bool) -> Submission:
    """Validate a ``:predictLongRunning`` body against the model's rules; raise 400 on the first problem."""
    if not isinstance(body, dict):
        raise bad("Invalid JSON payload received. Expected an object.")
    instances = field_of(body, "instances") or [{}]  # the SDK sends no instances when the source is empty
    if not isinstance(instances, list) or len(instances) != 1 or not isinstance(instances[0], dict):
        raise bad("instances must hold exactly one instance object")
    inst, params = instances[0], field_of(body, "parameters") or {}
    if not isinstance(params, dict):
        raise bad("parameters must be an object")

    prompt = as_str(field_of(inst, "prompt") or "", "instances[0].prompt")
    inputs: list[dict[str, Any]] = []
    image, last_frame = field_of(inst, "image"), field_of(inst, "lastFrame")
    if image is not None:
        inputs.append({"role": "image", **_image(image, "instances[0].image", vertex)})
    if last_frame is not None:
        if image is None:
            raise bad("instances[0].lastFrame needs instances[0].image (interpolation runs from first to last frame)")
        inputs.append({"role": "lastFrame", **_image(last_frame, "instances[0].lastFrame", vertex)})
    references = field_of(inst, "referenceImages") or []
    if not isinstance(references, list):
        raise bad("instances[0].referenceImages must be a list")
    for i, ref in enumerate(references):
        where = f"instances[0].referenceImages[{i}]"
        kind = str(field_of(ref, "referenceType") or "ASSET").upper() if isinstance(ref, dict) else ""
        if kind not in (("ASSET", "STYLE") if vertex else ("ASSET",)):
            raise bad(f"{where}.referenceType {kind or ref!r} is not supported; use ASSET")
        inputs.append({"role": f"reference:{kind}", **_image(field_of(ref, "image"), f"{where}.image", vertex)})
    video, extends_file = field_of(inst, "video"), None
    if video is not None:
        uri = (field_of(video, "uri") or field_of(video, "gcsUri")) if isinstance(video, dict) else None
        raw = (
            (field_of(video, "encodedVideo") or field_of(video, "bytesBase64Encoded"))
            if isinstance(video, dict)
            else None
        )
        if not (isinstance(uri, str) and uri) and not (vertex and isinstance(raw, str) and raw):
            raise bad("instances[0].video needs the uri of a Veo-generated video")
        if isinstance(uri, str) and "files/" in uri:
            extends_file = uri.split("files/", 1)[1].split(":", 1)[0]
        inputs.append({"role": "video", "uri": uri if isinstance(uri, str) else None})
    if not prompt.strip() and image is None:
        raise bad("instances[0].prompt is required unless an image is given")
    if max(len(prompt.split()), math.ceil(len(prompt) / 4)) > MAX_PROMPT_TOKENS:
        raise bad(f"The prompt is too long: Veo reads at most {MAX_PROMPT_TOKENS} tokens")

    duration = as_int(param(params, "durationSeconds", 8), "parameters.duration_seconds")
    aspect = as_str(param(params, "aspectRatio", "16:9"), "parameters.aspect_ratio")
    resolution = as_str(param(params, "resolution", "720p"), "parameters.resolution").lower()
    samples = as_int(param(params, "sampleCount", 1), "parameters.sample_count")
    negative = as_str(param(params, "negativePrompt", ""), "parameters.negative_prompt")
    person = field_of(params, "personGeneration")
    seed = field_of(params, "seed")
    storage_uri = field_of(params, "storageUri") if vertex else None
    max_samples = VERTEX_MAX_SAMPLES if vertex else spec.max_samples

    if duration not in spec.durations:
        allowed = ", ".join(map(str, spec.durations))
        raise bad(f"durationSeconds must be one of {allowed} for {spec.id}; got {duration}")
    if aspect not in ("16:9", "9:16"):
        raise bad(f"aspectRatio must be 16:9 or 9:16; got {aspect!r}")
    if resolution not in spec.resolutions:
        raise bad(f"resolution {resolution} is not supported by {spec.id}; use {', '.join(spec.resolutions)}")
    if resolution in ("1080p", "4k") and duration != 8:
        raise bad(f"{resolution} output needs a duration of 8 s (durationSeconds 8); got {duration} s")
    if spec.hd_landscape_only and resolution == "1080p" and aspect != "16:9":
        raise bad(f"{spec.id} makes 1080p only at 16:9")
    if not 1 <= samples <= max_samples:
        raise bad(f"sampleCount must be from 1 to {max_samples} for {spec.id}; got {samples}")
    if person is not None and str(person).lower() not in ("allow_all", "allow_adult", "dont_allow"):
        raise bad(f"personGeneration must be allow_all, allow_adult or dont_allow; got {person!r}")
    if seed is not None:
        seed = as_int(seed, "parameters.seed")
        if not 0 <= seed <= 2**32 - 1:
            raise bad("seed must be from 0 to 4294967295")
    if references:
        if not spec.reference_images:
            raise bad(f"{spec.id} does not accept reference images")
        if sum(1 for r in inputs if r["role"] == "reference:ASSET") > 3:
            raise bad("At most 3 ASSET reference images are accepted")
        if duration != 8 or aspect != "16:9":
            raise bad(f"Reference images need a duration of 8 s at 16:9; got {duration} s at {aspect}")
    if video is not None:
        if not spec.extension:
            raise bad(f"{spec.id} cannot extend videos")
        if image is not None:
            raise bad("Give either a video to extend or an image, not both")
        if resolution != "720p" or duration != 8:
            raise bad(f"Video extension works only at 720p and 8 s; got {resolution} and {duration} s")
    if storage_uri is not None and not (isinstance(storage_uri, str) and GS_URI.fullmatch(storage_uri.rstrip("/"))):
        raise bad(f"storageUri must be gs://bucket[/path]; got {storage_uri!r}")
    generate_audio = field_of(params, "generateAudio")
    return Submission(
        prompt=prompt,
        negative_prompt=negative,
        parameters=params,
        inputs=inputs,
        output_seconds=8 if video is not None else duration,
        aspect_ratio=aspect,
        resolution=resolution,
        sample_count=samples,
        seed=seed,
        audio=spec.audio and generate_audio is not False,
        storage_uri=storage_uri.rstrip("/") if storage_uri else None,
        extends_file=extends_file,
    )


def valid_gcs_uri(uri: str) -> bool:
    """Whether ``uri`` is ``gs://bucket[/path]`` with no empty, ``.`` or ``..`` segment."""
    parts = uri.rstrip("/")[5:].split("/")
    return bool(GS_URI.fullmatch(uri.rstrip("/"))) and not any(p in ("", ".", "..") for p in parts)
