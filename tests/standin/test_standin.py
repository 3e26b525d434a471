"""The stand-in's Veo operations, text model and control API, driven by the real google-genai client (never a
patched SDK). Veo on the Gemini API runs with the pre-December-2026 ids (``LEGACY_GEMINI_VEO``).

Each test starts its own stand-in on a free port; videos render at 240p, so the file runs in seconds.
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import io
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google import genai
from google.genai import errors, types
from google.oauth2.credentials import Credentials
from PIL import Image
from pydantic import BaseModel

from core.media import probe_video
from standin import DEFAULT_FILTER_REASON, ENHANCE_SUFFIX, LEGACY_GEMINI_VEO, Behaviour, VeoStandIn, enhance_prompt

ROOT = Path(__file__).resolve().parents[2]
FAST = "veo-3.1-fast-generate-preview"
OP_NAME = re.compile(r"models/(?P<model>[a-z0-9.-]+)/operations/[a-z0-9]{12}")
FILE_URI = re.compile(r"https://generativelanguage\.googleapis\.com/v1beta/files/[a-z0-9]{12}:download\?alt=media")


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[VeoStandIn]:
    """The Veo ids API keys used before December 2026 (the default serves only Omni to API keys)."""
    with VeoStandIn(gcs_root=tmp_path / "gcs", behaviour=Behaviour(gemini_models=list(LEGACY_GEMINI_VEO))) as server:
        yield server


@pytest.fixture
def client(standin: VeoStandIn) -> Iterator[genai.Client]:
    c = genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=standin.url))
    yield c
    c.close()


@pytest.fixture
def vertex(standin: VeoStandIn) -> Iterator[genai.Client]:
    c = genai.Client(
        vertexai=True,
        project="p",
        location="us-central1",
        credentials=Credentials(token="fake-token"),  # a token and no expiry: the SDK never refreshes or asks ADC
        http_options=types.HttpOptions(base_url=standin.url),
    )
    yield c
    c.close()


def submit(client: genai.Client, prompt: str = "a paper boat in the rain", model: str = FAST, **config: Any):
    return client.models.generate_videos(
        model=model,
        source=types.GenerateVideosSource(prompt=prompt),
        config=types.GenerateVideosConfig(**config),
    )


def wait(client: genai.Client, op: Any, *, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while not op.done:
        assert time.monotonic() < deadline, "operation never finished"
        time.sleep(0.02)
        op = client.operations.get(op)
    return op


def png(colour: str = "red", size: tuple[int, int] = (64, 36)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def call(standin: VeoStandIn, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None):
    """A raw request: for what the SDK cannot send (no key at all) and for the control API."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(standin.url + path, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# --- Gemini API: the happy path -----------------------------------------------------------


def test_text_to_video_round_trip_gives_a_real_mp4_of_the_requested_length(client, standin, tmp_path):
    op = submit(client, duration_seconds=4, aspect_ratio="9:16", resolution="720p", negative_prompt="text")
    assert OP_NAME.fullmatch(op.name) and not op.done

    op = wait(client, op)
    assert op.error is None
    (generated,) = op.response.generated_videos
    assert FILE_URI.fullmatch(generated.video.uri)

    data = client.files.download(file=generated.video)
    assert data[4:8] == b"ftyp" and generated.video.video_bytes == data
    (tmp_path / "v.mp4").write_bytes(data)
    info = probe_video(tmp_path / "v.mp4")
    assert info.duration_seconds == pytest.approx(4, abs=0.1)
    assert (info.width, info.height, info.fps, info.codec) == (240, 426, 24.0, "h264")  # portrait, 240p by default
    assert info.has_audio  # Veo 3.x always has an audio track

    stats = standin.stats()
    assert stats.submissions == 1 and stats.downloads == 1 and stats.in_flight == 0 and stats.peak_in_flight == 1
    assert stats.seconds_generated == {FAST: 4.0}
    (job,) = standin.jobs()
    assert job["parameters"] == {
        "durationSeconds": 4,
        "aspectRatio": "9:16",
        "resolution": "720p",
        "negativePrompt": "text",
    }


def test_veo2_is_silent_and_makes_two_samples(client, standin, tmp_path):
    op = wait(client, submit(client, model="veo-2.0-generate-001", duration_seconds=5, number_of_videos=2))
    assert len(op.response.generated_videos) == 2
    (tmp_path / "v.mp4").write_bytes(client.files.download(file=op.response.generated_videos[1]))
    info = probe_video(tmp_path / "v.mp4")
    assert info.duration_seconds == pytest.approx(5, abs=0.1) and not info.has_audio
    assert standin.stats().seconds_generated == {"veo-2.0-generate-001": 10.0}


def test_requested_render_resolution_draws_at_the_requested_size(client, standin, tmp_path):
    standin.configure(render_resolution="requested")
    op = wait(client, submit(client, model="veo-2.0-generate-001", duration_seconds=5))
    (tmp_path / "v.mp4").write_bytes(client.files.download(file=op.response.generated_videos[0].video))
    assert (probe_video(tmp_path / "v.mp4").width, probe_video(tmp_path / "v.mp4").height) == (1280, 720)


def test_an_operation_resumes_from_its_stored_name_in_another_client(client, standin):
    stored = submit(client).name
    fresh = genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=standin.url))
    try:
        op = fresh.operations.get(types.GenerateVideosOperation(name=stored))
        assert op.done and op.name == stored and op.response.generated_videos
    finally:
        fresh.close()


def test_polls_before_done_are_answered_pending(client, standin):
    standin.configure(polls_before_done=2)
    op = submit(client)
    assert [client.operations.get(op).done for _ in range(3)] == [None, None, True]
    assert standin.stats().polls == 3


def test_latency_and_the_slow_keyword(client, standin):
    standin.configure(latency_seconds=0.1)
    started = time.monotonic()
    quick, slow = submit(client, "quick"), submit(client, "[[slow]] tortoise")  # [[slow]]: 10 × 0.1 s
    time.sleep(0.2)
    assert client.operations.get(quick).done and not client.operations.get(slow).done
    assert standin.stats().in_flight == 1
    wait(client, slow)
    assert time.monotonic() - started >= 1.0


def test_download_via_redirect_and_after_expiry(client, standin):
    op = wait(client, submit(client))
    standin.configure(redirect_downloads=True)
    assert client.files.download(file=op.response.generated_videos[0])[4:8] == b"ftyp"
    file_id = op.response.generated_videos[0].video.uri.split("files/")[1].split(":")[0]
    conn = http.client.HTTPConnection("127.0.0.1", standin.port, timeout=5)
    conn.request("GET", f"/v1beta/files/{file_id}:download?alt=media", headers={"x-goog-api-key": "test-key"})
    response = conn.getresponse()
    assert (response.status, response.headers["Location"], response.read()) == (302, f"/blob/{file_id}", b"")
    conn.close()
    assert standin.stats().downloads == 1
    standin.configure(download_expired=True)
    with pytest.raises(errors.ClientError) as caught:
        client.files.download(file=op.response.generated_videos[0])
    assert caught.value.code == 404 and caught.value.status == "NOT_FOUND"


def test_async_client_round_trip(standin):
    async def run() -> bytes:
        c = genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=standin.url))
        op = await c.aio.models.generate_videos(model=FAST, source=types.GenerateVideosSource(prompt="async"))
        while not op.done:
            op = await c.aio.operations.get(op)
        data = await c.aio.files.download(file=op.response.generated_videos[0].video)
        await c.aio.aclose()
        c.close()
        return data

    assert asyncio.run(run())[4:8] == b"ftyp"


# --- faults -----------------------------------------------------------------------------


def test_429_carries_quota_failure_and_retry_delay(client, standin):
    standin.configure(submit_429_count=1, retry_delay_seconds=7)
    with pytest.raises(errors.ClientError) as caught:
        submit(client, "once")
    err = caught.value
    assert (err.code, err.status) == (429, "RESOURCE_EXHAUSTED")
    details = err.details["error"]["details"]
    assert {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"} in details
    assert any(d["@type"] == "type.googleapis.com/google.rpc.QuotaFailure" for d in details)

    submit(client, "once")  # the count ran out
    stats = standin.stats()
    assert (stats.submissions, stats.submit_requests, stats.rejected_submits) == (1, 2, {"429": 1})
    assert stats.submissions_per_prompt == {"once": 1}


def test_sdk_retries_through_injected_faults_and_only_one_job_is_made(standin):
    standin.configure(submit_429_count=1, submit_5xx_count=1)
    retry = types.HttpRetryOptions(attempts=3, initial_delay=0.01, max_delay=0.02, http_status_codes=[429, 503])
    c = genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=standin.url, retry_options=retry))
    try:
        submit(c, "retried")
    finally:
        c.close()
    stats = standin.stats()
    assert (stats.submit_requests, stats.submissions, stats.rejected_submits) == (3, 1, {"503": 1, "429": 1})


def test_5xx_on_submit_and_poll_raise_server_error(client, standin):
    standin.configure(submit_5xx_count=1)
    with pytest.raises(errors.ServerError) as caught:
        submit(client)
    assert (caught.value.code, caught.value.status, caught.value.message) == (
        503,
        "UNAVAILABLE",
        "The model is overloaded. Please try again later.",
    )
    standin.configure(submit_5xx_count=1, submit_5xx_code=500)
    with pytest.raises(errors.ServerError, match="INTERNAL"):
        submit(client)

    op = submit(client)
    standin.configure(poll_5xx_count=1)
    with pytest.raises(errors.ServerError):
        client.operations.get(op)
    assert client.operations.get(op).done


def test_rpm_limit_and_max_concurrent(client, standin):
    standin.configure(rpm_limit=2)
    submit(client, "a"), submit(client, "b")
    with pytest.raises(errors.ClientError) as caught:
        submit(client, "c")
    retry = next(d for d in caught.value.details["error"]["details"] if "retryDelay" in d)
    assert caught.value.code == 429 and 1 <= int(retry["retryDelay"][:-1]) <= 60

    standin.reset()
    standin.configure(max_concurrent=1, latency_seconds=30)
    submit(client, "running")
    with pytest.raises(errors.ClientError, match="RESOURCE_EXHAUSTED"):
        submit(client, "second")
    assert standin.stats().in_flight == 1


@pytest.mark.parametrize("how", ["keyword", "setting"])
def test_filtered_operation_has_reasons_and_no_videos(client, standin, how):
    reasons = ["We encountered an issue with the audio for your prompt. You have not been charged."]
    if how == "setting":
        standin.configure(outcome="filtered", filter_reasons=reasons)
    op = wait(client, submit(client, "[[rai]] something" if how == "keyword" else "something"))
    assert op.error is None and op.response.generated_videos is None
    assert op.response.rai_media_filtered_count == 1
    assert op.response.rai_media_filtered_reasons == (reasons if how == "setting" else [DEFAULT_FILTER_REASON])
    assert standin.stats().seconds_generated == {}


def test_failed_operation_carries_a_grpc_error(client, standin):
    op = wait(client, submit(client, "[[fail]] x"))
    assert op.error == {"code": 13, "message": "Video generation failed due to an internal error. Please try again."}
    standin.configure(outcome="error", error_code=8, error_message="Resource exhausted.")
    assert wait(client, submit(client)).error == {"code": 8, "message": "Resource exhausted."}


def test_done_without_video(client):
    op = wait(client, submit(client, "[[novideo]] x"))
    assert op.done and op.error is None and op.response is None


def test_expired_operation_answers_404(client, standin):
    op = submit(client, "[[expire]] x")
    with pytest.raises(errors.ClientError) as caught:
        client.operations.get(op)
    assert (caught.value.code, caught.value.status) == (404, "NOT_FOUND")
    with pytest.raises(errors.ClientError, match="404"):
        client.operations.get(types.GenerateVideosOperation(name=f"models/{FAST}/operations/aaaaaaaaaaaa"))

    done = wait(client, submit(client, "kept two days"))
    standin.configure(retention_seconds=0)  # as if two days had passed
    with pytest.raises(errors.ClientError, match="404"):
        client.operations.get(done)
    with pytest.raises(errors.ClientError, match="404"):
        client.files.download(file=done.response.generated_videos[0])


def test_reset_restores_the_knobs_given_at_construction(tmp_path):
    with VeoStandIn(behaviour=Behaviour(latency_seconds=2, filter_reasons=["x"])) as server:
        server.configure(latency_seconds=0, outcome="error")
        server.reset()
        assert (server.behaviour.latency_seconds, server.behaviour.outcome, server.behaviour.filter_reasons) == (
            2.0,
            "success",
            ["x"],
        )
    with pytest.raises(ValueError, match="latency_seconds"):
        VeoStandIn(behaviour=Behaviour(latency_seconds=-1))


def test_wrong_key_is_400_api_key_invalid_and_missing_key_is_403(standin):
    bad = genai.Client(api_key="nope", http_options=types.HttpOptions(base_url=standin.url))
    with pytest.raises(errors.ClientError) as caught:
        submit(bad)
    bad.close()
    assert (caught.value.code, caught.value.status) == (400, "INVALID_ARGUMENT")
    assert caught.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"

    status, body = call(standin, "POST", f"/v1beta/models/{FAST}:predictLongRunning", {"instances": [{"prompt": "x"}]})
    assert (
        status == 403
        and body["error"]["status"] == "PERMISSION_DENIED"
        and set(body["error"])
        == {
            "code",
            "message",
            "status",
            "details",
        }
    )
    assert standin.stats().submit_requests == 0


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "config", "needle"),
    [
        (FAST, {"resolution": "1080p", "duration_seconds": 4}, "8 s"),
        ("veo-3.1-lite-generate-preview", {"resolution": "4k", "duration_seconds": 8}, "4k is not supported"),
        (FAST, {"duration_seconds": 5}, "one of 4, 6, 8"),
        ("veo-2.0-generate-001", {"duration_seconds": 4}, "one of 5, 6, 7, 8"),
        (FAST, {"number_of_videos": 2}, "sampleCount"),
        ("veo-3.0-generate-001", {"resolution": "1080p", "aspect_ratio": "9:16"}, "only at 16:9"),
        (FAST, {"aspect_ratio": "4:3"}, "aspectRatio"),
    ],
)
def test_invalid_requests_get_400_with_a_clear_message(client, standin, model, config, needle):
    with pytest.raises(errors.ClientError) as caught:
        submit(client, model=model, **config)
    assert caught.value.code == 400 and caught.value.status == "INVALID_ARGUMENT"
    assert needle in caught.value.message
    assert standin.stats().submissions == 0


def test_unknown_model_is_404_and_a_prompt_is_required(client):
    with pytest.raises(errors.ClientError) as caught:
        submit(client, model="veo-9-imaginary")
    assert (caught.value.code, caught.value.status) == (404, "NOT_FOUND")
    with pytest.raises(errors.ClientError, match="prompt is required"):
        client.models.generate_videos(model=FAST, source=types.GenerateVideosSource())


def test_image_last_frame_and_reference_images_are_accepted_without_keeping_bytes(client, standin):
    first, last = (
        types.Image(image_bytes=png("red"), mime_type="image/png"),
        types.Image(image_bytes=png(), mime_type="image/png"),
    )
    op = client.models.generate_videos(
        model=FAST,
        source=types.GenerateVideosSource(prompt="the kite rises", image=first),
        config=types.GenerateVideosConfig(last_frame=last),
    )
    assert wait(client, op).response.generated_videos
    op = client.models.generate_videos(model=FAST, source=types.GenerateVideosSource(image=first))  # no prompt
    assert wait(client, op).response.generated_videos
    refs = [types.VideoGenerationReferenceImage(image=first, reference_type="asset")] * 2
    op = submit(client, "robot waters plant", reference_images=refs, duration_seconds=8)
    assert wait(client, op).response.generated_videos

    jobs = standin.jobs()
    assert jobs[0]["inputs"] == [
        {"role": "image", "mime_type": "image/png", "size_bytes": len(png("red"))},
        {"role": "lastFrame", "mime_type": "image/png", "size_bytes": len(png())},
    ]
    assert [i["role"] for i in jobs[2]["inputs"]] == ["reference:ASSET", "reference:ASSET"]
    assert "bytesBase64Encoded" not in json.dumps(jobs)

    with pytest.raises(errors.ClientError, match="8 s"):
        submit(client, reference_images=refs, duration_seconds=4)
    with pytest.raises(errors.ClientError, match="lastFrame needs"):
        submit(client, last_frame=last)
    with pytest.raises(errors.ClientError, match="mimeType"):
        client.models.generate_videos(
            model=FAST, source=types.GenerateVideosSource(image=types.Image(image_bytes=b"x", mime_type="text/plain"))
        )


def test_extension_of_a_generated_video_is_the_combined_video_at_720p(client, tmp_path):
    first = wait(client, submit(client, duration_seconds=4)).response.generated_videos[0].video
    client.files.download(file=first)  # like a real app: the Video then has both uri and bytes
    op = wait(
        client, client.models.generate_videos(model=FAST, source=types.GenerateVideosSource(prompt="on", video=first))
    )
    (tmp_path / "x.mp4").write_bytes(client.files.download(file=op.response.generated_videos[0]))
    assert probe_video(tmp_path / "x.mp4").duration_seconds == pytest.approx(4 + 7, abs=0.1)  # original + 7 s

    with pytest.raises(errors.ClientError, match="720p"):
        client.models.generate_videos(
            model=FAST,
            source=types.GenerateVideosSource(prompt="on", video=first),
            config=types.GenerateVideosConfig(resolution="1080p"),
        )
    unknown = types.Video(uri="https://generativelanguage.googleapis.com/v1beta/files/zzzzzzzzzzzz:download?alt=media")
    with pytest.raises(errors.ClientError, match="does not name a Veo video"):
        client.models.generate_videos(model=FAST, source=types.GenerateVideosSource(prompt="on", video=unknown))


def test_snake_case_keys_and_numeric_string_durations_are_accepted(standin):
    body = {
        "instances": [{"prompt": "snake"}],
        "parameters": {"duration_seconds": "6", "aspect_ratio": "9:16", "sample_count": 1, "someFutureKey": True},
    }
    status, reply = call(
        standin, "POST", f"/v1beta/models/{FAST}:predictLongRunning", body, {"x-goog-api-key": "test-key"}
    )
    assert status == 200 and OP_NAME.fullmatch(reply["name"])
    status, reply = call(standin, "GET", f"/v1beta/{reply['name']}", headers={"x-goog-api-key": "test-key"})
    assert status == 200 and reply["done"] is True


def test_submissions_are_counted_per_prompt(client, standin):
    for prompt in ("twice", "twice", "once"):
        submit(client, prompt)
    assert standin.stats().submissions_per_prompt == {"twice": 2, "once": 1}


# --- text model -----------------------------------------------------------------------------


def test_generate_content_returns_the_improved_prompt_and_can_fail(client, standin):
    resp = client.models.generate_content(
        model="gemini-flash-latest",
        contents="A lighthouse at dusk.",
        config=types.GenerateContentConfig(system_instruction="Improve this video prompt.", temperature=0.2),
    )
    assert resp.text == "A lighthouse at dusk" + ENHANCE_SUFFIX == enhance_prompt("A lighthouse at dusk.")
    assert resp.usage_metadata.total_token_count > 0

    standin.configure(generate_content_fail=True)
    with pytest.raises(errors.ServerError) as caught:
        client.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert caught.value.code == 503
    with pytest.raises(errors.ClientError, match="PredictLongRunning"):
        client.models.generate_content(model=FAST, contents="x")


def test_generate_content_fills_a_json_schema(client):
    class Scene(BaseModel):
        prompt: str
        seconds: int

    class Tags(BaseModel):
        tags: list[str]

    resp = client.models.generate_content(
        model="gemini-2.5-flash",
        contents="A heist movie. The vault opens!",
        config=types.GenerateContentConfig(response_mime_type="application/json", response_schema=list[Scene]),
    )
    # A shot list: one scene per sentence, 4 s + a third of its words.
    assert [(s.prompt, s.seconds) for s in resp.parsed] == [
        (enhance_prompt("A heist movie."), 5),
        (enhance_prompt("The vault opens!"), 5),
    ]
    resp = client.models.generate_content(
        model="gemini-2.5-flash",
        contents="a heist movie",
        config=types.GenerateContentConfig(response_mime_type="application/json", response_schema=Tags),
    )
    assert resp.parsed.tags == [f"{enhance_prompt('a heist movie')} (part {i})" for i in (1, 2, 3)]


def test_models_list_and_get(client):
    names = [m.name for m in client.models.list()]
    assert f"models/{FAST}" in names and "models/gemini-flash-latest" in names
    assert client.models.get(model="veo-2.0-generate-001").supported_actions == ["predictLongRunning"]


# --- Vertex AI ------------------------------------------------------------------------------


def test_vertex_round_trip_with_inline_bytes(vertex, standin, tmp_path):
    op = submit(vertex, model="veo-3.1-generate-001", duration_seconds=6, seed=7, generate_audio=False)
    assert re.fullmatch(
        r"projects/p/locations/us-central1/publishers/google/models/veo-3.1-generate-001/operations/[a-z0-9]{12}",
        op.name,
    )
    op = wait(vertex, op)
    video = op.response.generated_videos[0].video
    assert video.mime_type == "video/mp4" and video.uri is None
    video.save(str(tmp_path / "v.mp4"))
    info = probe_video(tmp_path / "v.mp4")
    assert info.duration_seconds == pytest.approx(6, abs=0.1) and not info.has_audio  # generateAudio false
    assert standin.jobs()[0]["parameters"]["seed"] == 7


def test_vertex_writes_gcs_outputs_under_gcs_root(vertex, standin, tmp_path):
    from fsspec.implementations.dirfs import DirFileSystem
    from fsspec.implementations.local import LocalFileSystem

    op = wait(
        vertex, submit(vertex, model="veo-3.1-fast-generate-001", output_gcs_uri="gs://bucket/out", duration_seconds=4)
    )
    uri = op.response.generated_videos[0].video.uri
    assert re.fullmatch(r"gs://bucket/out/[a-z0-9]{12}/sample_0\.mp4", uri)
    gcs = DirFileSystem(path=str(tmp_path / "gcs"), fs=LocalFileSystem())  # gs://bucket/key → gcs_root/bucket/key
    data = gcs.cat_file(uri.removeprefix("gs://"))
    (tmp_path / "g.mp4").write_bytes(data)
    assert probe_video(tmp_path / "g.mp4").duration_seconds == pytest.approx(4, abs=0.1)


def test_vertex_express_mode_with_an_api_key_has_no_project_in_the_path(standin):
    express = genai.Client(vertexai=True, api_key="test-key", http_options=types.HttpOptions(base_url=standin.url))
    try:
        op = submit(express, model="veo-3.1-fast-generate-001", duration_seconds=4)
        assert re.fullmatch(r"publishers/google/models/veo-3.1-fast-generate-001/operations/[a-z0-9]{12}", op.name)
        assert wait(express, op).response.generated_videos[0].video.video_bytes[4:8] == b"ftyp"
    finally:
        express.close()


def test_vertex_faults_use_the_vertex_shapes(vertex):
    model = "veo-3.1-fast-generate-001"
    filtered = wait(vertex, submit(vertex, "[[rai]] x", model=model))
    assert filtered.response.generated_videos is None and filtered.response.rai_media_filtered_reasons
    assert wait(vertex, submit(vertex, "[[fail]] x", model=model)).error["code"] == 13
    empty = wait(vertex, submit(vertex, "[[novideo]] x", model=model))
    assert empty.error is None and empty.response.generated_videos is None
    with pytest.raises(errors.ClientError, match="404"):
        vertex.operations.get(submit(vertex, "[[expire]] x", model=model))


def test_vertex_needs_a_credential(standin):
    path = "/v1beta1/projects/p/locations/l/publishers/google/models/veo-3.1-fast-generate-001:predictLongRunning"
    status, body = call(standin, "POST", path, {"instances": [{"prompt": "x"}]})
    assert status == 401 and body["error"]["status"] == "UNAUTHENTICATED"
    status, body = call(standin, "POST", path, {"instances": [{"prompt": "x"}]}, {"Authorization": "Bearer t"})
    assert status == 200 and body["name"].startswith("projects/p/locations/l/publishers/google/models/")


# --- control API, transport and CLI ----------------------------------------------------------


def test_http_control_endpoints(client, standin):
    status, behaviour = call(standin, "POST", "/_standin/config", {"outcome": "filtered", "latency_seconds": 1})
    assert status == 200 and behaviour["outcome"] == "filtered" and behaviour["latency_seconds"] == 1.0
    assert standin.behaviour.outcome == "filtered"
    status, body = call(standin, "POST", "/_standin/config", {"outcome": "maybe"})
    assert status == 400 and "outcome must be one of" in body["error"]["message"]
    status, body = call(standin, "POST", "/_standin/config", {"no_such_knob": 1})
    assert status == 400 and "unknown setting" in body["error"]["message"]

    submit(client, "counted")
    status, stats = call(standin, "GET", "/_standin/stats")
    assert status == 200 and stats["submissions_per_prompt"] == {"counted": 1} and stats["in_flight"] == 1
    status, jobs = call(standin, "GET", "/_standin/jobs")
    assert jobs["jobs"][0]["outcome"] == "filtered"
    status, behaviour = call(standin, "POST", "/_standin/reset")
    assert status == 200 and behaviour["outcome"] == "success" and standin.stats().submissions == 0
    assert call(standin, "GET", "/_standin/health") == (200, {"ok": True})


def test_keep_alive_connection_serves_several_requests(standin):
    conn = http.client.HTTPConnection("127.0.0.1", standin.port, timeout=5)
    try:
        for _ in range(3):
            conn.request("GET", "/v1beta/models", headers={"x-goog-api-key": "test-key"})
            response = conn.getresponse()
            assert response.status == 200 and int(response.headers["Content-Length"]) == len(response.read())
        conn.request("GET", "/nowhere")
        response = conn.getresponse()
        assert response.status == 404 and json.loads(response.read())["error"]["code"] == 404
    finally:
        conn.close()


def test_python_m_standin_serves_in_the_foreground():
    proc = subprocess.Popen(
        [sys.executable, "-m", "standin", "--port", "0", "--latency", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+", proc.stdout.readline()).group(0)
        with urllib.request.urlopen(url + "/_standin/health", timeout=5) as response:
            assert json.loads(response.read()) == {"ok": True}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


def test_base64_image_must_decode(standin):
    body = {"instances": [{"prompt": "x", "image": {"bytesBase64Encoded": "!!!", "mimeType": "image/png"}}]}
    status, reply = call(
        standin, "POST", f"/v1beta/models/{FAST}:predictLongRunning", body, {"x-goog-api-key": "test-key"}
    )
    assert status == 400 and "base64" in reply["error"]["message"]
    body["instances"][0]["image"]["bytesBase64Encoded"] = base64.b64encode(png()).decode()
    assert (
        call(standin, "POST", f"/v1beta/models/{FAST}:predictLongRunning", body, {"x-goog-api-key": "test-key"})[0]
        == 200
    )


def test_python_m_standin_takes_the_model_flags():
    proc = subprocess.Popen(
        [sys.executable, "-m", "standin", "--port", "0", "--gemini-models", "gemini-omni-1.1-flash", "--legacy-veo"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+", proc.stdout.readline()).group(0)
        with urllib.request.urlopen(url + "/_standin/config", timeout=5) as response:
            served = json.loads(response.read())["gemini_models"]
        assert served[0] == "gemini-omni-1.1-flash" and FAST in served
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


def test_every_knob_and_counter_is_in_the_readme():
    import dataclasses

    from standin import Stats

    readme = (ROOT / "standin" / "README.md").read_text()
    names = [f.name for f in dataclasses.fields(Behaviour)] + [f.name for f in dataclasses.fields(Stats)]
    assert [n for n in names if f"`{n}`" not in readme] == []
