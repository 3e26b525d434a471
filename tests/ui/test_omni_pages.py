"""The pages with only a Gemini API key (Google's lineup of December 2026, through the stand-in): the Create
page offers Gemini Omni Flash and says whose key serves it, folds the negative prompt in, edits a video;
Settings lists each credential's models; a blocked video names its safety category and offers Retry only
when it can help."""

from __future__ import annotations

import pytest

from core import catalog
from core.services.generations import GenerationForm
from core.status import Status
from standin import VeoStandIn
from tests.ui.support import (
    ADMIN_PASSWORD,
    UiEnv,
    button,
    log_in,
    open_page,
    texts,
    unescape,
)

CREATE = "pages/create.py"
DETAIL = "pages/generation.py"
SETTINGS = "pages/admin_settings.py"
OMNI = "gemini-omni-1.1-flash"


def finished_omni_video(env: UiEnv, prompt: str, **fields: object) -> Status:
    values: dict[str, object] = {"duration_seconds": 6, "resolution": "720p", "idempotency_key": prompt[:40]}
    values.update(fields)
    view, _ = env.studio.generations.submit(env.alice.id, GenerationForm(model=OMNI, prompt=prompt, **values))  # type: ignore[arg-type]
    return env.finish(view.id).status


def newest(env: UiEnv):  # type: ignore[no-untyped-def]
    return env.studio.generations.list_generations(env.alice.id).items[0]


def test_only_omni_and_the_offline_renderer_are_offered_with_whose_key(omni_env: UiEnv) -> None:
    at = log_in("alice")
    assert at.selectbox(key="create_model").options == [
        catalog.MODELS[OMNI].label,
        catalog.MODELS["offline-preview"].label,
    ]
    at.selectbox(key="create_model").select(OMNI).run()
    assert "Served by the server's Gemini API key" in texts(at)
    assert at.text_input(key="create_negative").label == "Things to avoid (optional)"
    assert "Gemini Omni Flash 1.1 takes no negative prompt" in texts(at)
    assert [m for m in at.segmented_control(key="create_mode").options] == [
        catalog.MODES[m] for m in catalog.MODELS[OMNI].modes
    ]


def test_an_omni_request_is_priced_submitted_and_its_avoid_list_reaches_the_prompt(
    omni_env: UiEnv, google_today: VeoStandIn
) -> None:
    at = log_in("alice")
    at.selectbox(key="create_model").select(OMNI).run()
    at.text_area(key="create_prompt").input("a lighthouse at night").run()
    at.text_input(key="create_negative").input("people").run()
    at.selectbox(key="create_duration").select(5).run()
    assert "Price: $0.50" in texts(at)  # 5 s × $0.10 at 720p
    button(at, "Generate").click().run()
    view = newest(omni_env)
    assert (view.model, float(view.price_usd), view.surface) == (OMNI, 0.5, "gemini")
    assert omni_env.finish(view.id).status is Status.SUCCEEDED
    (job,) = google_today.jobs()
    assert job["prompt"].endswith("Avoid: people")


def test_edit_from_the_detail_page_keeps_the_length_and_continues_the_interaction(omni_env: UiEnv) -> None:
    assert finished_omni_video(omni_env, "a red kite over dunes") is Status.SUCCEEDED
    source = newest(omni_env)
    at = open_page(log_in("alice"), DETAIL, id=source.id)
    assert "extend it or edit it with an instruction." in texts(at)
    button(at, "Edit").click().run()
    at = open_page(at, CREATE, edit=source.id)
    assert at.segmented_control(key="create_mode").value == "edit"
    assert at.selectbox(key="create_extend").value == source.id
    assert at.selectbox(key="create_duration").options == ["6 s"]  # an edit keeps the video's length
    assert "An edit applies your instruction to the whole video and keeps its length (6 s)" in texts(at)
    at.text_area(key="create_prompt").input("make the kite blue").run()
    button(at, "Generate").click().run()
    edit = newest(omni_env)
    assert (edit.mode, edit.extend_of_id, float(edit.price_usd)) == ("edit", source.id, 0.6)
    assert omni_env.finish(edit.id).status is Status.SUCCEEDED


@pytest.mark.parametrize(
    ("code", "category", "retry"), [("29310472", "A well-known person", False), ("56562880", "Violence", True)]
)
def test_a_blocked_video_names_its_category_and_offers_retry_only_when_it_can_help(
    omni_env: UiEnv, code: str, category: str, retry: bool
) -> None:
    assert finished_omni_video(omni_env, f"a crowd scene [[rai:{code}]]") is Status.FILTERED
    at = open_page(log_in("alice"), DETAIL, id=newest(omni_env).id)
    assert f"**{category}**" in unescape("\n".join(m.value for m in at.markdown))
    assert any(b.label == "Retry" for b in at.button) == retry
    if not retry:
        assert "the same request would be blocked again" in texts(at)


def test_settings_lists_each_credential_s_models_and_reads_them_again(omni_env: UiEnv) -> None:
    at = open_page(log_in("root", ADMIN_PASSWORD), SETTINGS)
    assert "**the server's Gemini API key** · Gemini API" in [unescape(m.value) for m in at.markdown]
    assert "Offered: Gemini Omni Flash 1.1" in texts(at)
    button(at, "Read the model lists again").click().run()
    assert "Model lists read again." in texts(at)
