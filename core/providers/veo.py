"""VeoProvider and GeminiPromptHelper: Google Veo and Gemini through google-genai 2.x.

Turns a GenerationRequest into one ``generate_videos`` call, reads an operation
back as an OperationState, and fetches the finished videos (Gemini files,
``gs://`` objects, or bytes inline in a Vertex operation). Building the client,
sending each call once and mapping failures onto ProviderError is
``core.providers.google``'s; this module never imports streamlit, pages or
workers. The SDK stays on 2.x: 3.x refuses ``generate_videos`` with an API key
(reference/veo-protocol.md, section 0).

A finished operation is never an exception: ``poll`` returns failed, filtered or
succeeded states, and an operation Veo no longer knows (HTTP 404 on poll) comes
back as ``OperationState(kind="failed", code="NOT_FOUND")``, so the pipeline reads
every poll result the same way. ``poll`` raises only when asking again may help.

Reading ``gs://`` outputs (Vertex with VEOGEN_VERTEX_OUTPUT_URI) goes through
fsspec and needs the ``gcsfs`` package, which requirements.txt leaves to
deployments that use it.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from google.genai import types

from core.errors import ProviderError, ProviderUnavailableError
from core.providers.base import GenerationRequest, ImageInput, OperationState, ProposedShot, ProviderVideo
from core.providers.google import GoogleAdapter, LazyClient, call, make_client, write_atomically

if TYPE_CHECKING:
    from core.config import Settings

GRPC_STATUS_NAMES = {
    1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND",
    6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION",
    10: "ABORTED", 11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED", 13: "INTERNAL", 14: "UNAVAILABLE",
    15: "DATA_LOSS", 16: "UNAUTHENTICATED",
}  # fmt: skip
"""Names of the gRPC codes a failed operation's ``error.code`` carries; others read ``GRPC_<n>``."""

INLINE_PREFIX = "inline:"
"""URI of a video whose bytes came back inside a Vertex operation: ``inline:{operation}#{index}``."""

MODE_IMAGES: dict[str, tuple[str, ...]] = {
    "text": (),
    "image": ("first_frame",),
    "frames": ("first_frame", "last_frame"),
    "reference": ("reference",),
    "extend": (),
}
"""The image roles each mode needs (extension needs ``extend_video_uri`` instead)."""

PROMPT_INSTRUCTION = (
    "Rewrite the user's idea as one vivid, concrete video prompt of at most 120 words: subject, action, "
    "setting, camera, lighting, style and sound. Keep the user's language and intent. "
    "Reply with the prompt only."
)
"""System instruction of the text model behind "Improve prompt"."""

SHOTS_INSTRUCTION = (
    "Turn the user's script into the shot list of a short video film, in story order, at most {max_shots} "
    "shots. Each shot is one self-contained visual prompt of at most 80 words that a video model renders "
    "without seeing the other shots: subject, action, setting and camera; name the characters and the place "
    "again instead of writing 'he' or 'there'. Each shot lasts 4 to 10 seconds (duration_seconds). "
    "Keep the script's language and story; add nothing the script does not imply."
)
"""System instruction of the text model that proposes a storyboard (``{max_shots}`` is filled in)."""

SHOT_LIST_SCHEMA = types.Schema(
    type=types.Type.ARRAY,
    items=types.Schema(
        type=types.Type.OBJECT,
        properties={
            "prompt": types.Schema(type=types.Type.STRING),
            "duration_seconds": types.Schema(type=types.Type.INTEGER, minimum=4, maximum=10),
        },
        required=["prompt"],
        property_ordering=["prompt", "duration_seconds"],
    ),
)
"""The JSON the text model must answer a script with: a list of ``{prompt, duration_seconds}``."""

SHOTS_MAX_OUTPUT_TOKENS = 16_384
"""Room for the longest shot list (60 shots of about 80 words each, as JSON)."""

PROMPT_NOT_CONFIGURED = "Prompt help needs a Gemini API key (VEOGEN_GEMINI_API_KEY)"
DEFAULT_FILTER_REASON = "Veo's safety filters blocked the video and gave no reason."


class VeoProvider(GoogleAdapter):
    """Google Veo: one paid long-running operation per submit, in API-key or Vertex AI mode."""

    name = "veo"
    label = "Google Veo"
    idempotent_submit = False

    @classmethod
    def from_settings(cls, settings: Settings) -> VeoProvider:
        """Build the provider from VeoGen's settings; raise ProviderUnavailableError without credentials."""
        return cls(
            api_key=settings.gemini_api_key,
            base_url=settings.veo_base_url,
            vertex_project=settings.vertex_project,
            vertex_location=settings.vertex_location,
            output_uri=settings.vertex_output_uri,
            timeout_seconds=settings.veo_timeout_seconds,
        )

    def submit(self, request: GenerationRequest) -> str:
        """Start one Veo operation and return its name. Never retried here: each call is a paid video."""
        _check_inputs(request)

        def start() -> str:
            operation = self._client.get().models.generate_videos(
                model=request.model, source=_source(request), config=self._config(request)
            )
            if not operation.name:
                raise ProviderError("Veo accepted the request but returned no operation name.", code="NO_OPERATION")
            return operation.name

        return call("Veo", start)

    def poll(self, operation_name: str) -> OperationState:
        """Ask Veo once how the operation is doing; an expired or unknown operation is a failed state."""
        try:
            operation = self._operation(operation_name)
        except ProviderError as exc:
            if exc.code not in ("NOT_FOUND", "404"):
                raise
            message = f"Veo no longer knows operation {operation_name}: it expired or never existed."
            return OperationState(kind="failed", code="NOT_FOUND", message=message)
        if not operation.done:
            return OperationState(kind="pending")
        if operation.error:
            message = str(operation.error.get("message") or "Veo reported a failure without a message.")
            return OperationState(kind="failed", code=_grpc_name(operation.error.get("code")), message=message)
        response = operation.response
        samples = (response.generated_videos if response else None) or []
        videos = [_video(operation_name, i, s.video) for i, s in enumerate(samples)]
        if found := tuple(v for v in videos if v is not None):
            return OperationState(kind="succeeded", videos=found)
        if response and (response.rai_media_filtered_reasons or response.rai_media_filtered_count):
            reasons = tuple(response.rai_media_filtered_reasons or ()) or (DEFAULT_FILTER_REASON,)
            return OperationState(kind="filtered", reasons=reasons)
        return OperationState(kind="failed", code="NO_VIDEO", message="Veo finished without returning a video.")

    def fetch(self, video: ProviderVideo, dest: Path) -> None:
        """Write the video's bytes to ``dest`` atomically. Never retried here: the pipeline decides."""
        if video.uri.startswith("gs://"):
            _copy_gs(video.uri, dest)
            return
        if video.uri.startswith(INLINE_PREFIX):
            data = self._inline_bytes(video.uri)
        else:
            try:
                data = call("Veo", lambda: self._client.get().files.download(file=types.Video(uri=video.uri)))
            except ProviderError as exc:
                if exc.code not in ("NOT_FOUND", "404"):
                    raise
                message = f"Veo no longer holds this video (it keeps videos 2 days) or never made it: {exc}"
                raise ProviderError(message, code="NOT_FOUND") from exc
        write_atomically(dest, data)

    def _operation(self, operation_name: str) -> types.GenerateVideosOperation:
        # The SDK wants an operation object, not a name (the mixin's field is invisible to mypy, hence validate).
        wrapped = types.GenerateVideosOperation.model_validate({"name": operation_name})
        return call("Veo", lambda: self._client.get().operations.get(wrapped))

    def _inline_bytes(self, uri: str) -> bytes:
        """Re-read a Vertex operation and return one sample's bytes, which only the poll answer carries."""
        operation_name, _, index = uri.removeprefix(INLINE_PREFIX).rpartition("#")
        operation = self._operation(operation_name)
        samples = (operation.response.generated_videos if operation.response else None) or []
        sample = samples[int(index)] if index.isdigit() and int(index) < len(samples) else None
        data = sample.video.video_bytes if sample and sample.video else None
        if not data:
            raise ProviderError(f"Veo's operation {operation_name} holds no video {index}.", code="NOT_FOUND")
        return data

    def _config(self, request: GenerationRequest) -> types.GenerateVideosConfig:
        last = request.image("last_frame") if request.mode == "frames" else None
        references = [
            types.VideoGenerationReferenceImage(
                image=_image(i), reference_type=types.VideoGenerationReferenceType.ASSET
            )
            for i in request.images
            if i.role == "reference" and request.mode == "reference"
        ]
        # The Gemini API takes a seed, but the SDK refuses the field in API-key mode: send it as raw body.
        seed_body = None if self.vertex or request.seed is None else {"parameters": {"seed": request.seed}}
        return types.GenerateVideosConfig(
            aspect_ratio=request.aspect_ratio,
            duration_seconds=request.duration_seconds,
            resolution=None if request.model.removeprefix("models/").startswith("veo-2.") else request.resolution,
            number_of_videos=request.sample_count,
            negative_prompt=request.negative_prompt or None,
            last_frame=_image(last) if last else None,
            reference_images=references or None,
            output_gcs_uri=self._output_uri or None,
            seed=request.seed if self.vertex else None,
            http_options=types.HttpOptions(extra_body=seed_body) if seed_body else None,
        )


class GeminiPromptHelper:
    """Rewrites a rough idea into one vivid video prompt, or a script into a shot list, with a Gemini text model."""

    def __init__(
        self, *, api_key: str, base_url: str = "", model: str = "gemini-flash-latest", timeout_seconds: float = 60
    ) -> None:
        if not api_key:
            raise ProviderUnavailableError(PROMPT_NOT_CONFIGURED, code="UNAVAILABLE")
        self.model = model
        self._client = LazyClient(
            partial(make_client, api_key=api_key, base_url=base_url, timeout_seconds=timeout_seconds)
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> GeminiPromptHelper:
        """Build the helper from VeoGen's settings; raise ProviderUnavailableError without an API key."""
        return cls(
            api_key=settings.gemini_api_key,
            base_url=settings.veo_base_url,
            model=settings.prompt_model,
            timeout_seconds=settings.veo_timeout_seconds,
        )

    def close(self) -> None:
        """Close the HTTP connections; the next call opens new ones."""
        self._client.close()

    def improve_prompt(self, prompt: str) -> str:
        """Return the text model's rewrite of ``prompt``."""
        config = types.GenerateContentConfig(
            system_instruction=PROMPT_INSTRUCTION, temperature=0.7, max_output_tokens=400
        )
        response = call(
            "Gemini",
            lambda: self._client.get().models.generate_content(model=self.model, contents=prompt, config=config),
        )
        text = (response.text or "").strip()
        if not text:
            raise ProviderError("The text model returned no prompt.", code="NO_TEXT")
        return text

    def propose_shots(self, script: str, *, max_shots: int) -> list[ProposedShot]:
        """Ask the text model once for ``script``'s shot list; keep the usable shots, at most ``max_shots``."""
        config = types.GenerateContentConfig(
            system_instruction=SHOTS_INSTRUCTION.format(max_shots=max_shots),
            temperature=0.4,
            max_output_tokens=SHOTS_MAX_OUTPUT_TOKENS,
            response_mime_type="application/json",
            response_schema=SHOT_LIST_SCHEMA,
        )
        response = call(
            "Gemini",
            lambda: self._client.get().models.generate_content(model=self.model, contents=script, config=config),
        )
        shots = _proposed_shots(response.text or "")[:max_shots]
        if not shots:
            raise ProviderError("The text model proposed no usable shots for this script.", code="NO_SHOTS")
        return shots


def _proposed_shots(text: str) -> list[ProposedShot]:
    """The shots in the text model's JSON answer; an item without a prompt is dropped, an odd length ignored."""
    try:
        data = json.loads(text)
    except ValueError:
        return []
    if isinstance(data, dict):  # a list wrapped in an object
        data = next((value for value in data.values() if isinstance(value, list)), [])
    shots = []
    for item in data if isinstance(data, list) else []:
        prompt = " ".join(str(item.get("prompt") or "").split()) if isinstance(item, dict) else ""
        if not prompt:
            continue
        seconds = item.get("duration_seconds")
        usable = isinstance(seconds, int | float) and not isinstance(seconds, bool) and 0 < seconds <= 60
        shots.append(ProposedShot(prompt, round(seconds) if usable else None))
    return shots


def _check_inputs(request: GenerationRequest) -> None:
    """Refuse a request whose mode lacks its inputs before anything is sent (or paid)."""
    if request.mode not in MODE_IMAGES:
        raise ProviderError(f"Veo has no mode {request.mode!r}.", code="INVALID_ARGUMENT")
    missing = [role for role in MODE_IMAGES[request.mode] if request.image(role) is None]
    if request.mode == "extend" and not request.extend_video_uri:
        missing.append("extend_video_uri")
    if missing:
        raise ProviderError(f"Mode {request.mode!r} needs {', '.join(missing)}.", code="INVALID_ARGUMENT")


def _source(request: GenerationRequest) -> types.GenerateVideosSource:
    first = request.image("first_frame") if request.mode in ("image", "frames") else None
    video = types.Video(uri=request.extend_video_uri) if request.mode == "extend" else None
    return types.GenerateVideosSource(
        prompt=request.prompt or None, image=_image(first) if first else None, video=video
    )


def _image(image: ImageInput) -> types.Image:
    return types.Image(image_bytes=image.data, mime_type=image.mime_type)


def _video(operation_name: str, index: int, video: types.Video | None) -> ProviderVideo | None:
    """Where sample ``index`` can be fetched: its URI, or an ``inline:`` pointer back into the operation."""
    if video is None:
        return None
    mime_type = video.mime_type or "video/mp4"
    if video.uri:
        return ProviderVideo(uri=video.uri, mime_type=mime_type)
    if video.video_bytes:
        return ProviderVideo(uri=f"{INLINE_PREFIX}{operation_name}#{index}", mime_type=mime_type)
    return None


def _grpc_name(code: object) -> str:
    return GRPC_STATUS_NAMES.get(code, f"GRPC_{code}") if isinstance(code, int) else f"GRPC_{code}"


def _copy_gs(uri: str, dest: Path) -> None:
    """Copy a ``gs://`` object to ``dest`` through fsspec (gcsfs in production)."""
    import fsspec

    try:
        with fsspec.open(uri, "rb") as source:
            write_atomically(dest, source)
    except (ImportError, ValueError) as exc:  # fsspec has no "gs" implementation
        raise ProviderUnavailableError(f"reading gs:// needs the gcsfs package ({exc})", code="UNAVAILABLE") from exc
    except FileNotFoundError as exc:
        raise ProviderError(f"{uri} does not exist.", code="NOT_FOUND") from exc
    except OSError as exc:
        raise ProviderError(f"Could not read {uri}: {exc}", code="UNAVAILABLE", retryable=True) from exc
