"""VeoProvider and GeminiPromptHelper, driven through the real google-genai client against the Veo stand-in.

Nothing here patches the SDK: every call crosses HTTP to ``standin.VeoStandIn`` on a free port, and
``gs://`` reads go through a real fsspec filesystem rooted at the stand-in's ``gcs_root``. One stand-in
serves the module and is reset before each test; videos render at 240p, so the file runs in seconds.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest
from fsspec.implementations.dirfs import DirFileSystem
from fsspec.implementations.local import LocalFileSystem
from fsspec.registry import _registry as fsspec_registry
from google import genai
from google.genai import types
from google.oauth2.credentials import Credentials
from PIL import Image

from core.config import Settings
from core.errors import ProviderError, ProviderUnavailableError
from core.media import probe_video
from core.providers import google
from core.providers.base import GenerationRequest, ImageInput, OperationState, ProviderVideo
from core.providers.veo import GeminiPromptHelper, VeoProvider
from standin import DEFAULT_FILTER_REASON, LEGACY_GEMINI_VEO, Behaviour, VeoStandIn, enhance_prompt

FAST = "veo-3.1-fast-generate-001"


@pytest.fixture(autouse=True)
def _no_google_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real credentials, and nothing flips the SDK into Vertex mode behind our back."""
    for name in list(os.environ):
        if name.startswith(("GOOGLE_", "GEMINI_")):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def gcs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gcs")


@pytest.fixture(scope="module")
def server(gcs_root: Path) -> Iterator[VeoStandIn]:
    with VeoStandIn(
        api_key="test-key", gcs_root=gcs_root, behaviour=Behaviour(gemini_models=list(LEGACY_GEMINI_VEO))
    ) as running:
        yield running


@pytest.fixture
def standin(server: VeoStandIn) -> VeoStandIn:
    server.reset()
    server.configure(render_resolution="240p")
    return server


@pytest.fixture
def provider(standin: VeoStandIn) -> Iterator[VeoProvider]:
    p = VeoProvider(api_key="test-key", base_url=standin.url, timeout_seconds=20)
    yield p
    p.close()


def vertex_provider(standin: VeoStandIn, output_uri: str = "") -> VeoProvider:
    # A token with no expiry: the SDK never refreshes it nor looks for application-default credentials.
    return VeoProvider(
        vertex_project="p",
        base_url=standin.url,
        output_uri=output_uri,
        timeout_seconds=20,
        credentials=Credentials(token="fake-token"),
    )


@pytest.fixture
def gs_folder(gcs_root: Path) -> Iterator[Path]:
    """Register a real ``gs`` filesystem that maps ``gs://bucket/key`` to ``gcs_root/bucket/key``."""

    class GcsFolder(DirFileSystem):
        protocol = "gs"
        cachable = False

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(path=str(gcs_root), fs=LocalFileSystem(), **kwargs)

    saved = fsspec_registry.get("gs")
    fsspec.register_implementation("gs", GcsFolder, clobber=True)
    yield gcs_root
    if saved is None:
        fsspec_registry.pop("gs", None)
    else:
        fsspec.register_implementation("gs", saved, clobber=True)


def picture(fmt: str = "PNG", colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 36), colour).save(out, format=fmt)
    return out.getvalue()


def request(prompt: str = "a paper boat in the rain", **fields: Any) -> GenerationRequest:
    values: dict[str, Any] = {"model": FAST, "prompt": prompt, "duration_seconds": 4, "resolution": "720p"}
    values.update(fields)
    return GenerationRequest(**values)


def finish(provider: VeoProvider, name: str, polls: int = 10) -> OperationState:
    for _ in range(polls):
        state = provider.poll(name)
        if state.kind != "pending":
            return state
    raise AssertionError(f"{name} still pending after {polls} polls")


def no_leftovers(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.endswith(".part")]


# --- the pin --------------------------------------------------------------------------------


def test_installed_google_genai_is_2x():
    # 3.x refuses generate_videos with an API key before sending anything (reference section 0).
    assert int(genai.__version__.split(".")[0]) == 2


# --- API-key mode: the happy paths -----------------------------------------------------------


def test_text_to_video_submit_poll_fetch_writes_a_real_mp4(provider, standin, tmp_path):
    standin.configure(polls_before_done=2)
    name = provider.submit(request(aspect_ratio="9:16"))
    assert name.startswith(f"models/{FAST}/operations/")

    assert [provider.poll(name).kind for _ in range(2)] == ["pending", "pending"]
    state = provider.poll(name)
    assert state.kind == "succeeded" and len(state.videos) == 1
    assert state.videos[0].uri.startswith("https://") and state.videos[0].mime_type == "video/mp4"

    dest = tmp_path / "out" / "v.mp4"
    provider.fetch(state.videos[0], dest)
    info = probe_video(dest)
    assert info.duration_seconds == pytest.approx(4, abs=0.1)
    assert (info.width, info.height) == (240, 426)  # portrait, drawn at 240p
    assert no_leftovers(dest.parent)

    (job,) = standin.jobs()
    # Person generation omitted; empty negative prompt omitted; no seed unless asked.
    assert job["parameters"] == {"durationSeconds": 4, "aspectRatio": "9:16", "resolution": "720p", "sampleCount": 1}
    assert job["inputs"] == [] and job["prompt"] == "a paper boat in the rain"
    stats = standin.stats()
    assert (stats.submissions, stats.submit_requests, stats.polls, stats.downloads) == (1, 1, 3, 1)


def test_a_new_provider_instance_resumes_a_stored_operation(provider, standin, tmp_path):
    stored = provider.submit(request())
    provider.close()

    fresh = VeoProvider(api_key="test-key", base_url=standin.url)
    try:
        state = fresh.poll(stored)
        assert state.kind == "succeeded"
        fresh.fetch(state.videos[0], tmp_path / "v.mp4")
    finally:
        fresh.close()
    assert probe_video(tmp_path / "v.mp4").duration_seconds == pytest.approx(4, abs=0.1)
    assert standin.stats().submissions == 1


def test_from_settings_builds_a_working_provider(standin, tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path, gemini_api_key="test-key", veo_base_url=standin.url)
    p = VeoProvider.from_settings(settings)
    try:
        assert (p.name, p.label, p.idempotent_submit, p.vertex) == ("veo", "Google Veo", False, False)
        assert finish(p, p.submit(request())).kind == "succeeded"
    finally:
        p.close()


def test_image_mode_sends_the_first_frame(provider, standin):
    image = ImageInput(role="first_frame", data=picture(), mime_type="image/png")
    name = provider.submit(request(mode="image", images=(image,)))
    job = standin.jobs()[-1]
    assert [(i["role"], i["mime_type"], i["size_bytes"]) for i in job["inputs"]] == [
        ("image", "image/png", len(image.data))
    ]
    assert finish(provider, name).kind == "succeeded"


def test_frames_mode_sends_first_and_last_frame(provider, standin):
    first = ImageInput(role="first_frame", data=picture(), mime_type="image/png")
    last = ImageInput(role="last_frame", data=picture("JPEG", "blue"), mime_type="image/jpeg")
    provider.submit(request(mode="frames", duration_seconds=8, images=(first, last)))
    job = standin.jobs()[-1]
    assert [(i["role"], i["mime_type"]) for i in job["inputs"]] == [("image", "image/png"), ("lastFrame", "image/jpeg")]
    assert job["parameters"]["durationSeconds"] == 8


def test_reference_mode_sends_asset_reference_images(provider, standin):
    refs = tuple(ImageInput(role="reference", data=picture("PNG", c), mime_type="image/png") for c in ("red", "green"))
    name = provider.submit(request("the robot waters the plant", mode="reference", duration_seconds=8, images=refs))
    job = standin.jobs()[-1]
    assert [(i["role"], i["mime_type"]) for i in job["inputs"]] == [("reference:ASSET", "image/png")] * 2
    assert (job["parameters"]["durationSeconds"], job["parameters"]["aspectRatio"]) == (8, "16:9")
    assert finish(provider, name).kind == "succeeded"


def test_extend_mode_sends_the_earlier_videos_uri(provider, standin, tmp_path):
    original = finish(provider, provider.submit(request(duration_seconds=8))).videos[0]
    name = provider.submit(
        request("the boat sails on", mode="extend", duration_seconds=8, extend_video_uri=original.uri)
    )
    job = standin.jobs()[-1]
    assert job["inputs"] == [{"role": "video", "uri": original.uri}]
    assert (job["parameters"]["resolution"], job["parameters"]["durationSeconds"]) == ("720p", 8)
    state = finish(provider, name)
    provider.fetch(state.videos[0], tmp_path / "extended.mp4")
    # One combined video: the 8 s original and the 7 s Veo adds.
    assert probe_video(tmp_path / "extended.mp4").duration_seconds == pytest.approx(15, abs=0.1)


def test_seed_and_negative_prompt_reach_the_wire_in_api_key_mode(provider, standin):
    provider.submit(request(seed=1234, negative_prompt="text, watermark", duration_seconds=6))
    with urllib.request.urlopen(f"{standin.url}/_standin/jobs", timeout=5) as answer:  # what crossed the wire
        (job,) = json.load(answer)["jobs"]
    assert job["parameters"] == {
        "seed": 1234,  # through extra_body: the SDK refuses config.seed in API-key mode
        "durationSeconds": 6,
        "aspectRatio": "16:9",
        "resolution": "720p",
        "sampleCount": 1,
        "negativePrompt": "text, watermark",
    }


def test_veo2_omits_resolution_and_returns_every_sample(provider, standin):
    name = provider.submit(request(model="veo-2.0-generate-001", duration_seconds=5, sample_count=2))
    assert "resolution" not in standin.jobs()[-1]["parameters"]
    state = finish(provider, name)
    assert state.kind == "succeeded" and len({v.uri for v in state.videos}) == 2


def test_a_mode_without_its_inputs_is_refused_before_anything_is_sent(provider, standin):
    for bad in (request(mode="image"), request(mode="extend"), request(mode="frames"), request(mode="collage")):
        with pytest.raises(ProviderError) as caught:
            provider.submit(bad)
        assert caught.value.code == "INVALID_ARGUMENT" and not caught.value.retryable
    assert standin.stats().submit_requests == 0


# --- API-key mode: errors on the wire ----------------------------------------------------------


def test_quota_429_is_retryable_with_googles_retry_delay(provider, standin):
    standin.configure(submit_429_count=1, retry_delay_seconds=7)
    with pytest.raises(ProviderError) as caught:
        provider.submit(request())
    err = caught.value
    assert (err.code, err.retryable, err.retry_after_seconds) == ("RESOURCE_EXHAUSTED", True, 7.0)
    assert str(err).startswith("Veo answered 429 RESOURCE_EXHAUSTED: You exceeded your current quota")
    assert standin.stats().submissions == 0
    provider.submit(request())  # the quota has freed
    assert standin.stats().submissions == 1


@pytest.mark.parametrize(("status", "code"), [(503, "UNAVAILABLE"), (500, "INTERNAL"), (504, "DEADLINE_EXCEEDED")])
def test_5xx_on_submit_is_retryable_and_the_sdk_does_not_retry_it(provider, standin, status, code):
    standin.configure(submit_5xx_count=1, submit_5xx_code=status)
    with pytest.raises(ProviderError) as caught:
        provider.submit(request())
    assert (caught.value.code, caught.value.retryable, caught.value.retry_after_seconds) == (code, True, None)
    stats = standin.stats()
    assert (stats.submit_requests, stats.submissions) == (1, 0)  # one try, nothing paid


def test_503_on_poll_is_retryable_and_the_next_poll_works(provider, standin):
    name = provider.submit(request())
    standin.configure(poll_5xx_count=1)
    with pytest.raises(ProviderError) as caught:
        provider.poll(name)
    assert (caught.value.code, caught.value.retryable) == ("UNAVAILABLE", True)
    assert "The model is overloaded" in str(caught.value)
    assert provider.poll(name).kind == "succeeded"


def test_400_is_not_retryable_and_keeps_googles_message(provider, standin):
    with pytest.raises(ProviderError) as caught:
        provider.submit(request(resolution="1080p", duration_seconds=4))
    err = caught.value
    assert (err.code, err.retryable) == ("INVALID_ARGUMENT", False)
    assert "1080p output needs a duration of 8 s" in str(err)
    assert standin.stats().rejected_submits == {"400": 1}


def test_a_wrong_key_is_not_retryable(standin):
    p = VeoProvider(api_key="wrong-key", base_url=standin.url)
    try:
        with pytest.raises(ProviderError) as caught:
            p.submit(request())
    finally:
        p.close()
    assert caught.value.code in ("INVALID_ARGUMENT", "PERMISSION_DENIED") and not caught.value.retryable
    assert "API key not valid" in str(caught.value)


def test_an_unreachable_server_is_retryable(tmp_path):
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = VeoProvider(api_key="test-key", base_url=f"http://127.0.0.1:{port}", timeout_seconds=2)
    try:
        with pytest.raises(ProviderError) as caught:
            p.poll(f"models/{FAST}/operations/aaaaaaaaaaaa")
    finally:
        p.close()
    assert (caught.value.code, caught.value.retryable) == ("UNAVAILABLE", True)
    assert "Could not reach Veo: ConnectError" in str(caught.value)
    assert not caught.value.outcome_unknown  # nothing was sent, so trying again is safe


def test_a_field_the_sdk_refuses_client_side_is_invalid_argument(standin):
    client = google.make_client(api_key="test-key", base_url=standin.url)
    try:
        with pytest.raises(ProviderError) as caught:
            google.call(
                "Veo",
                lambda: client.models.generate_videos(
                    model=FAST, source=types.GenerateVideosSource(prompt="x"), config=types.GenerateVideosConfig(seed=1)
                ),
            )
    finally:
        client.close()
    assert (caught.value.code, caught.value.retryable) == ("INVALID_ARGUMENT", False)
    assert "seed parameter is only supported" in str(caught.value)
    assert standin.stats().submit_requests == 0


# --- API-key mode: how operations end -----------------------------------------------------------


def test_filtered_is_a_state_with_googles_reasons(provider, standin):
    standin.configure(outcome="filtered")
    state = finish(provider, provider.submit(request()))
    assert state == OperationState(kind="filtered", reasons=(DEFAULT_FILTER_REASON,))


@pytest.mark.parametrize(
    ("grpc", "code"), [(13, "INTERNAL"), (8, "RESOURCE_EXHAUSTED"), (3, "INVALID_ARGUMENT"), (99, "GRPC_99")]
)
def test_a_failed_operation_is_a_failed_state_named_by_its_grpc_code(provider, standin, grpc, code):
    standin.configure(outcome="error", error_code=grpc, error_message="Video generation failed.")
    state = finish(provider, provider.submit(request()))
    assert state == OperationState(kind="failed", code=code, message="Video generation failed.", retryable=False)


def test_done_without_a_video_is_no_video(provider, standin):
    standin.configure(outcome="no_video")
    state = finish(provider, provider.submit(request()))
    assert (state.kind, state.code, state.message, state.retryable) == (
        "failed",
        "NO_VIDEO",
        "Veo finished without returning a video.",
        False,
    )


def test_an_expired_or_unknown_operation_is_a_failed_not_found_state(provider, standin):
    standin.configure(outcome="expired")
    expired = provider.poll(provider.submit(request()))
    unknown = provider.poll(f"models/{FAST}/operations/zzzzzzzzzzzz")
    for state in (expired, unknown):
        assert (state.kind, state.code, state.retryable) == ("failed", "NOT_FOUND", False)
        assert "expired or never existed" in state.message


def test_an_expired_download_raises_not_retryable(provider, standin, tmp_path):
    state = finish(provider, provider.submit(request()))
    standin.configure(download_expired=True)
    with pytest.raises(ProviderError) as caught:
        provider.fetch(state.videos[0], tmp_path / "v.mp4")
    assert (caught.value.code, caught.value.retryable) == ("NOT_FOUND", False)
    assert "keeps videos 2 days" in str(caught.value)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


# --- Vertex AI mode ------------------------------------------------------------------------------


def test_vertex_inline_bytes_round_trip(standin, tmp_path):
    p = vertex_provider(standin)
    try:
        name = p.submit(request(seed=42, duration_seconds=6))
        assert name.startswith(f"projects/p/locations/us-central1/publishers/google/models/{FAST}/operations/")
        state = finish(p, name)
        assert state.kind == "succeeded"
        (video,) = state.videos
        assert video.uri == f"inline:{name}#0"  # the bytes stay in the operation, not in the URI
        p.fetch(video, tmp_path / "v.mp4")
    finally:
        p.close()
    assert probe_video(tmp_path / "v.mp4").duration_seconds == pytest.approx(6, abs=0.1)
    job = standin.jobs()[-1]
    assert job["vertex"] and job["parameters"]["seed"] == 42 and "storageUri" not in job["parameters"]


def test_vertex_gcs_output_is_read_back_through_fsspec(standin, gs_folder, tmp_path):
    p = vertex_provider(standin, output_uri="gs://bucket/out/")
    try:
        name = p.submit(request())
        state = finish(p, name)
        (video,) = state.videos
        op_id = name.rpartition("/")[2]
        assert video.uri == f"gs://bucket/out/{op_id}/sample_0.mp4"
        p.fetch(video, tmp_path / "v.mp4")
    finally:
        p.close()
    assert standin.jobs()[-1]["parameters"]["storageUri"] == "gs://bucket/out"
    assert (tmp_path / "v.mp4").read_bytes() == (gs_folder / "bucket" / "out" / op_id / "sample_0.mp4").read_bytes()
    assert probe_video(tmp_path / "v.mp4").duration_seconds == pytest.approx(4, abs=0.1)


def test_vertex_gcs_object_that_is_missing_is_not_found(standin, gs_folder, tmp_path):
    p = vertex_provider(standin, output_uri="gs://bucket/out")
    with pytest.raises(ProviderError) as caught:
        p.fetch(ProviderVideo(uri="gs://bucket/out/nothing/sample_0.mp4"), tmp_path / "v.mp4")
    assert (caught.value.code, caught.value.retryable) == ("NOT_FOUND", False)


def test_reading_gs_without_gcsfs_says_so(standin, tmp_path):
    if "gs" in fsspec_registry or importlib.util.find_spec("gcsfs"):
        pytest.skip("a gs:// implementation is installed")
    p = vertex_provider(standin, output_uri="gs://bucket/out")
    with pytest.raises(ProviderUnavailableError) as caught:
        p.fetch(ProviderVideo(uri="gs://bucket/out/x/sample_0.mp4"), tmp_path / "v.mp4")
    assert "reading gs:// needs the gcsfs package" in str(caught.value) and not caught.value.retryable


# --- prompt helper ---------------------------------------------------------------------------------


def test_prompt_helper_returns_the_models_rewrite(standin, tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path, gemini_api_key="test-key", veo_base_url=standin.url)
    helper = GeminiPromptHelper.from_settings(settings)
    try:
        assert helper.model == "gemini-flash-latest"
        assert helper.improve_prompt("a fox in the snow.") == enhance_prompt("a fox in the snow.")
    finally:
        helper.close()
    assert standin.stats().generate_content_calls == 1


def test_prompt_helper_503_is_retryable(standin):
    standin.configure(generate_content_fail=True)
    helper = GeminiPromptHelper(api_key="test-key", base_url=standin.url)
    try:
        with pytest.raises(ProviderError) as caught:
            helper.improve_prompt("a fox")
    finally:
        helper.close()
    assert (caught.value.code, caught.value.retryable) == ("UNAVAILABLE", True)
    assert str(caught.value).startswith("Gemini answered 503 UNAVAILABLE")


# --- not configured ----------------------------------------------------------------------------------


def test_unconfigured_provider_and_helper_are_unavailable(tmp_path):
    with pytest.raises(ProviderUnavailableError, match="VEOGEN_GEMINI_API_KEY or VEOGEN_VERTEX_PROJECT"):
        VeoProvider()
    settings = Settings(_env_file=None, data_dir=tmp_path)
    with pytest.raises(ProviderUnavailableError) as caught:
        VeoProvider.from_settings(settings)
    assert caught.value.code == "UNAVAILABLE" and not caught.value.retryable
    with pytest.raises(ProviderUnavailableError, match="Prompt help needs a Gemini API key"):
        GeminiPromptHelper.from_settings(settings)
    vertex_only = Settings(_env_file=None, data_dir=tmp_path, vertex_project="p")
    with pytest.raises(ProviderUnavailableError):
        GeminiPromptHelper.from_settings(vertex_only)
    assert VeoProvider.from_settings(vertex_only).vertex


def test_vertex_without_credentials_is_unavailable(standin, monkeypatch, tmp_path):
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))  # no gcloud application-default credentials file
    monkeypatch.setenv("NO_GCE_CHECK", "True")  # and no metadata server to ask
    p = VeoProvider(vertex_project="p", base_url=standin.url)
    try:
        with pytest.raises(ProviderUnavailableError) as caught:
            p.submit(request())
    finally:
        p.close()
    assert (caught.value.code, caught.value.retryable) == ("UNAUTHENTICATED", False)
    assert standin.stats().submit_requests == 0


def test_a_server_that_never_answers_times_out_retryably():
    with socket.socket() as silent:  # listens, so connects succeed, but never reads or answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        p = VeoProvider(api_key="test-key", base_url=f"http://127.0.0.1:{silent.getsockname()[1]}", timeout_seconds=0.3)
        try:
            with pytest.raises(ProviderError) as caught:
                p.submit(request())
        finally:
            p.close()
    assert (caught.value.code, caught.value.retryable) == ("UNAVAILABLE", True)
    assert caught.value.outcome_unknown  # the request went out: a paid submit must not be repeated
    assert "ReadTimeout" in str(caught.value)
