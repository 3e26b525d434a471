"""OmniProvider against the stand-in, through the real google-genai client: one POST per paid request
whatever the faults, background interactions followed by id, URI and inline outputs, safety blocks
in plain words, extensions and edits by previous interaction."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import ProviderError
from core.media import probe_video
from core.providers.base import GenerationRequest, ImageInput, OperationState
from core.providers.omni import OmniProvider
from standin import VeoStandIn
from tests.providers.test_veo import picture

OMNI = "gemini-omni-1.1-flash"


@pytest.fixture
def standin() -> Iterator[VeoStandIn]:
    with VeoStandIn(api_key="test-key") as server:
        yield server


@pytest.fixture
def omni(standin: VeoStandIn, tmp_path: Path) -> OmniProvider:
    return OmniProvider(api_key="test-key", base_url=standin.url, spool_dir=tmp_path / "spool")


def request(prompt: str = "A kite rises over a beach", **fields: object) -> GenerationRequest:
    values: dict[str, object] = {
        "model": OMNI,
        "prompt": prompt,
        "duration_seconds": 4,
        "resolution": "720p",
        "aspect_ratio": "16:9",
    }
    values.update(fields)
    return GenerationRequest(**values)  # type: ignore[arg-type]


def until_done(omni: OmniProvider, interaction: str, tries: int = 20) -> OperationState:
    for _ in range(tries):
        state = omni.poll(interaction)
        if state.kind != "pending":
            return state
    raise AssertionError("the interaction never finished")


def test_a_prompt_becomes_a_video_through_one_background_interaction(omni, standin, tmp_path):
    standin.configure(polls_before_done=2)
    interaction = omni.submit(request(negative_prompt="rain"))
    assert omni.poll(interaction).kind == "pending"  # background: the id came back before the render
    state = until_done(omni, interaction)
    assert state.kind == "succeeded" and len(state.videos) == 1
    dest = tmp_path / "out.mp4"
    omni.fetch(state.videos[0], dest)
    facts = probe_video(dest)
    assert abs(facts.duration_seconds - 4) < 0.2
    stats = standin.stats()
    assert stats.posts.get("interactions.create") == 1 and stats.interactions_created == 1
    (job,) = standin.jobs()
    assert "Avoid: rain" in job["prompt"]  # Omni takes no negative prompt: it is folded in


def test_the_inline_video_of_a_poll_is_not_downloaded_twice(omni, standin, tmp_path):
    interaction = omni.submit(request())
    state = until_done(omni, interaction)
    gets = standin.stats().interaction_gets
    omni.fetch(state.videos[0], tmp_path / "out.mp4")
    assert standin.stats().interaction_gets == gets  # the fetch moved the spooled bytes
    assert (tmp_path / "out.mp4").stat().st_size > 1000


def test_a_fetch_in_another_process_reads_the_interaction_again(standin, tmp_path):
    first = OmniProvider(api_key="test-key", base_url=standin.url, spool_dir=tmp_path / "a")
    second = OmniProvider(api_key="test-key", base_url=standin.url, spool_dir=tmp_path / "b")
    interaction = first.submit(request())
    state = until_done(first, interaction)
    second.fetch(state.videos[0], tmp_path / "out.mp4")  # a worker without the spool file
    assert probe_video(tmp_path / "out.mp4").duration_seconds > 3


def test_a_uri_output_is_read_through_the_files_api(omni, standin, tmp_path):
    standin.configure(interaction_get_inline=False, file_processing_polls=2)
    state = until_done(omni, omni.submit(request()))
    assert "files/" in state.videos[0].uri
    omni.fetch(state.videos[0], tmp_path / "out.mp4")
    assert probe_video(tmp_path / "out.mp4").duration_seconds > 3
    assert standin.stats().file_gets >= 3  # PROCESSING twice, then ACTIVE


@pytest.mark.parametrize("status", [503, 409, 500, 408])
def test_a_server_error_on_create_is_never_sent_again(omni, standin, status):
    standin.configure(interaction_fault_status=status, interaction_fault_count=5)
    with pytest.raises(ProviderError) as failed:
        omni.submit(request())
    assert failed.value.outcome_unknown  # it may have been created: the pipeline never sends it again
    assert standin.stats().posts.get("interactions.create") == 1  # the SDK's default would send 4


def test_a_lost_answer_after_the_interaction_was_created_is_one_post_and_one_interaction(omni, standin):
    standin.configure(interaction_fault_status=503, interaction_fault_count=1, fault_after_create=True)
    with pytest.raises(ProviderError):
        omni.submit(request())
    stats = standin.stats()
    assert stats.posts.get("interactions.create") == 1 and stats.interactions_created == 1


def test_a_quota_refusal_is_one_post_and_says_how_long_to_wait(omni, standin):
    standin.configure(interaction_fault_status=429, interaction_fault_count=1)
    with pytest.raises(ProviderError) as refused:
        omni.submit(request())
    assert refused.value.code == "RESOURCE_EXHAUSTED" and refused.value.retry_after_seconds == 2
    assert standin.stats().posts.get("interactions.create") == 1
    assert omni.submit(request())  # the pipeline's own retry, later, is a new request that succeeds


def test_a_refused_connection_sent_nothing_and_may_be_retried():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    omni = OmniProvider(api_key="k", base_url=f"http://127.0.0.1:{port}", timeout_seconds=2)
    with pytest.raises(ProviderError) as failed:
        omni.submit(request())
    assert failed.value.retryable and not failed.value.outcome_unknown


def test_a_safety_block_is_filtered_with_its_support_code(omni):
    state = until_done(omni, omni.submit(request("a portrait [[rai:29310472]]")))
    assert state.kind == "filtered"
    assert any("29310472" in reason for reason in state.reasons)


def test_a_failed_interaction_is_a_failure_with_google_s_message(omni):
    state = until_done(omni, omni.submit(request("a fox [[fail]]")))
    assert state.kind == "failed" and state.message


def test_an_unknown_interaction_is_a_failed_state(omni):
    state = omni.poll("v1_doesnotexist")
    assert (state.kind, state.code) == ("failed", "NOT_FOUND")


def test_a_retired_model_answers_no_longer_available(omni):
    with pytest.raises(ProviderError) as gone:
        omni.submit(request(model="gemini-omni-flash-preview"))
    assert gone.value.model_gone


def test_extend_and_edit_name_the_earlier_turn(omni, standin, tmp_path):
    first = omni.submit(request(duration_seconds=8))
    until_done(omni, first)
    longer = omni.submit(request("the kite climbs higher", mode="extend", duration_seconds=6, source_interaction=first))
    state = until_done(omni, longer)
    omni.fetch(state.videos[0], tmp_path / "longer.mp4")
    assert abs(probe_video(tmp_path / "longer.mp4").duration_seconds - 14) < 0.3  # the whole, longer clip
    edited = omni.submit(request("make it dusk", mode="edit", duration_seconds=8, source_interaction=first))
    state = until_done(omni, edited)
    omni.fetch(state.videos[0], tmp_path / "edited.mp4")
    assert abs(probe_video(tmp_path / "edited.mp4").duration_seconds - 8) < 0.3
    body = omni.request_body(request(mode="edit", source_interaction=first))
    assert body["previous_interaction_id"] == first and "generation_config" not in body


def test_images_carry_their_roles_as_prompt_tags(omni):
    images = (
        ImageInput("first_frame", picture(), "image/png"),
        ImageInput("last_frame", picture(), "image/png"),
    )
    body = omni.request_body(request(mode="frames", images=images))
    content = body["input"]
    assert [c["type"] for c in content] == ["image", "image", "text"]
    assert content[-1]["text"].startswith("<FIRST_FRAME> <LAST_FRAME> ")
    assert body["generation_config"] == {"video_config": {"task": "image_to_video"}}
    assert body["response_format"]["delivery"] == "uri" and body["background"] is True
