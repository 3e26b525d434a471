"""VeoStandIn: a local HTTP server that speaks Veo's REST protocol. It is not Google.

It answers the calls the unmodified google-genai 2.x client makes for Veo — start
(``:predictLongRunning``), poll (``GET operations/…`` or Vertex ``:fetchPredictOperation``),
download (``files/{id}:download``), plus ``models`` and ``:generateContent`` — in the
shapes of reference/veo-protocol.md sections 1–6 and 10. Faults (quota 429s, 5xx,
safety filters, failed or empty or expired operations, slow jobs) are switched on
through :class:`Behaviour` or by keywords in the prompt.

Videos are real MP4s drawn by the project's offline renderer, rendered on first use
and cached on disk by content; a job keeps no image or video bytes (about 2 KB each).

Imports the standard library and, lazily, ``core.providers.offline`` (numpy, PyAV,
Pillow); never google-genai, streamlit, pages or workers.
"""

from __future__ import annotations

import base64
import binascii
import collections
import copy
import dataclasses
import hashlib
import heapq
import json
import logging
import math
import os
import re
import secrets
import shutil
import string
import tempfile
import threading
import time
import types
import typing
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger("standin")

FILE_URI = "https://generativelanguage.googleapis.com/v1beta/files/{id}:download?alt=media"
"""What a finished Gemini operation advertises; the SDK keeps only the id and asks its own base URL."""

ENHANCE_SUFFIX = ", cinematic lighting, 35mm, shallow depth of field, smooth camera motion"
"""Appended to the user's text by ``:generateContent`` (see :func:`enhance_prompt`)."""

DEFAULT_FILTER_REASON = (
    "Your prompt could not be turned into a video because of our safety policies. "
    "You have not been charged. Try rephrasing it. Support codes: 58061214"
)
DEFAULT_ERROR_MESSAGE = "Video generation failed due to an internal error. Please try again."
OUTCOMES = ("success", "filtered", "error", "no_video", "expired")
PROMPT_TRIGGERS = {"[[rai]]": "filtered", "[[fail]]": "error", "[[novideo]]": "no_video", "[[expire]]": "expired"}
"""Prompt keywords that override ``Behaviour.outcome`` for one job; ``[[slow]]`` multiplies latency by 10."""

RENDER_RESOLUTIONS = ("240p", "360p", "720p", "1080p")
"""Resolutions the offline renderer draws; anything else requested is drawn at 240p."""

MAX_PROMPT_TOKENS = 1024
MAX_IMAGE_BYTES = 20 * 1024 * 1024
"""Largest decoded input image, in bytes."""
MAX_BODY_BYTES = 64 * 1024 * 1024
"""Largest request body accepted, in bytes."""
IMAGE_MIME_TYPES = ("image/png", "image/jpeg", "image/webp")
VERTEX_MAX_SAMPLES = 4
RPM_WINDOW_SECONDS = 60.0
IDLE_CONNECTION_SECONDS = 120
"""A keep-alive connection idle this long is closed, freeing its thread."""

_GEMINI_RESPONSE_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse"
_VERTEX_RESPONSE_TYPE = "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"
_ID_ALPHABET = string.ascii_lowercase + string.digits
_FILE_ID = re.compile(r"[a-z0-9]{12}")
_GS_URI = re.compile(r"gs://(?P<bucket>[a-z0-9][a-z0-9._-]{1,221}[a-z0-9])(?:/(?P<path>.*))?")
_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_5XX_MESSAGES = {
    500: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
    504: "The request timed out. Please try again.",
}


# --- catalogue -----------------------------------------------------------------------


@dataclass(frozen=True)
class VeoModel:
    """What one Veo model accepts on the Gemini API (reference section 8)."""

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


_V31: dict[str, Any] = {"reference_images": True, "extension": True}
VEO_MODELS: dict[str, VeoModel] = {
    m.id: m
    for m in (
        VeoModel("veo-3.1-generate-preview", "Veo 3.1 (preview)", **_V31),
        VeoModel("veo-3.1-fast-generate-preview", "Veo 3.1 Fast (preview)", **_V31),
        VeoModel("veo-3.1-generate-001", "Veo 3.1", **_V31),
        VeoModel("veo-3.1-fast-generate-001", "Veo 3.1 Fast", **_V31),
        VeoModel("veo-3.1-lite-generate-preview", "Veo 3.1 Lite (preview)", resolutions=("720p", "1080p")),
        VeoModel("veo-3.0-generate-001", "Veo 3", resolutions=("720p", "1080p"), hd_landscape_only=True),
        VeoModel("veo-3.0-fast-generate-001", "Veo 3 Fast", resolutions=("720p", "1080p"), hd_landscape_only=True),
        VeoModel("veo-2.0-generate-001", "Veo 2", (5, 6, 7, 8), ("720p",), max_samples=2, audio=False),
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
"""Listed by ``GET models``; ``:generateContent`` answers for any id starting with ``gemini-``."""


def enhance_prompt(text: str) -> str:
    """Return the stand-in's deterministic "improved prompt": the text plus :data:`ENHANCE_SUFFIX`."""
    return text.strip().rstrip(".!,;: ") + ENHANCE_SUFFIX


# --- knobs and counters ----------------------------------------------------------------


@dataclass
class Behaviour:
    """Switches a test flips; outcome, latency and poll counts are fixed per job when it is submitted."""

    latency_seconds: float = 0.0
    """Time from submit until the operation may be done."""
    submit_answer_delay_seconds: float = 0.0
    """How long an accepted submit waits before answering: the job exists, the answer is late (lost if the
    caller dies meanwhile)."""
    polls_before_done: int = 0
    """Polls answered "pending" before the operation is done."""
    submit_429_count: int = 0
    """The next N submits get 429 RESOURCE_EXHAUSTED (counts down)."""
    retry_delay_seconds: int = 2
    """The ``RetryInfo.retryDelay`` sent with 429s."""
    submit_5xx_count: int = 0
    """The next N submits get ``submit_5xx_code`` (counts down)."""
    submit_5xx_code: int = 503
    poll_5xx_count: int = 0
    """The next N polls get ``poll_5xx_code`` (counts down)."""
    poll_5xx_code: int = 503
    rpm_limit: int | None = None
    """Accepted submits per rolling minute; more get 429. None means no limit."""
    max_concurrent: int | None = None
    """Operations not yet done; a submit beyond this gets 429. None means no limit."""
    outcome: str = "success"
    """success | filtered | error | no_video | expired."""
    filter_reasons: list[str] = field(default_factory=lambda: [DEFAULT_FILTER_REASON])
    error_code: int = 13
    """gRPC code put in a failed operation's ``error``."""
    error_message: str = DEFAULT_ERROR_MESSAGE
    download_expired: bool = False
    """Every download answers 404, as after Google's 2-day retention."""
    retention_seconds: float = 2 * 24 * 3600
    """Age after which operations and their files answer 404."""
    redirect_downloads: bool = False
    """Downloads answer 302 to ``/blob/{id}``, which serves the bytes."""
    generate_content_fail: bool = False
    """``:generateContent`` answers 503."""
    render_resolution: str = "240p"
    """240p | 360p | 720p | 1080p, or "requested" to draw at the request's resolution when the renderer knows it."""

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_HINTS = typing.get_type_hints(Behaviour)


def _checked(name: str, value: Any) -> Any:
    """Return ``value`` fit for knob ``name``, or raise ValueError saying why not."""
    if name not in _HINTS:
        raise ValueError(f"unknown setting {name!r}; known: {', '.join(_HINTS)}")
    hint = _HINTS[name]
    allowed = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if value is None and type(None) in allowed:
        return None
    if float in allowed and is_number and math.isfinite(value) and value >= 0:
        return float(value)
    if int in allowed and isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        if name.endswith("_5xx_code") and value not in _5XX_MESSAGES:
            raise ValueError(f"{name} must be one of {sorted(_5XX_MESSAGES)}")
        return value
    if bool in allowed and isinstance(value, bool):
        return value
    if str in allowed and isinstance(value, str):
        choices = {"outcome": OUTCOMES, "render_resolution": (*RENDER_RESOLUTIONS, "requested")}.get(name)
        if choices and value not in choices:
            raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
        return value
    if list[str] in allowed and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ValueError(f"{name} cannot be {value!r} (expected {hint}, not negative)")


@dataclass(frozen=True)
class Stats:
    """A snapshot of what the stand-in has seen since start or the last reset."""

    submissions: int
    """Accepted submits, i.e. operations created (each would be paid for)."""
    submissions_per_prompt: dict[str, int]
    submit_requests: int
    """Every submit request that passed auth, accepted or not."""
    rejected_submits: dict[str, int]
    """Refused submits by HTTP status, e.g. {"429": 2}."""
    seconds_generated: dict[str, float]
    """Per model: seconds × samples of operations that finished successfully."""
    polls: int
    downloads: int
    """Video bodies served."""
    generate_content_calls: int
    in_flight: int
    """Operations submitted and not yet done."""
    peak_in_flight: int

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(slots=True)
class _Job:
    """One accepted operation; small on purpose (no image bytes)."""

    id: str
    name: str
    model: str
    vertex: bool
    prompt: str
    negative_prompt: str
    parameters: dict[str, Any]
    inputs: list[dict[str, Any]]
    created: float
    """Unix time."""
    started: float
    """Monotonic time."""
    ready_at: float
    polls_needed: int
    outcome: str
    filter_reasons: tuple[str, ...]
    error: dict[str, Any]
    duration: int
    aspect_ratio: str
    render_resolution: str
    sample_count: int
    seed: int | None
    audio: bool
    storage_uri: str | None
    file_ids: tuple[str, ...]
    pending_answers: int = 0
    settled: bool = False

    def is_done(self, now: float) -> bool:
        return now >= self.ready_at and self.pending_answers >= self.polls_needed

    def summary(self) -> dict[str, Any]:
        keys = ("name", "model", "vertex", "prompt", "created", "outcome")
        return {k: getattr(self, k) for k in keys} | {
            "parameters": dict(self.parameters),
            "inputs": [dict(i) for i in self.inputs],
            "file_ids": list(self.file_ids),
            "done": self.settled,
        }


class _Fail(Exception):
    """An answer in Google's error envelope."""

    def __init__(self, code: int, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details or []

    def envelope(self) -> dict[str, Any]:
        status = _STATUS.get(self.code, "UNKNOWN")
        return {"error": {"code": self.code, "message": self.message, "status": status, "details": self.details}}


def _bad(message: str) -> _Fail:
    return _Fail(400, message)


@dataclass
class _Reply:
    status: int = 200
    body: dict[str, Any] | bytes | Path = b""
    content_type: str = "application/json; charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)


# --- request parsing -------------------------------------------------------------------


def _get(obj: dict[str, Any], camel: str) -> Any:
    """Read a proto-JSON field under its camelCase or snake_case name."""
    if camel in obj:
        return obj[camel]
    return obj.get(re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), camel))


def _param(obj: dict[str, Any], camel: str, default: Any) -> Any:
    value = _get(obj, camel)
    return default if value is None else value


def _as_int(value: Any, where: str) -> int:
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or not number.is_integer():
        raise _bad(f"Invalid value at '{where}' (TYPE_INT32), {json.dumps(value)}")
    return int(number)


def _as_str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _bad(f"Invalid value at '{where}' (TYPE_STRING), {json.dumps(value)}")
    return value


def _image(value: Any, where: str, vertex: bool) -> dict[str, Any]:
    """Check one Image JSON and return what is kept of it: its mime type and size."""
    if not isinstance(value, dict):
        raise _bad(f"Invalid value at '{where}': expected an image object")
    mime = _get(value, "mimeType")
    if mime not in IMAGE_MIME_TYPES:
        raise _bad(f"{where}.mimeType must be one of {', '.join(IMAGE_MIME_TYPES)}, not {mime!r}")
    encoded, gcs = _get(value, "bytesBase64Encoded"), _get(value, "gcsUri")
    if vertex and isinstance(gcs, str) and gcs.startswith("gs://"):
        return {"mime_type": mime, "gcs_uri": gcs}
    if not isinstance(encoded, str) or not encoded:
        raise _bad(f"{where} needs bytesBase64Encoded" + (" or gcsUri" if vertex else ""))
    try:
        size = len(base64.b64decode(encoded.replace("-", "+").replace("_", "/"), validate=True))
    except (binascii.Error, ValueError) as exc:
        raise _bad(f"{where}.bytesBase64Encoded is not valid base64") from exc
    if not 0 < size <= MAX_IMAGE_BYTES:
        raise _bad(f"{where} must hold 1 byte to {MAX_IMAGE_BYTES // 2**20} MB of image data, not {size} bytes")
    return {"mime_type": mime, "size_bytes": size}


@dataclass
class _Submission:
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


def _parse_submission(spec: VeoModel, body: Any, *, vertex: bool) -> _Submission:
    """Validate a ``:predictLongRunning`` body against the model's rules; raise 400 on the first problem."""
    if not isinstance(body, dict):
        raise _bad("Invalid JSON payload received. Expected an object.")
    instances = _get(body, "instances") or [{}]  # the SDK sends no instances when the source is empty
    if not isinstance(instances, list) or len(instances) != 1 or not isinstance(instances[0], dict):
        raise _bad("instances must hold exactly one instance object")
    inst, params = instances[0], _get(body, "parameters") or {}
    if not isinstance(params, dict):
        raise _bad("parameters must be an object")

    prompt = _as_str(_get(inst, "prompt") or "", "instances[0].prompt")
    inputs: list[dict[str, Any]] = []
    image, last_frame = _get(inst, "image"), _get(inst, "lastFrame")
    if image is not None:
        inputs.append({"role": "image", **_image(image, "instances[0].image", vertex)})
    if last_frame is not None:
        if image is None:
            raise _bad("instances[0].lastFrame needs instances[0].image (interpolation runs from first to last frame)")
        inputs.append({"role": "lastFrame", **_image(last_frame, "instances[0].lastFrame", vertex)})
    references = _get(inst, "referenceImages") or []
    if not isinstance(references, list):
        raise _bad("instances[0].referenceImages must be a list")
    for i, ref in enumerate(references):
        where = f"instances[0].referenceImages[{i}]"
        kind = str(_get(ref, "referenceType") or "ASSET").upper() if isinstance(ref, dict) else ""
        if kind not in (("ASSET", "STYLE") if vertex else ("ASSET",)):
            raise _bad(f"{where}.referenceType {kind or ref!r} is not supported; use ASSET")
        inputs.append({"role": f"reference:{kind}", **_image(_get(ref, "image"), f"{where}.image", vertex)})
    video, extends_file = _get(inst, "video"), None
    if video is not None:
        uri = (_get(video, "uri") or _get(video, "gcsUri")) if isinstance(video, dict) else None
        raw = (_get(video, "encodedVideo") or _get(video, "bytesBase64Encoded")) if isinstance(video, dict) else None
        if not (isinstance(uri, str) and uri) and not (vertex and isinstance(raw, str) and raw):
            raise _bad("instances[0].video needs the uri of a Veo-generated video")
        if isinstance(uri, str) and "files/" in uri:
            extends_file = uri.split("files/", 1)[1].split(":", 1)[0]
        inputs.append({"role": "video", "uri": uri if isinstance(uri, str) else None})
    if not prompt.strip() and image is None:
        raise _bad("instances[0].prompt is required unless an image is given")
    if max(len(prompt.split()), math.ceil(len(prompt) / 4)) > MAX_PROMPT_TOKENS:
        raise _bad(f"The prompt is too long: Veo reads at most {MAX_PROMPT_TOKENS} tokens")

    duration = _as_int(_param(params, "durationSeconds", 8), "parameters.duration_seconds")
    aspect = _as_str(_param(params, "aspectRatio", "16:9"), "parameters.aspect_ratio")
    resolution = _as_str(_param(params, "resolution", "720p"), "parameters.resolution").lower()
    samples = _as_int(_param(params, "sampleCount", 1), "parameters.sample_count")
    negative = _as_str(_param(params, "negativePrompt", ""), "parameters.negative_prompt")
    person = _get(params, "personGeneration")
    seed = _get(params, "seed")
    storage_uri = _get(params, "storageUri") if vertex else None
    max_samples = VERTEX_MAX_SAMPLES if vertex else spec.max_samples

    if duration not in spec.durations:
        allowed = ", ".join(map(str, spec.durations))
        raise _bad(f"durationSeconds must be one of {allowed} for {spec.id}; got {duration}")
    if aspect not in ("16:9", "9:16"):
        raise _bad(f"aspectRatio must be 16:9 or 9:16; got {aspect!r}")
    if resolution not in spec.resolutions:
        raise _bad(f"resolution {resolution} is not supported by {spec.id}; use {', '.join(spec.resolutions)}")
    if resolution in ("1080p", "4k") and duration != 8:
        raise _bad(f"{resolution} output needs a duration of 8 s (durationSeconds 8); got {duration} s")
    if spec.hd_landscape_only and resolution == "1080p" and aspect != "16:9":
        raise _bad(f"{spec.id} makes 1080p only at 16:9")
    if not 1 <= samples <= max_samples:
        raise _bad(f"sampleCount must be from 1 to {max_samples} for {spec.id}; got {samples}")
    if person is not None and str(person).lower() not in ("allow_all", "allow_adult", "dont_allow"):
        raise _bad(f"personGeneration must be allow_all, allow_adult or dont_allow; got {person!r}")
    if seed is not None:
        seed = _as_int(seed, "parameters.seed")
        if not 0 <= seed <= 2**32 - 1:
            raise _bad("seed must be from 0 to 4294967295")
    if references:
        if not spec.reference_images:
            raise _bad(f"{spec.id} does not accept reference images")
        if sum(1 for r in inputs if r["role"] == "reference:ASSET") > 3:
            raise _bad("At most 3 ASSET reference images are accepted")
        if duration != 8 or aspect != "16:9":
            raise _bad(f"Reference images need a duration of 8 s at 16:9; got {duration} s at {aspect}")
    if video is not None:
        if not spec.extension:
            raise _bad(f"{spec.id} cannot extend videos")
        if image is not None:
            raise _bad("Give either a video to extend or an image, not both")
        if resolution != "720p" or duration != 8:
            raise _bad(f"Video extension works only at 720p and 8 s; got {resolution} and {duration} s")
    if storage_uri is not None and not (isinstance(storage_uri, str) and _GS_URI.fullmatch(storage_uri.rstrip("/"))):
        raise _bad(f"storageUri must be gs://bucket[/path]; got {storage_uri!r}")
    generate_audio = _get(params, "generateAudio")
    return _Submission(
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


# --- the server ------------------------------------------------------------------------

_V = r"/(?P<version>v\d+[a-z0-9]*)"
_VERTEX_MODEL = _V + r"/(?P<parent>(?:projects/[^/]+/locations/[^/]+/)?)publishers/google/models/(?P<model>[^/:]+)"
_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (m, re.compile(p), h)
    for m, p, h in (
        ("GET", r"/_standin/health", "_health"),
        ("GET", r"/_standin/config", "_get_config"),
        ("POST", r"/_standin/config", "_post_config"),
        ("GET", r"/_standin/stats", "_get_stats"),
        ("GET", r"/_standin/jobs", "_get_jobs"),
        ("POST", r"/_standin/reset", "_post_reset"),
        ("GET", r"/blob/(?P<file_id>[^/]+)", "_blob"),
        ("POST", _V + r"/models/(?P<model>[^/:]+):predictLongRunning", "_gemini_submit"),
        ("GET", _V + r"/models/(?P<model>[^/:]+)/operations/(?P<op>[^/:]+)", "_gemini_poll"),
        ("GET", _V + r"/files/(?P<file_id>[^/:]+):download", "_download"),
        ("GET", _V + r"/models", "_list_models"),
        ("GET", _V + r"/models/(?P<model>[^/:]+)", "_get_model"),
        ("POST", _V + r"/models/(?P<model>[^/:]+):generateContent", "_generate_content"),
        ("POST", _VERTEX_MODEL + r":predictLongRunning", "_vertex_submit"),
        ("POST", _VERTEX_MODEL + r":fetchPredictOperation", "_vertex_poll"),
    )
]


class VeoStandIn:
    """A Veo REST stand-in on ``host:port`` (port 0 picks a free one); see the package README.

    ``gcs_root`` maps Vertex ``gs://bucket/path`` outputs to ``gcs_root/bucket/path``.
    """

    def __init__(
        self,
        api_key: str = "test-key",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        gcs_root: Path | str | None = None,
        behaviour: Behaviour | None = None,
        cache_dir: Path | str | None = None,
    ) -> None:
        self.api_key = api_key
        self.host, self.port = host, port
        self.gcs_root = Path(gcs_root) if gcs_root is not None else None
        self._lock = threading.Lock()
        self._initial = {k: _checked(k, v) for k, v in (behaviour or Behaviour()).as_dict().items()}
        self._behaviour = Behaviour(**self._initial)
        self._own_cache = cache_dir is None
        self._cache_dir = Path(cache_dir) if cache_dir else Path(tempfile.mkdtemp(prefix="veo-standin-"))
        self._render_locks: dict[str, threading.Lock] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._clear()

    # lifecycle

    def start(self) -> VeoStandIn:
        """Serve in a daemon thread and return self."""
        if self._server is None:
            self._cache_dir.mkdir(parents=True, exist_ok=True)
            self._server = _Server((self.host, self.port), _Handler)
            self._server.standin = self
            self.port = self._server.server_address[1]
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,), name="veo-standin", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and delete the render cache if the stand-in made it."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
        if self._own_cache:
            shutil.rmtree(self._cache_dir, ignore_errors=True)

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (for ``python -m standin``)."""
        self.start()
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host  # noqa: S104 (a wildcard bind)
        return f"http://{host}:{self.port}"

    def __enter__(self) -> VeoStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # control

    @property
    def behaviour(self) -> Behaviour:
        """A copy of the current knobs."""
        with self._lock:
            return dataclasses.replace(self._behaviour, filter_reasons=list(self._behaviour.filter_reasons))

    def configure(self, **changes: Any) -> Behaviour:
        """Change knobs by name (all or none); raise ValueError on an unknown name or bad value."""
        checked = {name: _checked(name, value) for name, value in changes.items()}
        with self._lock:
            self._behaviour = dataclasses.replace(self._behaviour, **checked)
        return self.behaviour

    def reset(self) -> None:
        """Forget every job and counter and restore the knobs given at construction (the render cache stays)."""
        with self._lock:
            self._behaviour = Behaviour(**copy.deepcopy(self._initial))
            self._clear()

    def stats(self) -> Stats:
        with self._lock:
            self._settle(time.monotonic())
            return Stats(
                submissions=sum(self._per_prompt.values()),
                submissions_per_prompt=dict(self._per_prompt),
                submit_requests=self._submit_requests,
                rejected_submits=dict(self._rejected),
                seconds_generated=dict(self._seconds),
                polls=self._polls,
                downloads=self._downloads,
                generate_content_calls=self._text_calls,
                in_flight=len(self._in_flight),
                peak_in_flight=self._peak,
            )

    def jobs(self) -> list[dict[str, Any]]:
        """Every accepted job, oldest first: model, prompt, parameters as sent, inputs (mime and size only)."""
        with self._lock:
            self._settle(time.monotonic())
            return [job.summary() for job in self._jobs.values()]

    def _clear(self) -> None:
        self._jobs: dict[str, _Job] = {}
        self._files: dict[str, tuple[str, int]] = {}
        self._in_flight: set[str] = set()
        self._due: list[tuple[float, str]] = []  # (ready_at, op id) of jobs not yet settled
        self._recent: collections.deque[float] = collections.deque()
        self._per_prompt: collections.Counter[str] = collections.Counter()
        self._rejected: collections.Counter[str] = collections.Counter()
        self._seconds: dict[str, float] = {}
        self._submit_requests = self._polls = self._downloads = self._text_calls = self._peak = 0

    # dispatch

    def _handle(self, method: str, target: str, headers: Any, raw: bytes) -> _Reply:
        parts = urlsplit(target)
        path, query = unquote(parts.path), parse_qs(parts.query)
        for route_method, pattern, handler in _ROUTES:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                return getattr(self, handler)(match.groupdict(), headers, query, raw)
        raise _Fail(404, f"The requested URL {method} {path} was not found on this server (VeoGen Veo stand-in).")

    # auth

    def _gemini_auth(self, headers: Any, query: dict[str, list[str]]) -> None:
        key = (headers.get("x-goog-api-key") or (query.get("key") or [""])[0]).strip()
        if not key:
            raise _Fail(
                403,
                "Method doesn't allow unregistered callers (callers without established identity). "
                "Please use API Key or other form of API consumer identity to call this API.",
            )
        if key != self.api_key:
            raise _Fail(
                400,
                "API key not valid. Please pass a valid API key.",
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                        "metadata": {"service": "generativelanguage.googleapis.com"},
                    },
                    {
                        "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                        "locale": "en-US",
                        "message": "API key not valid. Please pass a valid API key.",
                    },
                ],
            )

    def _vertex_auth(self, headers: Any, query: dict[str, list[str]]) -> None:
        scheme, _, token = (headers.get("authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return
        if headers.get("x-goog-api-key") or query.get("key"):
            self._gemini_auth(headers, query)
            return
        raise _Fail(
            401,
            "Request is missing required authentication credential. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential.",
            [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "CREDENTIALS_MISSING"}],
        )

    # Veo: submit

    def _gemini_submit(self, m: dict[str, str], headers: Any, query: Any, raw: bytes) -> _Reply:
        self._gemini_auth(headers, query)
        return self._submit(m["model"], m["version"], _json(raw), vertex_parent=None)

    def _vertex_submit(self, m: dict[str, str], headers: Any, query: Any, raw: bytes) -> _Reply:
        self._vertex_auth(headers, query)
        return self._submit(m["model"], m["version"], _json(raw), vertex_parent=m["parent"])

    def _submit(self, model: str, version: str, body: Any, *, vertex_parent: str | None) -> _Reply:
        with self._lock:
            self._submit_requests += 1
        try:
            name = self._create_job(model, version, body, vertex_parent)
            with self._lock:
                delay = self._behaviour.submit_answer_delay_seconds
            if delay:
                time.sleep(delay)
            return _Reply(body={"name": name})
        except _Fail as fail:
            with self._lock:
                self._rejected[str(fail.code)] += 1
            raise

    def _create_job(self, model: str, version: str, body: Any, vertex_parent: str | None) -> str:
        spec = VEO_MODELS.get(model)
        if spec is None:
            if model.startswith("gemini-"):
                raise _bad(f"models/{model} does not support predictLongRunning; use generateContent")
            raise _Fail(
                404,
                f"models/{model} is not found for API version {version}, or is not supported for "
                "predictLongRunning. Call ListModels to see the list of available models and their supported methods.",
            )
        vertex = vertex_parent is not None
        sub = _parse_submission(spec, body, vertex=vertex)
        if sub.storage_uri and self.gcs_root is None:
            raise _bad("storageUri was given but this stand-in has no gcs_root to write gs:// outputs into")
        if sub.storage_uri and any(p in ("", ".", "..") for p in sub.storage_uri[5:].split("/")):
            raise _bad(f"storageUri {sub.storage_uri!r} has an empty, '.' or '..' path segment")
        with self._lock:
            now = time.monotonic()
            self._settle(now)
            if sub.extends_file is not None and self._video_job(sub.extends_file, now) is None:
                raise _bad("instances[0].video does not name a Veo video generated in the last 2 days")
            b = self._behaviour
            if b.submit_5xx_count > 0:
                b.submit_5xx_count -= 1
                raise _Fail(b.submit_5xx_code, _5XX_MESSAGES[b.submit_5xx_code])
            if b.submit_429_count > 0:
                b.submit_429_count -= 1
                raise _quota(model, "PerMinute", b.retry_delay_seconds, 10)
            while self._recent and self._recent[0] <= now - RPM_WINDOW_SECONDS:
                self._recent.popleft()
            if b.rpm_limit is not None and len(self._recent) >= b.rpm_limit:
                wait = max(1, math.ceil(self._recent[0] + RPM_WINDOW_SECONDS - now))
                raise _quota(model, "PerMinute", wait, b.rpm_limit)
            if b.max_concurrent is not None and len(self._in_flight) >= b.max_concurrent:
                raise _quota(model, "Concurrent", b.retry_delay_seconds, b.max_concurrent)

            op_id = self._new_id()
            outcome = next((o for k, o in PROMPT_TRIGGERS.items() if k in sub.prompt), b.outcome)
            latency = b.latency_seconds * (10 if "[[slow]]" in sub.prompt else 1)
            prefix = f"{vertex_parent}publishers/google/models/{model}" if vertex else f"models/{model}"
            render = b.render_resolution
            if render == "requested":
                render = sub.resolution if sub.resolution in RENDER_RESOLUTIONS else "240p"
            job = _Job(
                id=op_id,
                name=f"{prefix}/operations/{op_id}",
                model=model,
                vertex=vertex,
                prompt=sub.prompt,
                negative_prompt=sub.negative_prompt,
                parameters=sub.parameters,
                inputs=sub.inputs,
                created=time.time(),
                started=now,
                ready_at=now + latency,
                polls_needed=b.polls_before_done,
                outcome=outcome,
                filter_reasons=tuple(b.filter_reasons),
                error={"code": b.error_code, "message": b.error_message},
                duration=sub.output_seconds,
                aspect_ratio=sub.aspect_ratio,
                render_resolution=render,
                sample_count=sub.sample_count,
                seed=sub.seed,
                audio=sub.audio,
                storage_uri=sub.storage_uri,
                file_ids=tuple(self._new_id() for _ in range(sub.sample_count)) if not vertex else (),
            )
            self._jobs[op_id] = job
            for index, file_id in enumerate(job.file_ids):
                self._files[file_id] = (op_id, index)
            self._per_prompt[sub.prompt] += 1
            self._recent.append(now)
            self._in_flight.add(op_id)
            heapq.heappush(self._due, (job.ready_at, op_id))
            self._peak = max(self._peak, len(self._in_flight))
            log.info("accepted %s (%s, outcome %s)", job.name, model, outcome)
            return job.name

    def _new_id(self) -> str:
        while True:
            new = "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))
            if new not in self._jobs and new not in self._files:
                return new

    def _settle(self, now: float) -> None:
        """Retire finished operations from the in-flight set and count the seconds they made."""
        while self._due and self._due[0][0] <= now:
            job = self._jobs.get(heapq.heappop(self._due)[1])
            if job is not None and job.is_done(now):  # else it still owes polls; _poll settles it
                self._settle_job(job)

    def _settle_job(self, job: _Job) -> None:
        if not job.settled:
            job.settled = True
            self._in_flight.discard(job.id)
            if job.outcome == "success":
                self._seconds[job.model] = self._seconds.get(job.model, 0.0) + job.duration * job.sample_count

    # Veo: poll

    def _gemini_poll(self, m: dict[str, str], headers: Any, query: Any, raw: bytes) -> _Reply:
        self._gemini_auth(headers, query)
        return self._poll(f"models/{m['model']}/operations/{m['op']}", vertex=False)

    def _vertex_poll(self, m: dict[str, str], headers: Any, query: Any, raw: bytes) -> _Reply:
        self._vertex_auth(headers, query)
        body = _json(raw)
        name = _get(body, "operationName") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name:
            raise _bad("operationName is required")
        resource = f"{m['parent']}publishers/google/models/{m['model']}"
        if name.rpartition("/operations/")[0] != resource:
            raise _bad(f"operationName {name!r} does not belong to {resource}")
        return self._poll(name, vertex=True)

    def _poll(self, name: str, *, vertex: bool) -> _Reply:
        with self._lock:
            self._polls += 1
            b = self._behaviour
            if b.poll_5xx_count > 0:
                b.poll_5xx_count -= 1
                raise _Fail(b.poll_5xx_code, _5XX_MESSAGES[b.poll_5xx_code])
            now = time.monotonic()
            job = self._jobs.get(name.rpartition("/")[2])
            if job is None or job.name != name or job.vertex != vertex or now - job.started > b.retention_seconds:
                raise _Fail(404, f"Operation {name} was not found.")
            if not job.is_done(now):
                job.pending_answers += 1
                if job.is_done(now):
                    self._settle_job(job)
                return _Reply(body={"name": job.name})
            self._settle_job(job)
        done: dict[str, Any] = {"name": job.name, "done": True}
        if job.outcome == "expired":
            raise _Fail(404, f"Operation {name} was not found.")
        if job.outcome == "error":
            return _Reply(body=done | {"error": dict(job.error)})
        result: dict[str, Any] = {}
        if job.outcome == "filtered":
            result = {"raiMediaFilteredCount": job.sample_count, "raiMediaFilteredReasons": list(job.filter_reasons)}
        elif job.outcome == "success" and vertex:
            videos = [self._vertex_video(job, i) for i in range(job.sample_count)]
            result = {"raiMediaFilteredCount": 0, "videos": videos}
        elif job.outcome == "success":
            result = {"generatedSamples": [{"video": {"uri": FILE_URI.format(id=f)}} for f in job.file_ids]}
        if vertex:
            return _Reply(body=done | {"response": {"@type": _VERTEX_RESPONSE_TYPE, **result}})
        if job.outcome == "no_video":  # the "done but response is None" of python-genai #1559
            return _Reply(body=done | {"response": {"@type": _GEMINI_RESPONSE_TYPE}})
        return _Reply(body=done | {"response": {"@type": _GEMINI_RESPONSE_TYPE, "generateVideoResponse": result}})

    def _vertex_video(self, job: _Job, index: int) -> dict[str, str]:
        path = self._render(job, index)
        if job.storage_uri is None:
            return {"bytesBase64Encoded": base64.b64encode(path.read_bytes()).decode("ascii"), "mimeType": "video/mp4"}
        uri = f"{job.storage_uri}/{job.id}/sample_{index}.mp4"
        assert self.gcs_root is not None
        dest = self.gcs_root / uri.removeprefix("gs://")
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
        return {"gcsUri": uri, "mimeType": "video/mp4"}

    # Veo: download

    def _download(self, m: dict[str, str], headers: Any, query: Any, raw: bytes) -> _Reply:
        self._gemini_auth(headers, query)
        job_index = self._downloadable(m["file_id"])
        with self._lock:
            redirect = self._behaviour.redirect_downloads
        if redirect:
            return _Reply(status=302, headers={"Location": f"/blob/{m['file_id']}"})
        return self._serve(*job_index)

    def _blob(self, m: dict[str, str], headers: Any, query: Any, raw: bytes) -> _Reply:
        return self._serve(*self._downloadable(m["file_id"]))

    def _downloadable(self, file_id: str) -> tuple[_Job, int]:
        with self._lock:
            found = None if self._behaviour.download_expired else self._video_job(file_id, time.monotonic())
        if found is None:
            raise _Fail(404, "Requested entity was not found.")
        return found

    def _video_job(self, file_id: str, now: float) -> tuple[_Job, int] | None:
        """The finished, successful job and sample a file id names, if still retained (call under the lock)."""
        op_id, index = self._files.get(file_id, ("", 0)) if _FILE_ID.fullmatch(file_id) else ("", 0)
        job = self._jobs.get(op_id)
        if job is None or job.outcome != "success" or not job.is_done(now):
            return None
        return None if now - job.started > self._behaviour.retention_seconds else (job, index)

    def _serve(self, job: _Job, index: int) -> _Reply:
        path = self._render(job, index)
        with self._lock:
            self._downloads += 1
        return _Reply(body=path, content_type="video/mp4")

    def _render(self, job: _Job, index: int) -> Path:
        """Return the cached MP4 for one sample, rendering it first if needed."""
        from core.providers.base import GenerationRequest

        request = GenerationRequest(
            model=job.model,
            prompt=job.prompt,
            negative_prompt=job.negative_prompt,
            duration_seconds=job.duration,
            aspect_ratio=job.aspect_ratio,
            resolution=job.render_resolution,
            seed=job.seed,
            sample_count=job.sample_count,
        )
        key_text = json.dumps([request.to_dict(), index, job.audio], sort_keys=True)
        key = hashlib.sha256(key_text.encode()).hexdigest()[:32]
        path = self._cache_dir / f"{key}.mp4"
        if path.exists():
            return path
        with self._lock:
            lock = self._render_locks.setdefault(key, threading.Lock())
        with lock:
            if not path.exists():
                from core.providers.offline import render_video

                silent = self._cache_dir / f"{key}.silent.mp4"
                render_video(request, index, silent)
                if job.audio:
                    _add_silent_audio(silent, path.with_suffix(".part"), job.duration)
                    silent.unlink()
                    os.replace(path.with_suffix(".part"), path)
                else:
                    os.replace(silent, path)
        return path

    # models and text

    def _list_models(self, m: dict[str, str], headers: Any, query: Any, raw: bytes) -> _Reply:
        self._gemini_auth(headers, query)
        return _Reply(body={"models": [_model_json(i) for i in (*VEO_MODELS, *TEXT_MODELS)]})

    def _get_model(self, m: dict[str, str], headers: Any, query: Any, raw: bytes) -> _Reply:
        self._gemini_auth(headers, query)
        if m["model"] not in VEO_MODELS and m["model"] not in TEXT_MODELS:
            raise _Fail(404, f"models/{m['model']} is not found for API version {m['version']}.")
        return _Reply(body=_model_json(m["model"]))

    def _generate_content(self, m: dict[str, str], headers: Any, query: Any, raw: bytes) -> _Reply:
        self._gemini_auth(headers, query)
        model, body = m["model"], _json(raw)
        if model in VEO_MODELS:
            raise _bad(f"Veo must be accessed through the PredictLongRunning method, not generateContent ({model})")
        if not model.startswith("gemini-"):
            raise _Fail(404, f"models/{model} is not found for API version {m['version']}.")
        with self._lock:
            self._text_calls += 1
            if self._behaviour.generate_content_fail:
                raise _Fail(503, _5XX_MESSAGES[503])
        contents = _get(body, "contents") if isinstance(body, dict) else None
        turns = [c for c in contents if isinstance(c, dict)] if isinstance(contents, list) else []
        user = [c for c in turns if c.get("role", "user") != "model"]
        parts = _get(user[-1], "parts") if user else None
        text = " ".join(p["text"] for p in parts or [] if isinstance(p, dict) and isinstance(p.get("text"), str))
        if not text.strip():
            raise _bad("* GenerateContentRequest.contents: contents is not specified")
        answer = enhance_prompt(text)
        config = _get(body, "generationConfig") or {}
        if isinstance(config, dict) and _get(config, "responseMimeType") == "application/json":
            schema = _get(config, "responseSchema") or _get(config, "responseJsonSchema") or {}
            answer = json.dumps(_fill_schema(schema, schema, answer) if schema else {"prompt": answer})
        in_tokens, out_tokens = len(text.split()), len(answer.split())
        return _Reply(
            body={
                "candidates": [
                    {"content": {"parts": [{"text": answer}], "role": "model"}, "finishReason": "STOP", "index": 0}
                ],
                "usageMetadata": {
                    "promptTokenCount": in_tokens,
                    "candidatesTokenCount": out_tokens,
                    "totalTokenCount": in_tokens + out_tokens,
                },
                "modelVersion": model,
                "responseId": secrets.token_hex(8),
            }
        )

    # control over HTTP (no auth: a local test tool)

    def _health(self, *_: Any) -> _Reply:
        return _Reply(body={"ok": True})

    def _get_config(self, *_: Any) -> _Reply:
        return _Reply(body=self.behaviour.as_dict())

    def _post_config(self, m: Any, headers: Any, query: Any, raw: bytes) -> _Reply:
        changes = _json(raw)
        if not isinstance(changes, dict):
            raise _bad("POST /_standin/config takes a JSON object of settings")
        try:
            return _Reply(body=self.configure(**changes).as_dict())
        except ValueError as exc:
            raise _bad(str(exc)) from exc

    def _get_stats(self, *_: Any) -> _Reply:
        return _Reply(body=self.stats().as_dict())

    def _get_jobs(self, *_: Any) -> _Reply:
        return _Reply(body={"jobs": self.jobs()})

    def _post_reset(self, *_: Any) -> _Reply:
        self.reset()
        return _Reply(body=self.behaviour.as_dict())


def _json(raw: bytes) -> Any:
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad("Invalid JSON payload received.") from exc


def _quota(model: str, window: str, delay: int, limit: int) -> _Fail:
    metric = "predict_long_running_requests" + ("_per_model" if window == "PerMinute" else "_concurrent")
    return _Fail(
        429,
        "You exceeded your current quota, please check your plan and billing details. For more information on "
        "this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
        [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": f"generativelanguage.googleapis.com/{metric}",
                        "quotaId": f"PredictLongRunningRequests{window}PerProjectPerModel",
                        "quotaDimensions": {"location": "global", "model": model},
                        "quotaValue": str(limit),
                    }
                ],
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{delay}s"},
        ],
    )


def _model_json(model_id: str) -> dict[str, Any]:
    spec = VEO_MODELS.get(model_id)
    if spec is not None:
        return {
            "name": f"models/{model_id}",
            "version": model_id.split("-")[1],
            "displayName": spec.display_name,
            "description": f"{spec.display_name} (served by the local VeoGen stand-in, not Google)",
            "inputTokenLimit": MAX_PROMPT_TOKENS,
            "outputTokenLimit": 0,
            "supportedGenerationMethods": ["predictLongRunning"],
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


def _fill_schema(schema: Any, root: Any, text: str, depth: int = 0) -> Any:
    """A value that fits a responseSchema (OpenAPI subset) or JSON schema, with ``text`` in string fields."""
    if not isinstance(schema, dict) or depth > 8:
        return text
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return _fill_schema(target, root, text, depth + 1)
    options = schema.get("anyOf") or schema.get("any_of")
    if isinstance(options, list) and options:
        usable = [o for o in options if isinstance(o, dict) and str(o.get("type", "")).lower() != "null"]
        return _fill_schema((usable or options)[0], root, text, depth + 1)
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), "string")
    kind = str(kind).lower()
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: _fill_schema(v, root, text, depth + 1) for k, v in props.items()}
    if kind == "array":
        low = int(schema.get("minItems") or schema.get("min_items") or 1)
        count = max(low, min(3, int(schema.get("maxItems") or schema.get("max_items") or 3)))
        items = schema.get("items") or {}
        return [_fill_schema(items, root, f"{text} (part {i + 1})", depth + 1) for i in range(count)]
    return {"integer": 8, "number": 8.0, "boolean": False}.get(kind, text)


def _add_silent_audio(src: Path, dest: Path, seconds: float) -> None:
    """Copy ``src``'s video into ``dest`` with a silent stereo AAC track (Veo 3.x always has audio)."""
    from fractions import Fraction

    import av
    import numpy as np

    rate, size = 48000, 1024
    with (
        av.open(str(src)) as source,
        av.open(str(dest), "w", format="mp4", container_options={"movflags": "+faststart"}) as out,
    ):
        video_in = source.streams.video[0]
        video_out = out.add_stream_from_template(video_in)
        audio_out = out.add_stream("aac", rate=rate, layout="stereo")
        for packet in source.demux(video_in):
            if packet.dts is not None:
                packet.stream = video_out
                out.mux(packet)
        total, silence = int(seconds * rate), np.zeros((2, size), dtype=np.float32)
        for start in range(0, total, size):
            frame = av.AudioFrame.from_ndarray(silence[:, : min(size, total - start)], format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            out.mux(audio_out.encode(frame))
        out.mux(audio_out.encode(None))


# --- HTTP plumbing -----------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # idle keep-alive connections must not hold up stop()
    standin: VeoStandIn

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "VeoGenStandIn/1"
    timeout = IDLE_CONNECTION_SECONDS
    disable_nagle_algorithm = True  # else headers and body leave as two segments and delayed ACKs cost 40 ms a call
    server: _Server

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _dispatch(self, method: str) -> None:
        try:
            raw = self._read_body()
            reply = self.server.standin._handle(method, self.path, self.headers, raw)
        except _Fail as fail:
            reply = _Reply(status=fail.code, body=fail.envelope())
        except Exception:
            log.exception("stand-in failed on %s %s", method, self.path)
            reply = _Reply(status=500, body=_Fail(500, _5XX_MESSAGES[500]).envelope())
        self._send(reply)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():
                pass
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise _Fail(413, f"Request body is larger than {MAX_BODY_BYTES} bytes")
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, reply: _Reply) -> None:
        body = json.dumps(reply.body).encode() if isinstance(reply.body, dict) else reply.body
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(body.stat().st_size if isinstance(body, Path) else len(body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if isinstance(body, Path):
            with body.open("rb") as stream:
                shutil.copyfileobj(stream, self.wfile, 1 << 20)
        else:
            self.wfile.write(body)
