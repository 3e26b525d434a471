"""Reading an Omni ``interactions.create`` body (reference part 2 section 2.3) into an :class:`Ask`, refusing what
Google refuses with its 400 INVALID_ARGUMENT, and the clip-length rules of edits and extensions.

Bodies are snake_case; camelCase spellings of the same fields are accepted, as Google's JSON parser does.
Imports the standard library and the sibling modules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from standin.models import MAX_CLIP_SECONDS, OmniModel
from standin.protocol import as_bool, as_int, as_object, as_str, bad, decoded_size, unknown_field
from standin.submission import valid_gcs_uri

TASKS = ("text_to_video", "image_to_video", "reference_to_video", "edit", "extend", "upscale")
CONTINUING_TASKS = ("edit", "extend", "upscale")
"""Tasks that start from an earlier clip (``previous_interaction_id`` or one input video)."""
IMAGE_MIME_TYPES = (
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/heic",
    "image/heif",
    "image/gif",
    "image/bmp",
    "image/tiff",
)
VIDEO_MIME_TYPES = (
    "video/mp4",
    "video/mpeg",
    "video/mpg",
    "video/mov",
    "video/avi",
    "video/x-flv",
    "video/webm",
    "video/wmv",
    "video/3gpp",
)
MIN_SECONDS = 3
DEFAULT_SECONDS = 10
"""Length when ``duration`` is not given (the model's default, as reported by third parties)."""
ASSUMED_SOURCE_SECONDS = 8
"""Length the stand-in assumes for an input video it did not make (inline data or ``gs://``)."""
MAX_SOURCE_SECONDS = 10
"""Longest input video to edit or extend."""
MAX_IMAGES, MAX_VIDEOS = 10, 3
MAX_IMAGE_BYTES = 20 * 1024 * 1024

_TOP = (
    "model",
    "input",
    "response_format",
    "generation_config",
    "previous_interaction_id",
    "background",
    "store",
    "stream",
    "webhook_config",
    "labels",
    "service_tier",
)
_REFUSED = {
    "system_instruction": "System instructions are not supported for video generation; put them in the prompt.",
    "safety_settings": "safety_settings are not supported by the Interactions API.",
    "tools": "Tools are not supported for video generation.",
}
_REFUSED_CONFIG = ("temperature", "top_p", "stop_sequences", "max_output_tokens", "speech_config", "image_config")
_FILE_ID = re.compile(r"files/([a-z0-9]+)")
_DURATION = re.compile(r"(\d{1,3})s")
_EXTEND_WORDS = re.compile(r"\b(extend|extension|continue|continues|longer|then|next|after that)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Source:
    """The clip an edit, extension or upscale starts from."""

    seconds: int
    aspect_ratio: str
    prompt: str


@dataclass
class Ask:
    """A validated ``interactions.create`` request (no bytes kept)."""

    model: str
    prompt: str
    inputs: list[dict[str, Any]]
    """Type, mime type and size or uri of each input block."""
    parameters: dict[str, Any]
    """The request as sent, minus ``input``."""
    task: str
    aspect_ratio: str | None
    resolution: str
    duration: int | None
    delivery: str
    gcs_uri: str | None
    previous_id: str | None
    background: bool
    store: bool
    seed: int | None
    source_file: str | None
    """A stand-in file id: the input video an edit or extension starts from."""
    source_elsewhere: bool
    """The input video to continue is inline data or ``gs://`` (its length is assumed)."""


def _snake(obj: Any, allowed: tuple[str, ...], where: str) -> dict[str, Any]:
    """``obj`` (an object) with snake_case keys; a key outside ``allowed`` is Google's unknown-field 400."""
    out: dict[str, Any] = {}
    for key, value in as_object(obj, where).items():
        name = re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), key)
        if name not in allowed:
            raise unknown_field(key, where)
        out[name] = value
    return out


def parse_ask(body: dict[str, Any], spec: OmniModel, *, vertex: bool, gcs_root: Path | None) -> Ask:
    """Validate an ``interactions.create`` body for model ``spec``; raise 400 on the first problem."""
    for key in body:
        name = re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), key)
        if name in _REFUSED:
            raise bad(_REFUSED[name])
    top = _snake(body, _TOP, "")
    if top.get("stream"):
        raise bad("stream=true is not emulated by the VeoGen stand-in; use background=true and poll.")
    background = as_bool(top.get("background", False), "background")
    store = as_bool(top.get("store", True), "store")
    if background and not store:
        raise bad("background=true requires store=true: a background interaction must be stored to be read back.")
    if "webhook_config" in top:
        hook = _snake(top["webhook_config"], ("uris", "user_metadata"), "webhook_config")
        uris = hook.get("uris", [])
        if not isinstance(uris, list) or not all(isinstance(u, str) and u.startswith("https://") for u in uris):
            raise bad("webhook_config.uris must be a list of https URLs")
        if not background:
            raise bad("webhook_config requires background=true.")
    previous = (
        as_str(top["previous_interaction_id"], "previous_interaction_id") if "previous_interaction_id" in top else None
    )

    prompt, inputs, images, videos = _input(top.get("input"), vertex=vertex)
    fmt = _response_format(top.get("response_format"), spec, vertex=vertex, gcs_root=gcs_root)
    config = _snake(
        top.get("generation_config", {}),
        ("video_config", "seed", "thinking_level", "thinking_summaries", *_REFUSED_CONFIG),
        "generation_config",
    )
    for key in _REFUSED_CONFIG:
        if key in config:
            raise bad(f"generation_config.{key} is not supported for video generation.")
    task = _snake(config.get("video_config", {}), ("task",), "generation_config.video_config").get("task")
    if task is not None and task not in TASKS:
        raise bad(f"Invalid value at 'generation_config.video_config.task': {task!r} is not one of {', '.join(TASKS)}")
    seed = as_int(config["seed"], "generation_config.seed") if config.get("seed") is not None else None

    task = task or _infer_task(prompt, images, videos, previous)
    source_videos = [v for v in videos if task in CONTINUING_TASKS]
    if task in CONTINUING_TASKS:
        if previous is None and len(videos) != 1:
            raise bad(f"task {task} needs previous_interaction_id or exactly one input video to start from.")
        if previous is not None and videos:
            raise bad(f"Give either previous_interaction_id or an input video for task {task}, not both.")
        if not prompt.strip():
            raise bad(f"task {task} needs a text instruction.")
    elif previous is not None:
        raise bad(f"previous_interaction_id continues an earlier video; task {task} starts a new one.")
    elif task == "text_to_video" and (images or videos):
        raise bad("task text_to_video takes no images or videos; use image_to_video or reference_to_video.")
    elif task == "image_to_video" and (not 1 <= images <= 2 or videos):
        raise bad("task image_to_video takes one image (first frame) or two (first and last frame), and no video.")
    elif task == "reference_to_video" and not (images or videos):
        raise bad("task reference_to_video needs at least one reference image or video.")
    if task in ("text_to_video",) and not prompt.strip():
        raise bad("input must contain a text prompt.")

    parameters = {k: v for k, v in top.items() if k != "input"}
    source = source_videos[0] if source_videos else {}
    return Ask(
        model=spec.id,
        prompt=prompt,
        inputs=inputs,
        parameters=parameters,
        task=task,
        aspect_ratio=fmt["aspect_ratio"],
        resolution=fmt["resolution"],
        duration=fmt["duration"],
        delivery=fmt["delivery"],
        gcs_uri=fmt["gcs_uri"],
        previous_id=previous,
        background=background,
        store=store,
        seed=seed,
        source_file=source.get("file_id"),
        source_elsewhere=bool(source) and source.get("file_id") is None,
    )


def _infer_task(prompt: str, images: int, videos: list[dict[str, Any]], previous: str | None) -> str:
    """What the model would pick without ``video_config.task`` (the stand-in's deterministic guess)."""
    if previous is not None or (len(videos) == 1 and not images):
        return "extend" if _EXTEND_WORDS.search(prompt) else "edit"
    if videos or images > 2 or "<IMAGE_REF_" in prompt:
        return "reference_to_video"
    return "image_to_video" if images else "text_to_video"


def _input(value: Any, *, vertex: bool) -> tuple[str, list[dict[str, Any]], int, list[dict[str, Any]]]:
    """Text, input summaries, image count and video inputs of ``input`` (a string, blocks, or steps)."""
    if value is None:
        raise bad("input is required.")
    if isinstance(value, str):
        blocks: list[Any] = [{"type": "text", "text": value}]
    elif isinstance(value, dict):
        blocks = [value]
    elif isinstance(value, list):
        blocks = value
    else:
        raise bad("input must be a string, a content block, or a list of content blocks or steps.")
    flat: list[tuple[str, Any]] = []
    for i, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "user_input":
            content = _snake(block, ("type", "content"), f"input[{i}]").get("content") or []
            if not isinstance(content, list):
                raise bad(f"input[{i}].content must be a list of content blocks.")
            flat += [(f"input[{i}].content[{j}]", c) for j, c in enumerate(content)]
        elif kind in ("model_output", "thought"):
            continue  # earlier turns given as history: nothing to generate from
        else:
            flat.append((f"input[{i}]", block))
    texts: list[str] = []
    inputs: list[dict[str, Any]] = []
    videos: list[dict[str, Any]] = []
    images = 0
    for where, block in flat:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            texts.append(as_str(_snake(block, ("type", "text"), where).get("text"), f"{where}.text"))
            inputs.append({"type": "text", "chars": len(texts[-1])})
        elif kind == "image":
            images += 1
            inputs.append(_media(block, where, IMAGE_MIME_TYPES, vertex=vertex))
        elif kind == "video":
            video = _media(block, where, VIDEO_MIME_TYPES, vertex=vertex)
            videos.append(video)
            inputs.append(video)
        elif kind in ("audio", "document"):
            raise bad(f"{where}: {kind} inputs are not supported for video generation.")
        else:
            raise bad(f"{where}: unknown content type {kind!r}; use text, image or video.")
    if images > MAX_IMAGES or len(videos) > MAX_VIDEOS:
        raise bad(f"At most {MAX_IMAGES} images and {MAX_VIDEOS} videos per request; got {images} and {len(videos)}.")
    if not flat:
        raise bad("input must not be empty.")
    return " ".join(t for t in texts if t), inputs, images, videos


def _media(block: dict[str, Any], where: str, mime_types: tuple[str, ...], *, vertex: bool) -> dict[str, Any]:
    """Check one image or video block; keep its type, mime type and size or uri."""
    allowed = ("type", "data", "uri", "mime_type", "resolution", "processing", "name")
    fields = _snake(block, allowed, where)
    kind, mime, data, uri = fields["type"], fields.get("mime_type"), fields.get("data"), fields.get("uri")
    if (data is None) == (uri is None):
        raise bad(f"{where}: give exactly one of data or uri.")
    if mime is not None and mime not in mime_types:
        raise bad(f"{where}.mime_type must be one of {', '.join(mime_types)}, not {mime!r}")
    if data is not None:
        if mime is None:
            raise bad(f"{where}.mime_type is required with data.")
        size = decoded_size(data, f"{where}.data")
        if kind == "image" and size > MAX_IMAGE_BYTES:
            raise bad(f"{where} holds {size} bytes; images may hold at most {MAX_IMAGE_BYTES // 2**20} MB.")
        return {"type": kind, "mime_type": mime, "size_bytes": size}
    uri = as_str(uri, f"{where}.uri")
    found = _FILE_ID.search(uri)
    if uri.startswith("gs://") and vertex:
        return {"type": kind, "mime_type": mime, "uri": uri}
    if found is None or "youtube" in uri:
        surface = "a Files API uri (…/files/<id>)" + (" or gs://" if vertex else "")
        raise bad(f"{where}.uri must be {surface}; got {uri!r}")
    return {"type": kind, "mime_type": mime, "uri": uri, "file_id": found.group(1)}


def _response_format(value: Any, spec: OmniModel, *, vertex: bool, gcs_root: Path | None) -> dict[str, Any]:
    """The video response format's fields, with defaults; the list form may hold one video format."""
    formats = value if isinstance(value, list) else [value if value is not None else {}]
    if len(formats) != 1:
        raise bad("response_format: give exactly one video format.")
    keys = ("type", "aspect_ratio", "resolution", "duration", "delivery", "gcs_uri")
    fmt = _snake(formats[0], keys, "response_format")
    if fmt.get("type", "video") != "video":
        raise bad(f"{spec.id} makes video only; response_format.type {fmt['type']!r} is not supported.")
    aspect = fmt.get("aspect_ratio")
    if aspect is not None and aspect not in ("16:9", "9:16"):
        raise bad(f"response_format.aspect_ratio must be 16:9 or 9:16, not {aspect!r}")
    resolution = fmt.get("resolution", "720p")
    if resolution not in spec.resolutions:
        raise bad(
            f"response_format.resolution must be one of {', '.join(spec.resolutions)} for {spec.id}, not {resolution!r}"
        )
    duration = None
    if fmt.get("duration") is not None:
        matched = _DURATION.fullmatch(str(fmt["duration"]))
        duration = int(matched.group(1)) if matched else 0
        if not MIN_SECONDS <= duration <= spec.max_seconds:
            raise bad(
                f'response_format.duration must be from "{MIN_SECONDS}s" to "{spec.max_seconds}s" for {spec.id}; '
                f"got {fmt['duration']!r}"
            )
    delivery = fmt.get("delivery", "inline")
    if delivery not in ("inline", "uri"):
        raise bad(f"response_format.delivery must be inline or uri, not {delivery!r}")
    gcs_uri = fmt.get("gcs_uri")
    if gcs_uri is not None:
        if not vertex:
            raise bad("response_format.gcs_uri is only supported on Vertex AI.")
        if not isinstance(gcs_uri, str) or not valid_gcs_uri(gcs_uri):
            raise bad(f"response_format.gcs_uri must be gs://bucket[/path]; got {gcs_uri!r}")
        if gcs_root is None:
            raise bad("response_format.gcs_uri was given but this stand-in has no gcs_root to write gs:// outputs into")
    if vertex and delivery == "uri" and gcs_uri is None:
        raise bad("response_format.gcs_uri is required on Vertex AI when delivery is uri.")
    return {
        "aspect_ratio": aspect,
        "resolution": resolution,
        "duration": duration,
        "delivery": delivery,
        "gcs_uri": gcs_uri.rstrip("/") if isinstance(gcs_uri, str) else None,
    }


def seconds_of(ask: Ask, source: Source | None) -> tuple[int, int]:
    """(whole clip, seconds generated now): an extension adds to the source, up to :data:`MAX_CLIP_SECONDS`;
    an edit or upscale keeps the source's length."""
    if ask.task == "extend" and source is not None:
        added = ask.duration or DEFAULT_SECONDS
        total = source.seconds + added
        if total > MAX_CLIP_SECONDS:
            raise bad(
                f"Extending the {source.seconds} s video by {added} s would make it {total} s long; "
                f"extensions may reach at most {MAX_CLIP_SECONDS} s in total."
            )
        return total, added
    if ask.task in CONTINUING_TASKS and source is not None:
        return source.seconds, source.seconds
    length = ask.duration or DEFAULT_SECONDS
    return length, length
