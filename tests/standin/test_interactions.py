"""Gemini Omni Flash through the Interactions API (part 2 §2), driven by the real google-genai client:
synchronous and background creates, inline and uri delivery, Files state, edits and extensions, outcomes."""

from __future__ import annotations

import base64
import re
import time

import pytest
from google import genai
from google.genai._gaos.lib import compat_errors
from google.oauth2.credentials import Credentials

from standin import FILE_URI, VeoStandIn
from tests.standin.support import ONE_POST, b64, gemini_client, png, probe_seconds

OMNI = "gemini-omni-1.1-flash"
URI = re.compile(r"https://generativelanguage\.googleapis\.com/v1beta/files/([a-z0-9]{12}):download\?alt=media")


def video(seconds: int, **fmt: str) -> dict[str, str]:
    return {"type": "video", "duration": f"{seconds}s"} | fmt


def create(c: genai.Client, prompt: str = "a kite over the dunes", **kwargs):
    kwargs.setdefault("response_format", video(3))
    return c.interactions.create(model=kwargs.pop("model", OMNI), input=kwargs.pop("input", prompt), **kwargs)


# --- synchronous ---------------------------------------------------------------------------


def test_a_synchronous_create_answers_when_done_with_an_inline_mp4(client, standin, tmp_path):
    standin.configure(latency_seconds=0.2)
    started = time.monotonic()
    got = create(client, input=[{"type": "text", "text": "a kite"}], response_format=video(4, aspect_ratio="9:16"))
    assert time.monotonic() - started >= 0.2
    assert got.status == "completed" and got.id.startswith("v1_") and got.output_video.mime_type == "video/mp4"
    data = base64.b64decode(got.output_video.data)
    assert data[4:8] == b"ftyp" and probe_seconds(data, tmp_path) == pytest.approx(4, abs=0.1)
    assert got.usage.total_output_tokens == 4 * 5792
    assert [(m.modality, m.tokens) for m in got.usage.output_tokens_by_modality] == [("video", 4 * 5792)]
    stats = standin.stats()
    assert (stats.interactions_created, stats.seconds_generated, stats.in_flight) == (1, {OMNI: 4.0}, 0)
    (job,) = standin.jobs()
    assert (job["kind"], job["name"], job["done"]) == ("interaction", got.id, True)
    assert job["finished_at"] == standin.finished_at(got.id) and job["finished_at"] <= time.time()


def test_uri_delivery_goes_through_files_and_get_returns_the_video_inline(client, standin, tmp_path):
    got = create(client, response_format=video(3, delivery="uri"))
    assert got.output_video.data is None and URI.fullmatch(got.output_video.uri)
    file_id = URI.fullmatch(got.output_video.uri).group(1)
    assert [client.files.get(name=f"files/{file_id}").state.name for _ in range(2)] == ["PROCESSING", "ACTIVE"]
    active = client.files.get(name=f"files/{file_id}")
    assert active.download_uri == FILE_URI.format(id=file_id) and active.source.name == "GENERATED"
    data = client.files.download(file=got.output_video.uri)
    assert probe_seconds(data, tmp_path) == pytest.approx(3, abs=0.1) and int(active.size_bytes) == len(data)

    again = client.interactions.get(got.id)  # part 2 §2.4: GET answers inline even for delivery "uri"
    assert base64.b64decode(again.output_video.data) == data and again.output_video.uri is None
    standin.configure(interaction_get_inline=False)
    assert client.interactions.get(got.id).output_video.uri == got.output_video.uri
    assert standin.stats().file_gets == 3


def test_file_processing_polls_sets_how_long_a_file_says_processing(client, standin):
    standin.configure(file_processing_polls=0)
    got = create(client, response_format=video(3, delivery="uri"))
    assert client.files.get(name=got.output_video.uri).state.name == "ACTIVE"


# --- background ----------------------------------------------------------------------------


def test_background_answers_at_once_then_completes(client, standin):
    standin.configure(latency_seconds=0.3)
    got = create(client, background=True)
    assert got.status == "in_progress" and got.output_video is None and standin.stats().in_flight == 1
    assert client.interactions.get(got.id).status == "in_progress"
    time.sleep(0.35)
    done = client.interactions.get(got.id)
    assert done.status == "completed" and base64.b64decode(done.output_video.data)[4:8] == b"ftyp"
    assert standin.stats().interaction_gets == 2


def test_background_interactions_owe_polls_when_asked(client, standin):
    standin.configure(polls_before_done=2)
    got = create(client, background=True)
    assert [client.interactions.get(got.id).status for _ in range(3)] == ["in_progress", "in_progress", "completed"]


# --- edits and extensions ------------------------------------------------------------------


def test_extensions_accumulate_the_whole_clip_up_to_40_seconds(client, standin, tmp_path):
    uri = {"delivery": "uri"}
    turn = create(client, "a lighthouse at dusk", response_format=video(10, **uri))
    for _ in range(3):
        turn = create(
            client,
            "continue as the storm arrives",
            previous_interaction_id=turn.id,
            response_format=video(10, **uri),
            generation_config={"video_config": {"task": "extend"}},
        )
        assert turn.usage.total_output_tokens == 10 * 5792  # only the new seconds are generated
    assert probe_seconds(client.files.download(file=turn.output_video.uri), tmp_path) == pytest.approx(40, abs=0.1)
    with pytest.raises(compat_errors.BadRequestError, match="at most 40 s"):
        create(client, "then it snows", previous_interaction_id=turn.id, response_format=video(3))  # "then": extend
    assert standin.stats().seconds_generated == {OMNI: 40.0}


def test_an_edit_returns_a_clip_of_the_previous_length(client, tmp_path):
    first = create(client, response_format=video(5))
    edit = create(client, "make it night", previous_interaction_id=first.id, response_format={"type": "video"})
    assert edit.previous_interaction_id == first.id
    assert probe_seconds(base64.b64decode(edit.output_video.data), tmp_path) == pytest.approx(5, abs=0.1)
    assert edit.usage.total_output_tokens == 5 * 5792


def test_an_uploaded_video_of_this_stand_in_can_be_extended(client):
    first = create(client, response_format=video(4, delivery="uri"))
    source = {"type": "video", "uri": first.output_video.uri, "mime_type": "video/mp4"}
    longer = create(client, input=[source, {"type": "text", "text": "then it rains"}], response_format=video(3))
    assert longer.usage.total_output_tokens == 3 * 5792  # extension inferred from "then"


def test_previous_interaction_must_be_stored_completed_and_ours(client, standin, vertex_global):
    unstored = create(client, store=False)
    with pytest.raises(compat_errors.NotFoundError):
        client.interactions.get(unstored.id)
    with pytest.raises(compat_errors.NotFoundError):
        create(client, "edit", previous_interaction_id=unstored.id)
    standin.configure(latency_seconds=5)
    running = create(client, background=True)
    with pytest.raises(compat_errors.BadRequestError, match="in_progress, not completed"):
        create(client, "edit", previous_interaction_id=running.id)
    with pytest.raises(compat_errors.NotFoundError):
        vertex_global.interactions.get(running.id)  # another owner


# --- inputs and refusals -------------------------------------------------------------------


def test_image_to_video_keeps_sizes_not_bytes(client, standin):
    image = {"type": "image", "data": b64(png()), "mime_type": "image/png"}
    got = create(client, input=[image, {"type": "text", "text": "<FIRST_FRAME> the kite rises"}])
    assert got.status == "completed"
    (job,) = standin.jobs()
    assert job["inputs"][0] == {"type": "image", "mime_type": "image/png", "size_bytes": len(png())}
    assert "data" not in str(job["inputs"])


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"response_format": video(11)}, '"3s" to "10s"'),
        ({"response_format": video(5, aspect_ratio="4:3")}, "aspect_ratio"),
        ({"response_format": video(5, resolution="8k")}, "resolution"),
        ({"response_format": video(5, delivery="email")}, "delivery"),
        ({"response_format": video(5, gcs_uri="gs://b/o")}, "only supported on Vertex"),
        ({"input": [{"type": "image", "data": b64(b"x"), "mime_type": "image/svg+xml"}]}, "mime_type"),
        ({"input": [{"type": "audio", "uri": "files/abc"}]}, "audio inputs"),
        ({"webhook_config": {"uris": ["https://example.com/h"]}}, "requires background=true"),
        ({"generation_config": {"temperature": 0.5}}, "temperature is not supported"),
        ({"generation_config": {"video_config": {"task": "dance"}}}, "task"),
        ({"generation_config": {"video_config": {"task": "image_to_video"}}}, "image_to_video takes one image"),
        ({"extra_body": {"color_grade": "teal"}}, 'Unknown name "color_grade"'),
        ({"background": True, "store": False}, "requires store=true"),
    ],
)
def test_bad_requests_get_google_like_400s_and_create_nothing(one_post, standin, kwargs, needle):
    with pytest.raises(compat_errors.BadRequestError) as got:
        create(one_post, **kwargs)
    assert got.value.status_code == 400 and needle in got.value.message and "INVALID_ARGUMENT" in got.value.message
    assert standin.stats().interactions_created == 0


def test_webhook_config_is_accepted_with_background(client, standin):
    got = create(client, background=True, webhook_config={"uris": ["https://example.com/h"], "user_metadata": {"n": 1}})
    assert got.status == "in_progress"
    assert standin.jobs()[0]["parameters"]["webhook_config"]["user_metadata"] == {"n": 1}


def test_cancel_and_delete_answer_501(one_post, standin):
    got = create(one_post)
    with pytest.raises(compat_errors.InternalServerError) as cancelled:
        one_post.interactions.cancel(got.id)
    assert cancelled.value.status_code == 501
    with pytest.raises(compat_errors.InternalServerError):
        one_post.interactions.delete(got.id)
    assert standin.stats().posts["interactions.cancel"] == 1


# --- outcomes ------------------------------------------------------------------------------


def test_a_filtered_interaction_fails_with_a_support_code(client, standin):
    got = create(client, "[[rai:29310472]] something")
    assert got.status == "failed" and got.output_video is None
    (error,) = got.errors
    assert error.code.startswith("https://") and error.message.endswith("Support codes: 29310472")
    standin.configure(outcome="filtered", support_code="11111111")
    assert create(client).errors[0].message.endswith("Support codes: 11111111")
    assert standin.stats().seconds_generated == {}


def test_error_no_video_and_expired_outcomes(client, standin):
    failed = create(client, "[[fail]] x")
    assert failed.status == "failed" and "internal error" in failed.errors[0].message
    empty = create(client, "[[novideo]] x")
    assert empty.status == "completed" and empty.output_video is None and empty.errors is None
    lost = create(client, "[[expire]] x", background=True)
    with pytest.raises(compat_errors.NotFoundError):
        client.interactions.get(lost.id)


# --- Vertex --------------------------------------------------------------------------------


def test_vertex_omni_is_global_only_and_allows_15_seconds(vertex_global, standin):
    got = create(vertex_global, model="gemini-omni-1.2-flash", response_format=video(15))
    assert got.status == "completed" and got.usage.total_output_tokens == 15 * 5792
    regional = genai.Client(
        vertexai=True,
        project="p",
        location="us-central1",
        credentials=Credentials(token="t"),
        http_options={"base_url": standin.url, "retry_options": ONE_POST},
    )
    with pytest.raises(compat_errors.BadRequestError, match="only available in the global location"):
        create(regional, model="gemini-omni-1.2-flash")
    regional.close()


def test_vertex_uri_delivery_writes_under_gcs_root(vertex_global, tmp_path):
    fmt = video(3, delivery="uri", gcs_uri="gs://bucket/omni")
    got = create(vertex_global, model="gemini-omni-1.2-flash", response_format=fmt)
    assert re.fullmatch(r"gs://bucket/omni/v1_[a-z0-9]+/sample_0\.mp4", got.output_video.uri)
    assert (tmp_path / "gcs" / got.output_video.uri.removeprefix("gs://")).read_bytes()[4:8] == b"ftyp"


def test_vertex_express_mode_uses_v1beta1_interactions(standin):
    express = genai.Client(vertexai=True, api_key="test-key", http_options={"base_url": standin.url})
    try:
        got = create(express, model="gemini-omni-1.2-flash")
        assert got.status == "completed" and express.interactions.get(got.id).status == "completed"
    finally:
        express.close()


def test_an_async_client_round_trip(standin):
    import asyncio

    async def run() -> str:
        c = gemini_client(standin)
        got = await c.aio.interactions.create(model=OMNI, input="async kite", background=True)
        while got.status == "in_progress":
            got = await c.aio.interactions.get(got.id)
        await c.aio.aclose()
        c.close()
        return got.status

    assert asyncio.run(run()) == "completed"


def test_the_stand_in_is_not_google(standin: VeoStandIn, client):
    assert "not Google" in client.models.get(model=OMNI).description
