"""OmniProvider: Gemini Omni Flash through the Interactions API (google-genai 2.x).

Each submit is ONE ``interactions.create`` POST — the client is built with the
SDK's retries off (core/providers/google.py; by default the SDK would send it up
to four times) — in **background mode** with ``store=true``: Google answers at
once with the interaction's id, which the pipeline stores before anything else,
and the render is followed with ``interactions.get(id)`` (polls, or at once when
a webhook says it finished). So no process waits for a render, and a killed
worker or scheduler loses nothing: the id is in the database and the next step
asks Google about it. Why background and not the synchronous call Google's docs
show first: a synchronous create holds an HTTP request (and a process) for the
whole render, 5–15 minutes, and if that process dies the id was never seen, so
the render is paid and unreachable. (Part 2 marks background support for Omni
as unverified; if Google refused it, the create's 400 would fail the generation
without a charge and say so — nothing is sent twice.)

Requests (reference part 2, 2.3): the prompt as text with the documented role
tags (``<FIRST_FRAME>``, ``<LAST_FRAME>``, ``<IMAGE_REF_n>``) and the negative
prompt folded in (Omni takes none); ``response_format`` with aspect ratio,
resolution, duration and ``delivery: "uri"`` (Vertex: a ``gcs_uri`` when
VEOGEN_VERTEX_OUTPUT_URI is set, else inline); ``generation_config.video_config.task``,
except for extensions and edits, which name the earlier turn with
``previous_interaction_id`` (a field report says task and previous id together
are refused). Outputs: a ``uri`` (then ``files.get`` until ACTIVE and
``files.download``) or inline bytes — ``get`` returns the video inline even for
URI delivery (2.4), so a completed poll keeps those bytes in a spool file and
the fetch that follows moves them into storage instead of downloading twice.

Failures: HTTP errors of the SDK's ``compat_errors`` family are mapped by
core.providers.google; an interaction that ends ``failed`` is a safety block
when its message quotes support codes or its error code names safety (shown
in plain words, nothing charged), otherwise a failure with Google's message.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ProviderError
from core.providers.base import GenerationRequest, OperationState, ProviderVideo
from core.providers.google import GoogleAdapter, call, write_atomically

if TYPE_CHECKING:
    from core.config import Settings

INLINE_PREFIX = "inline:"
"""URI of a video that came back inline in an interaction: ``inline:{interaction id}``."""

TASKS = {
    "text": "text_to_video",
    "image": "image_to_video",
    "frames": "image_to_video",
    "reference": "reference_to_video",
}
"""Our mode → Omni's ``video_config.task`` (extend and edit name the earlier turn instead)."""

PENDING = frozenset({"in_progress", "queued", "requires_continuation"})
"""Statuses of an interaction still at work."""

FILE_ACTIVE_WAIT_SECONDS = 30.0
"""Longest wait for an output file to become ACTIVE within one fetch; after that the fetch is retried later."""

SPOOL_MAX_AGE_SECONDS = 24 * 3600
"""Spooled inline videos older than this are removed (their fetch never came)."""

_FILE_NAME = re.compile(r"files/([a-z0-9-]+)")
_SAFETY = re.compile(r"support codes?|safety|blocked", re.IGNORECASE)


class OmniProvider(GoogleAdapter):
    """Gemini Omni Flash: one paid background interaction per submit, on the Gemini API or Vertex AI."""

    name = "omni"
    label = "Gemini Omni Flash"
    idempotent_submit = False

    def __init__(
        self,
        *,
        api_key: str = "",
        base_url: str = "",
        vertex_project: str = "",
        output_uri: str = "",
        timeout_seconds: float = 60,
        spool_dir: Path | None = None,
    ) -> None:
        # Omni on Vertex is served from the global location only (part 2, 2.2).
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            vertex_project=vertex_project,
            vertex_location="global",
            output_uri=output_uri,
            timeout_seconds=timeout_seconds,
        )
        self._spool = spool_dir or Path(tempfile.gettempdir()) / "veogen-omni-spool"

    @classmethod
    def from_settings(cls, settings: Settings) -> OmniProvider:
        """Build the provider from VeoGen's settings; raise ProviderUnavailableError without credentials."""
        return cls(
            api_key=settings.gemini_api_key,
            base_url=settings.veo_base_url,
            vertex_project=settings.vertex_project,
            output_uri=settings.vertex_output_uri,
            timeout_seconds=settings.veo_timeout_seconds,
        )

    # -- the Protocol ---------------------------------------------------------------

    def submit(self, request: GenerationRequest) -> str:
        """Start one background interaction and return its id. Sent once: each call is a paid video."""
        body = self.request_body(request)

        def start() -> str:
            interaction = self._client.get().interactions.create(**body)
            if not interaction.id:
                raise ProviderError("Omni accepted the request but returned no interaction id.", code="NO_OPERATION")
            return interaction.id

        return call("Gemini Omni", start)

    def poll(self, operation_name: str) -> OperationState:
        """Ask once how the interaction is doing; an unknown or expired one is a failed state."""
        try:
            interaction = call("Gemini Omni", lambda: self._client.get().interactions.get(operation_name))
        except ProviderError as exc:
            if exc.code not in ("NOT_FOUND", "404"):
                raise
            message = f"Google no longer knows interaction {operation_name}: it expired or never existed."
            return OperationState(kind="failed", code="NOT_FOUND", message=message)
        status = str(interaction.status or "")
        if status in PENDING:
            return OperationState(kind="pending")
        if status == "failed":
            return _failure(interaction)
        if status != "completed":
            message = f"Omni ended the interaction as {status or 'unknown'} without a video."
            return OperationState(kind="failed", code=(status or "UNKNOWN").upper(), message=message)
        video = interaction.output_video
        if video is None:
            return OperationState(kind="succeeded", videos=())
        if video.uri:
            return OperationState(kind="succeeded", videos=(ProviderVideo(uri=video.uri, mime_type="video/mp4"),))
        if video.data:
            self._spool_bytes(operation_name, video.data)
            return OperationState(kind="succeeded", videos=(ProviderVideo(uri=INLINE_PREFIX + operation_name),))
        return OperationState(kind="succeeded", videos=())

    def fetch(self, video: ProviderVideo, dest: Path) -> None:
        """Write the video to ``dest`` atomically: from the spool, the interaction itself, or the Files API."""
        if video.uri.startswith(INLINE_PREFIX):
            interaction_id = video.uri.removeprefix(INLINE_PREFIX)
            spooled = self._spool_path(interaction_id)
            if spooled.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(spooled, dest)
                return
            interaction = call("Gemini Omni", lambda: self._client.get().interactions.get(interaction_id))
            data = interaction.output_video.data if interaction.output_video else None
            if not data:
                raise ProviderError(f"Interaction {interaction_id} holds no video any more.", code="NOT_FOUND")
            write_atomically(dest, _decode(data))
            return
        match = _FILE_NAME.search(video.uri)
        if not match:
            raise ProviderError(f"Omni returned a video address VeoGen cannot read: {video.uri[:80]}", code="BAD_URI")
        name = f"files/{match.group(1)}"
        self._wait_active(name)
        downloaded = call("Gemini Files", lambda: self._client.get().files.download(file=name))
        write_atomically(dest, downloaded)

    # -- requests -------------------------------------------------------------------

    def request_body(self, request: GenerationRequest) -> dict[str, Any]:
        """The keyword arguments of ``interactions.create`` for one request (nothing is sent)."""
        images = [i for i in request.images if i.role in _ROLES_BY_MODE.get(request.mode, ())]
        content: list[dict[str, Any]] = [
            {"type": "image", "data": base64.b64encode(i.data).decode(), "mime_type": i.mime_type} for i in images
        ]
        content.append({"type": "text", "text": _prompt_text(request)})
        response_format: dict[str, Any] = {
            "type": "video",
            "aspect_ratio": request.aspect_ratio,
            "resolution": request.resolution,
            "duration": f"{request.duration_seconds}s",
            "delivery": "uri",
        }
        if self.vertex:
            if self._output_uri:
                response_format["gcs_uri"] = self._output_uri
            else:
                response_format["delivery"] = "inline"
        body: dict[str, Any] = {
            "model": request.model,
            "input": content,
            "response_format": response_format,
            "background": True,
            "store": True,  # an edit or extension names this turn later
        }
        config: dict[str, Any] = {}
        if request.source_interaction:
            body["previous_interaction_id"] = request.source_interaction
        else:
            config["video_config"] = {"task": TASKS.get(request.mode, "text_to_video")}
        if request.seed is not None:
            config["seed"] = request.seed
        if config:
            body["generation_config"] = config
        return body

    # -- files and spool ----------------------------------------------------------------

    def _wait_active(self, name: str) -> None:
        """Wait (briefly) until the output file is ACTIVE; FAILED is final, a slow file is retried later."""
        deadline = time.monotonic() + FILE_ACTIVE_WAIT_SECONDS
        delay = 0.25
        while True:
            state = call("Gemini Files", lambda: self._client.get().files.get(name=name)).state
            state_name = str(getattr(state, "value", state) or "")
            if state_name in ("ACTIVE", "STATE_UNSPECIFIED", ""):
                return
            if state_name == "FAILED":
                raise ProviderError(f"Google could not prepare the video file {name}.", code="FILE_FAILED")
            if time.monotonic() >= deadline:
                raise ProviderError(
                    f"The video file {name} is still {state_name.lower()}.", code="UNAVAILABLE", retryable=True
                )
            time.sleep(delay)
            delay = min(2.0, delay * 2)

    def _spool_path(self, interaction_id: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", interaction_id)[:200]
        return self._spool / f"{safe}.mp4"

    def _spool_bytes(self, interaction_id: str, data: str | bytes) -> None:
        self._spool.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomically(self._spool_path(interaction_id), _decode(data))
        cutoff = time.time() - SPOOL_MAX_AGE_SECONDS
        for old in self._spool.glob("*.mp4"):
            with contextlib.suppress(OSError):
                if old.stat().st_mtime < cutoff:
                    old.unlink()


_ROLES_BY_MODE = {"image": ("first_frame",), "frames": ("first_frame", "last_frame"), "reference": ("reference",)}


def _prompt_text(request: GenerationRequest) -> str:
    """The text block: role tags for the images, the prompt, the negative prompt folded in."""
    tags: list[str] = []
    if request.mode in ("image", "frames"):
        tags.append("<FIRST_FRAME>")
    if request.mode == "frames":
        tags.append("<LAST_FRAME>")
    if request.mode == "reference":
        count = sum(1 for i in request.images if i.role == "reference")
        tags.extend(f"<IMAGE_REF_{n}>" for n in range(count))
    text = request.prompt.strip()
    if request.mode == "extend":
        text = f"Extend the video by {request.duration_seconds} seconds. {text}".strip()
    if request.negative_prompt.strip():
        text = f"{text}\n\nAvoid: {request.negative_prompt.strip()}".strip()
    return " ".join([*tags, text]).strip()


def _failure(interaction: Any) -> OperationState:
    """A failed interaction: a safety block (its sentence kept for the creator) or a failure."""
    errors = list(getattr(interaction, "errors", None) or [])
    messages = [str(e.message) for e in errors if getattr(e, "message", None)]
    codes = [str(e.code) for e in errors if getattr(e, "code", None)]
    if any(_SAFETY.search(text) for text in (*messages, *codes)):
        reasons = tuple(messages) or ("Google's safety filters blocked the video and gave no reason.",)
        return OperationState(kind="filtered", reasons=reasons)
    code = codes[0].rstrip("/").rsplit("/", 1)[-1].upper() if codes else "FAILED"
    message = " ".join(messages) or "Omni reported a failure without a message."
    return OperationState(kind="failed", code=code, message=message)


def _decode(data: str | bytes) -> bytes:
    if isinstance(data, bytes):
        return data
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProviderError(f"Omni returned video bytes that are not base64: {exc}", code="BAD_VIDEO") from exc
