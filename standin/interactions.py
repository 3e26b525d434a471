"""Gemini Omni Flash video through the Interactions API (reference part 2 section 2): create (synchronous or
``background``), get, and the cancel/delete routes Google answers 501, on the Gemini API and on Vertex.

Requests are parsed by :mod:`standin.omni`; this module keeps the jobs and shapes the answers. A finished
interaction on the Gemini surface fires ``interaction.completed`` or ``interaction.failed``. Imports the
standard library and the sibling modules.
"""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from standin.behaviour import latency_of, prompt_outcome
from standin.models import OMNI_MODELS, OmniModel, check_served
from standin.omni import ASSUMED_SOURCE_SECONDS, MAX_SOURCE_SECONDS, Ask, Source, parse_ask, seconds_of
from standin.protocol import (
    FILE_URI,
    UNIMPLEMENTED_MESSAGE,
    Auth,
    Fail,
    Reply,
    Request,
    Route,
    as_object,
    bad,
    fault,
    new_id,
    rfc3339,
    route,
)
from standin.render import RenderSpec
from standin.state import Job, State
from standin.veo import write_gcs

log = logging.getLogger("standin")

VIDEO_TOKENS_PER_SECOND = {"360p": 1738, "720p": 5792, "1080p": 8688, "4k": 17376}
"""Output tokens per second of video: 5,792 at 720p (part 2 section 2.9), scaled by the per-tier prices."""
SAFETY_ERROR = "https://ai.google.dev/gemini-api/docs/errors#safety-blocked"
INTERNAL_ERROR = "https://ai.google.dev/gemini-api/docs/errors#internal"
"""``errors[].code`` URIs of failed interactions: the stand-in's choice (no real failure body was captured)."""
FILTER_SENTENCE = "The video could not be generated because the request or its output may violate our usage policies"
_GEMINI_VERSIONS = r"/(?P<version>v1beta|v1alpha|v1)"
_VERTEX_PARENT = r"/(?P<version>v\d+[a-z0-9]*)/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
_EXPRESS = r"/(?P<version>v1beta1)"


@dataclass(slots=True, kw_only=True)
class Interaction(Job):
    """One Omni interaction: ``duration`` is the whole clip, ``new_seconds`` what this turn generated."""

    kind: ClassVar[str] = "interaction"
    owner: str
    """Who may read it: "gemini", "express" or "vertex:<project>"."""
    store: bool
    background: bool
    task: str
    clip_prompt: str
    """The prompts of the whole extension chain; what the clip is drawn from."""
    duration: int
    new_seconds: int
    aspect_ratio: str
    resolution: str
    render_resolution: str
    delivery: str
    gcs_uri: str | None
    previous_id: str | None
    seed: int | None
    input_tokens: int
    error_code: str
    error_message: str

    def seconds_made(self) -> float:
        return float(self.new_seconds)

    def status(self) -> str:
        if not self.settled:
            return "in_progress"
        return "failed" if self.outcome in ("filtered", "error") else "completed"

    def event(self) -> tuple[str, dict[str, Any]] | None:
        """``interaction.completed``/``interaction.failed`` on the Gemini surface (none for a lost one)."""
        if self.vertex or self.outcome == "expired":
            return None
        if self.status() == "failed":
            return "interaction.failed", {
                "id": self.id,
                "error_code": self.error_code,
                "error_message": self.error_message,
            }
        return "interaction.completed", {"id": self.id}

    def render_spec(self) -> RenderSpec:
        return RenderSpec(
            model=self.model,
            prompt=self.clip_prompt,
            duration=self.duration,
            aspect_ratio=self.aspect_ratio,
            resolution=self.render_resolution,
            seed=self.seed,
        )


class InteractionRoutes:
    """``/{v}/interactions`` (Gemini), ``/{v}/projects/{p}/locations/{l}/interactions`` and ``/v1beta1/interactions``
    (Vertex, global only)."""

    def __init__(self, state: State, auth: Auth, gcs_root: Path | None) -> None:
        self.state, self.auth, self.gcs_root = state, auth, gcs_root

    def routes(self) -> list[Route]:
        out: list[Route] = []
        for base in (_GEMINI_VERSIONS, _VERTEX_PARENT, _EXPRESS):
            collection, one = base + r"/interactions", base + r"/interactions/(?P<id>[^/:]+)"
            out += [
                route("POST", collection, self.create, "interactions.create"),
                route("GET", one, self.get, "interactions.get"),
                route("POST", one + r"/cancel", self.unimplemented, "interactions.cancel"),
                route("DELETE", one, self.unimplemented, "interactions.delete"),
            ]
        return out

    def _caller(self, request: Request) -> str:
        """Authenticate and return the owner string; Vertex Omni is global-only (part 2 section 2.2)."""
        if "project" in request.params:
            self.auth.vertex(request)
            if request.params["location"] != "global":
                raise bad(
                    f"Gemini Omni models are only available in the global location, not {request.params['location']}. "
                    "Use locations/global."
                )
            return f"vertex:{request.params['project']}"
        if request.params["version"] == "v1beta1":
            self.auth.vertex(request)
            return "express"
        self.auth.gemini(request)
        return "gemini"

    # create

    def create(self, request: Request) -> Reply:
        owner = self._caller(request)
        vertex = owner != "gemini"
        body = as_object(request.json(), "request")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise bad("model is required.")
        spec = self._model(model.removeprefix("models/"), request.params["version"], vertex=vertex)
        ask = parse_ask(body, spec, vertex=vertex, gcs_root=self.gcs_root)
        state = self.state
        with state.lock:
            now = time.monotonic()
            source = self._source(ask, owner, now)
            if source is not None and ask.aspect_ratio and ask.aspect_ratio != source.aspect_ratio:
                raise bad(
                    f"aspect_ratio {ask.aspect_ratio} differs from the {source.aspect_ratio} video being continued."
                )
            clip, new = seconds_of(ask, source)
            b = state.behaviour
            status = b.interaction_fault_status if b.interaction_fault_count > 0 else None
            if status is not None:
                b.interaction_fault_count -= 1
                if not b.fault_after_create:
                    raise fault(status, retry_delay=b.retry_delay_seconds)
            job = self._add(ask, source, (clip, new), owner, now)
            if status is not None:
                raise fault(status, retry_delay=b.retry_delay_seconds)
        if ask.background:
            return Reply(body=self._resource(job, inline=False))
        time.sleep(max(0.0, job.ready_at - time.monotonic()))
        with state.lock:
            state.settle_job(job)
        return Reply(body=self._resource(job, inline=job.delivery == "inline"))

    def _model(self, model: str, version: str, *, vertex: bool) -> OmniModel:
        """The Omni model a create names, or the 404/400 Google gives for the id on this surface."""
        with self.state.lock:
            b = self.state.behaviour
            served, retired = list(b.vertex_models if vertex else b.gemini_models), dict(b.retired_models)
        check_served(model, served, retired, version)
        if model not in OMNI_MODELS:
            raise bad(f"models/{model} does not support createInteraction; Veo is served through predictLongRunning.")
        return OMNI_MODELS[model]

    def _source(self, ask: Ask, owner: str, now: float) -> Source | None:
        """The clip an edit, extension or upscale starts from (call under the lock)."""
        if ask.previous_id is not None:
            previous = self.state.jobs.get(ask.previous_id)
            if (
                not isinstance(previous, Interaction)
                or previous.owner != owner
                or not previous.store
                or (previous.settled and previous.outcome == "expired")
                or not self.state.retained(previous, now)
            ):
                raise Fail(404, f"Interaction {ask.previous_id} was not found.")
            if previous.status() != "completed":
                raise bad(f"previous_interaction_id {ask.previous_id} is {previous.status()}, not completed.")
            if previous.outcome != "success":
                raise bad(f"previous_interaction_id {ask.previous_id} has no video to continue from.")
            return Source(previous.duration, previous.aspect_ratio, previous.clip_prompt)
        if ask.source_file is not None:
            found = self.state.file_job(ask.source_file, now)
            if found is None:
                raise bad(f"files/{ask.source_file} does not name a video this stand-in generated in the last 2 days.")
            job = found[0]
            seconds, aspect = int(getattr(job, "duration", 8)), str(getattr(job, "aspect_ratio", "16:9"))
            if seconds > MAX_SOURCE_SECONDS:
                limit = f"Videos to {ask.task} may be at most {MAX_SOURCE_SECONDS} s long"
                raise bad(f"{limit}; files/{ask.source_file} is {seconds} s.")
            return Source(seconds, aspect, getattr(job, "clip_prompt", job.prompt))
        if ask.source_elsewhere:
            return Source(ASSUMED_SOURCE_SECONDS, ask.aspect_ratio or "16:9", "")
        return None

    def _add(self, ask: Ask, source: Source | None, seconds: tuple[int, int], owner: str, now: float) -> Interaction:
        """Create the interaction (call under the lock); ``seconds`` is (whole clip, generated now)."""
        state, b = self.state, self.state.behaviour
        clip, new = seconds
        outcome, code = prompt_outcome(ask.prompt, b)
        error_code, error_message = "", ""
        if outcome == "filtered":
            error_code, error_message = SAFETY_ERROR, f"{FILTER_SENTENCE}. Support codes: {code}"
        elif outcome == "error":
            error_code, error_message = INTERNAL_ERROR, b.error_message
        render = b.render_resolution
        if render == "requested":
            render = ask.resolution if ask.resolution in ("360p", "720p", "1080p") else "240p"
        interaction_id = "v1_" + new_id(state.jobs, 26)
        file_ids = () if owner != "gemini" else (new_id(state.jobs.keys() | state.files.keys()),)
        job = Interaction(
            id=interaction_id,
            name=interaction_id,
            model=ask.model,
            vertex=owner != "gemini",
            prompt=ask.prompt,
            parameters=ask.parameters,
            inputs=ask.inputs,
            created=time.time(),
            started=now,
            ready_at=now + latency_of(ask.prompt, b),
            polls_needed=b.polls_before_done if ask.background else 0,
            outcome=outcome,
            file_ids=file_ids,
            owner=owner,
            store=ask.store,
            background=ask.background,
            task=ask.task,
            clip_prompt=f"{source.prompt} / {ask.prompt}" if source and ask.task == "extend" else ask.prompt,
            duration=clip,
            new_seconds=new,
            aspect_ratio=source.aspect_ratio if source and not ask.aspect_ratio else ask.aspect_ratio or "16:9",
            resolution=ask.resolution,
            render_resolution=render,
            delivery=ask.delivery,
            gcs_uri=ask.gcs_uri,
            previous_id=ask.previous_id,
            seed=ask.seed,
            input_tokens=max(1, len(ask.prompt.split())),
            error_code=error_code,
            error_message=error_message,
        )
        state.add(job)
        state.counts.interactions_per_prompt[ask.prompt] += 1
        log.info("accepted interaction %s (%s, %s, outcome %s)", job.id, job.model, job.task, outcome)
        return job

    # read

    def get(self, request: Request) -> Reply:
        owner = self._caller(request)
        if request.arg("stream") == "true":
            raise bad("stream=true is not emulated by the VeoGen stand-in; poll with stream=false.")
        state = self.state
        with state.lock:
            state.counts.interaction_gets += 1
            now = time.monotonic()
            job = state.jobs.get(request.params["id"])
            if not isinstance(job, Interaction) or job.owner != owner or not job.store or not state.retained(job, now):
                raise Fail(404, f"Interaction {request.params['id']} was not found.")
            pending = not job.is_done(now)
            if pending:  # like a Veo poll: this answer is "in progress" even if it was the last one owed
                job.pending_answers += 1
            if job.is_done(now):
                state.settle_job(job)
            if not pending and job.outcome == "expired":
                raise Fail(404, f"Interaction {job.id} was not found.")
            inline = job.delivery == "inline" or (owner == "gemini" and state.behaviour.interaction_get_inline)
        return Reply(body=self._resource(job, inline=inline, pending=pending))

    def unimplemented(self, request: Request) -> Reply:
        """``cancel`` and ``delete``: the Gemini API answers 501 (python-genai #1971, #2803)."""
        self._caller(request)
        raise Fail(501, UNIMPLEMENTED_MESSAGE)

    # answers

    def _resource(self, job: Interaction, *, inline: bool, pending: bool = False) -> dict[str, Any]:
        """The Interaction JSON (see the README for which parts are the stand-in's choice)."""
        status = "in_progress" if pending else job.status()
        body: dict[str, Any] = {
            "id": job.id,
            "object": "interaction",
            "model": job.model,
            "status": status,
            "created": rfc3339(job.created),
            "updated": rfc3339(job.finished_at if job.finished_at and not pending else job.created),
        }
        if job.previous_id:
            body["previous_interaction_id"] = job.previous_id
        if status == "failed":
            body["errors"] = [{"code": job.error_code, "message": job.error_message}]
        if status != "completed":
            return body
        tokens = VIDEO_TOKENS_PER_SECOND.get(job.resolution, 5792) * job.new_seconds
        body["usage"] = {
            "total_input_tokens": job.input_tokens,
            "total_output_tokens": tokens,
            "output_tokens_by_modality": [{"modality": "video", "tokens": tokens}],
            "total_tokens": job.input_tokens + tokens,
        }
        body["steps"] = (
            [{"type": "model_output", "content": [self._video(job, inline)]}] if job.outcome == "success" else []
        )
        return body

    def _video(self, job: Interaction, inline: bool) -> dict[str, Any]:
        content: dict[str, Any] = {"type": "video", "mime_type": "video/mp4"}
        if not inline and job.gcs_uri is not None:
            path = self.state.renderer.render(job.render_spec())
            return content | {"uri": write_gcs(self.gcs_root, f"{job.gcs_uri}/{job.id}/sample_0.mp4", path)}
        if not inline and job.file_ids:
            return content | {"uri": FILE_URI.format(id=job.file_ids[0])}
        data = self.state.renderer.render(job.render_spec()).read_bytes()
        return content | {"data": base64.b64encode(data).decode("ascii")}
