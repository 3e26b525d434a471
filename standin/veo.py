"""Veo's long-running operations: start (``:predictLongRunning``) and poll (``GET operations/…`` or Vertex
``:fetchPredictOperation``), in the shapes of reference part 1 sections 1–6, for both surfaces.

A finished successful operation on the Gemini surface fires ``video.generated``. Imports the standard
library and the sibling modules; never google-genai.
"""

from __future__ import annotations

import base64
import logging
import math
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from standin.behaviour import latency_of, prompt_outcome
from standin.models import (
    OMNI_MODELS,
    VEO_MODELS,
    VeoModel,
    check_served,
    known_model,
    only_interactions,
)
from standin.protocol import (
    FAULT_MESSAGES,
    FILE_URI,
    VERSION,
    Auth,
    Fail,
    Reply,
    Request,
    Route,
    bad,
    field_of,
    new_id,
    quota_exceeded,
    route,
)
from standin.render import RenderSpec
from standin.state import Job, State
from standin.submission import parse_submission

log = logging.getLogger("standin")

RPM_WINDOW_SECONDS = 60.0

EXTENSION_SECONDS = 7
"""Seconds one Veo extension adds; the answer is one combined video (reference part 1, section 8)."""

MAX_EXTENDABLE_SECONDS = 141
"""Longest Veo video that may be extended (the combined video is at most 148 s)."""

_GEMINI_RESPONSE_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse"
_VERTEX_RESPONSE_TYPE = "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"
_SUPPORT_CODES = re.compile(r"Support codes: [\d, ]+")
_VERTEX_MODEL = VERSION + r"/(?P<parent>(?:projects/[^/]+/locations/[^/]+/)?)publishers/google/models/(?P<model>[^/:]+)"


@dataclass(slots=True, kw_only=True)
class Operation(Job):
    """One accepted Veo operation."""

    kind: ClassVar[str] = "operation"
    negative_prompt: str
    filter_reasons: tuple[str, ...]
    error: dict[str, Any]
    duration: int
    aspect_ratio: str
    render_resolution: str
    sample_count: int
    seed: int | None
    audio: bool
    storage_uri: str | None

    def seconds_made(self) -> float:
        return float(self.duration * self.sample_count)

    def event(self) -> tuple[str, dict[str, Any]] | None:
        """``video.generated`` for a successful Gemini operation (its first sample); nothing otherwise."""
        if self.vertex or self.outcome != "success" or not self.file_ids:
            return None
        first = self.file_ids[0]
        return "video.generated", {
            "id": self.name,
            "output_file_uri": FILE_URI.format(id=first),
            "file_name": f"files/{first}",
        }

    def render_spec(self) -> RenderSpec:
        return RenderSpec(
            model=self.model,
            prompt=self.prompt,
            negative_prompt=self.negative_prompt,
            duration=self.duration,
            aspect_ratio=self.aspect_ratio,
            resolution=self.render_resolution,
            seed=self.seed,
            sample_count=self.sample_count,
            audio=self.audio,
        )


# --- routes ------------------------------------------------------------------------------


class VeoRoutes:
    """Start and poll Veo operations on the Gemini API and on Vertex (``gcs_root`` stands for ``gs://``)."""

    def __init__(self, state: State, auth: Auth, gcs_root: Path | None) -> None:
        self.state, self.auth, self.gcs_root = state, auth, gcs_root

    def routes(self) -> list[Route]:
        return [
            route(
                "POST",
                VERSION + r"/models/(?P<model>[^/:]+):predictLongRunning",
                self.gemini_submit,
                "predictLongRunning",
            ),
            route(
                "GET",
                VERSION + r"/models/(?P<model>[^/:]+)/operations/(?P<op>[^/:]+)",
                self.gemini_poll,
                "operations.get",
            ),
            route("POST", _VERTEX_MODEL + r":predictLongRunning", self.vertex_submit, "predictLongRunning"),
            route("POST", _VERTEX_MODEL + r":fetchPredictOperation", self.vertex_poll, "fetchPredictOperation"),
        ]

    # submit

    def gemini_submit(self, request: Request) -> Reply:
        self.auth.gemini(request)
        return self._submit(request, vertex_parent=None)

    def vertex_submit(self, request: Request) -> Reply:
        self.auth.vertex(request)
        return self._submit(request, vertex_parent=request.params["parent"])

    def _submit(self, request: Request, *, vertex_parent: str | None) -> Reply:
        state = self.state
        with state.lock:
            state.counts.submit_requests += 1
        try:
            name = self._create(request, vertex_parent)
            with state.lock:
                delay = state.behaviour.submit_answer_delay_seconds
            if delay:
                time.sleep(delay)
            return Reply(body={"name": name})
        except Fail as fail:
            with state.lock:
                state.counts.rejected[str(fail.code)] += 1
            raise

    def _spec(self, model: str, version: str, *, vertex: bool) -> VeoModel:
        """The Veo model a submit names, or the 400/404 Google gives for the id on this surface."""
        with self.state.lock:
            b = self.state.behaviour
            served, retired = (b.vertex_models if vertex else b.gemini_models), dict(b.retired_models)
        if model.startswith("gemini-") and not known_model(model) and model not in retired:
            raise bad(f"models/{model} does not support predictLongRunning; use generateContent")
        check_served(model, served, retired, version, "predictLongRunning")
        if model in OMNI_MODELS:
            raise only_interactions(model, "predictLongRunning")
        return VEO_MODELS[model]

    def _create(self, request: Request, vertex_parent: str | None) -> str:
        model, version = request.params["model"], request.params["version"]
        vertex = vertex_parent is not None
        spec = self._spec(model, version, vertex=vertex)
        sub = parse_submission(spec, request.json(), vertex=vertex)
        if sub.storage_uri and self.gcs_root is None:
            raise bad("storageUri was given but this stand-in has no gcs_root to write gs:// outputs into")
        if sub.storage_uri and any(p in ("", ".", "..") for p in sub.storage_uri[5:].split("/")):
            raise bad(f"storageUri {sub.storage_uri!r} has an empty, '.' or '..' path segment")
        state = self.state
        with state.lock:
            now = time.monotonic()
            state.settle(now)
            output_seconds = sub.output_seconds
            if sub.extends_file is not None:
                found = state.file_job(sub.extends_file, now)
                source = found[0] if found is not None else None
                if not isinstance(source, Operation):
                    raise bad("instances[0].video does not name a Veo video generated in the last 2 days")
                if source.duration > MAX_EXTENDABLE_SECONDS:
                    raise bad(f"instances[0].video is {source.duration} s long; at most {MAX_EXTENDABLE_SECONDS} s")
                output_seconds = source.duration + EXTENSION_SECONDS  # one combined video (part 1 section 8)
            b = state.behaviour
            if b.submit_5xx_count > 0:
                b.submit_5xx_count -= 1
                raise Fail(b.submit_5xx_code, FAULT_MESSAGES[b.submit_5xx_code])
            if b.submit_429_count > 0:
                b.submit_429_count -= 1
                raise _quota(model, "PerMinute", b.retry_delay_seconds, 10)
            while state.recent and state.recent[0] <= now - RPM_WINDOW_SECONDS:
                state.recent.popleft()
            if b.rpm_limit is not None and len(state.recent) >= b.rpm_limit:
                wait = max(1, math.ceil(state.recent[0] + RPM_WINDOW_SECONDS - now))
                raise _quota(model, "PerMinute", wait, b.rpm_limit)
            busy = sum(1 for i in state.in_flight if isinstance(state.jobs.get(i), Operation))
            if b.max_concurrent is not None and busy >= b.max_concurrent:
                raise _quota(model, "Concurrent", b.retry_delay_seconds, b.max_concurrent)

            op_id = state.new_id()
            outcome, code = prompt_outcome(sub.prompt, b)
            reasons = tuple(b.filter_reasons)
            if code != b.support_code:  # [[rai:N]]
                reasons = tuple(_SUPPORT_CODES.sub(f"Support codes: {code}", r) for r in reasons)
            prefix = f"{vertex_parent}publishers/google/models/{model}" if vertex else f"models/{model}"
            render = b.render_resolution
            if render == "requested":
                render = sub.resolution if sub.resolution in ("240p", "360p", "720p", "1080p") else "240p"
            files: tuple[str, ...] = ()
            if not vertex:
                taken = state.jobs.keys() | state.files.keys() | {op_id}
                for _ in range(sub.sample_count):
                    files += (new_file := new_id(taken=taken),)
                    taken.add(new_file)
            job = Operation(
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
                ready_at=now + latency_of(sub.prompt, b),
                polls_needed=b.polls_before_done,
                outcome=outcome,
                filter_reasons=reasons,
                error={"code": b.error_code, "message": b.error_message},
                duration=output_seconds,
                aspect_ratio=sub.aspect_ratio,
                render_resolution=render,
                sample_count=sub.sample_count,
                seed=sub.seed,
                audio=sub.audio,
                storage_uri=sub.storage_uri,
                file_ids=files,
            )
            state.add(job)
            state.counts.per_prompt[sub.prompt] += 1
            state.recent.append(now)
            log.info("accepted %s (%s, outcome %s)", job.name, model, outcome)
            return job.name

    # poll

    def gemini_poll(self, request: Request) -> Reply:
        self.auth.gemini(request)
        return self._poll(f"models/{request.params['model']}/operations/{request.params['op']}", vertex=False)

    def vertex_poll(self, request: Request) -> Reply:
        self.auth.vertex(request)
        body = request.json()
        name = field_of(body, "operationName") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name:
            raise bad("operationName is required")
        resource = f"{request.params['parent']}publishers/google/models/{request.params['model']}"
        if name.rpartition("/operations/")[0] != resource:
            raise bad(f"operationName {name!r} does not belong to {resource}")
        return self._poll(name, vertex=True)

    def _poll(self, name: str, *, vertex: bool) -> Reply:
        state = self.state
        with state.lock:
            state.counts.polls += 1
            b = state.behaviour
            if b.poll_5xx_count > 0:
                b.poll_5xx_count -= 1
                raise Fail(b.poll_5xx_code, FAULT_MESSAGES[b.poll_5xx_code])
            now = time.monotonic()
            job = state.jobs.get(name.rpartition("/")[2])
            if (
                not isinstance(job, Operation)
                or job.name != name
                or job.vertex != vertex
                or not state.retained(job, now)
            ):
                raise Fail(404, f"Operation {name} was not found.")
            if not job.is_done(now):
                job.pending_answers += 1
                if job.is_done(now):
                    state.settle_job(job)
                return Reply(body={"name": job.name})
            state.settle_job(job)
        done: dict[str, Any] = {"name": job.name, "done": True}
        if job.outcome == "expired":
            raise Fail(404, f"Operation {name} was not found.")
        if job.outcome == "error":
            return Reply(body=done | {"error": dict(job.error)})
        result: dict[str, Any] = {}
        if job.outcome == "filtered":
            result = {"raiMediaFilteredCount": job.sample_count, "raiMediaFilteredReasons": list(job.filter_reasons)}
        elif job.outcome == "success" and vertex:
            videos = [self._vertex_video(job, i) for i in range(job.sample_count)]
            result = {"raiMediaFilteredCount": 0, "videos": videos}
        elif job.outcome == "success":
            result = {"generatedSamples": [{"video": {"uri": FILE_URI.format(id=f)}} for f in job.file_ids]}
        if vertex:
            return Reply(body=done | {"response": {"@type": _VERTEX_RESPONSE_TYPE, **result}})
        if job.outcome == "no_video":  # the "done but response is None" of python-genai #1559
            return Reply(body=done | {"response": {"@type": _GEMINI_RESPONSE_TYPE}})
        return Reply(body=done | {"response": {"@type": _GEMINI_RESPONSE_TYPE, "generateVideoResponse": result}})

    def _vertex_video(self, job: Operation, index: int) -> dict[str, str]:
        path = self.state.renderer.render(job.render_spec(), index)
        if job.storage_uri is None:
            return {"bytesBase64Encoded": base64.b64encode(path.read_bytes()).decode("ascii"), "mimeType": "video/mp4"}
        return {
            "gcsUri": write_gcs(self.gcs_root, f"{job.storage_uri}/{job.id}/sample_{index}.mp4", path),
            "mimeType": "video/mp4",
        }


def write_gcs(gcs_root: Path | None, uri: str, source: Path) -> str:
    """Copy ``source`` to the object ``uri`` (``gs://bucket/key`` is ``gcs_root/bucket/key``) once; return ``uri``."""
    assert gcs_root is not None
    dest = gcs_root / uri.removeprefix("gs://")
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
    return uri


def _quota(model: str, window: str, delay: int, limit: int) -> Fail:
    metric = "predict_long_running_requests" + ("_per_model" if window == "PerMinute" else "_concurrent")
    return quota_exceeded(
        f"PredictLongRunningRequests{window}PerProjectPerModel",
        delay,
        dimensions={"location": "global", "model": model},
        limit=limit,
        metric=metric,
    )
