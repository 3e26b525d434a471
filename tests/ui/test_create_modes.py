"""AppTest tests of the Create page's modes, uploads, budget, repeat confirmation and prompt help,
and of what the Generation page shows of them. Veo runs through the local stand-in."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from core import catalog
from core.models import User
from core.services.generations import GenerationForm, GenerationView
from core.status import Status
from pages._ui.create_form import NO_SOURCES
from standin import ENHANCE_SUFFIX, enhance_prompt
from tests.ui.support import UiEnv, button, log_in, open_page, texts, unescape

pytestmark = pytest.mark.ui

CREATE = "pages/create.py"
DETAIL = "pages/generation.py"
VEO = "veo-3.1-generate-001"
FAST = "veo-3.1-fast-generate-001"
"""The cheaper Veo of the stand-in's legacy lineup: 4 s at 720p costs $0.40."""


def png(width: int = 96, height: int = 64) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(out, "PNG")
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (96, 64), (40, 200, 40)).save(out, "GIF")
    return out.getvalue()


def errors(at: AppTest) -> list[str]:
    return [unescape(str(e.value)) for e in at.error]


def choose(at: AppTest, model: str, mode: str = "text") -> AppTest:
    at.selectbox(key="create_model").select(model).run()
    if mode != "text":
        at.segmented_control(key="create_mode").set_value(mode).run()
    return at


def mode_labels(modes: tuple[str, ...]) -> list[str]:
    return [catalog.MODES[m] for m in modes]


def fill_prompt(at: AppTest, text: str) -> AppTest:
    return at.text_area(key="create_prompt").input(text).run()


def veo_text_form(prompt: str, model: str = VEO, **fields: object) -> GenerationForm:
    values: dict[str, object] = {"duration_seconds": 4, "resolution": "720p", "idempotency_key": prompt[:40]}
    values.update(fields)
    return GenerationForm(model=model, prompt=prompt, **values)  # type: ignore[arg-type]


def finished_veo_video(env: UiEnv, prompt: str) -> GenerationView:
    view, _ = env.studio.generations.submit(env.alice.id, veo_text_form(prompt))
    done = env.finish(view.id)
    assert done.status is Status.SUCCEEDED, done.error_message
    return done


def set_budget(env: UiEnv, usd: str) -> None:
    with env.studio.sessions() as session, session.begin():
        session.execute(update(User).where(User.id == env.alice.id).values(monthly_budget_usd=Decimal(usd)))


# -- modes and options ---------------------------------------------------------------


def test_the_offline_renderer_offers_text_to_video_only(ui_env: UiEnv) -> None:
    at = log_in("alice")
    assert at.segmented_control(key="create_mode").options == ["Text to video"]
    assert not at.file_uploader
    assert "A local preview renderer for trying the studio out: free, instant, and not AI." in texts(at)


@pytest.mark.parametrize("model", [VEO, FAST])
def test_modes_offered_are_exactly_the_models(veo_env: UiEnv, model: str) -> None:
    at = choose(log_in("alice"), model)
    assert at.segmented_control(key="create_mode").options == mode_labels(catalog.MODELS[model].modes)


def test_a_mode_the_next_model_lacks_falls_back_to_text(veo_env: UiEnv) -> None:
    at = choose(log_in("alice"), VEO, "reference")
    at.selectbox(key="create_model").select("offline-preview").run()
    assert at.segmented_control(key="create_mode").value == "text"
    assert not at.file_uploader


def test_veo_model_info_shows_audio_and_prices_with_their_date(veo_env: UiEnv) -> None:
    at = choose(log_in("alice"), VEO)
    shown = texts(at)
    assert (
        "Served by the server's Gemini API key · Audio: yes · 720p $0.40/s · 1080p $0.40/s · 4k $0.60/s · "
        "price read on 2026-09-20" in shown
    )


def test_reference_mode_offers_only_8_seconds_and_16_9(veo_env: UiEnv) -> None:
    at = choose(log_in("alice"), VEO, "reference")
    assert at.selectbox(key="create_duration").options == ["8 s"]
    assert at.selectbox(key="create_aspect").options == ["16:9"]
    [uploader] = at.file_uploader
    assert uploader.accept_multiple_files and uploader.label == "Reference images"
    assert "Reference images need 8 s and 16:9." in texts(at)
    assert f"Up to {catalog.MAX_REFERENCE_IMAGES} reference images: people, objects or styles to keep." in texts(at)


def test_frames_mode_has_a_first_and_a_last_frame_uploader(veo_env: UiEnv) -> None:
    at = choose(log_in("alice"), FAST, "frames")
    assert [u.label for u in at.file_uploader] == ["First frame", "Last frame"]
    assert all(u.allowed_type == [".png", ".jpg", ".jpeg", ".webp"] for u in at.file_uploader)
    assert "PNG, JPEG or WebP, up to 20 MB." in texts(at)


# -- uploads -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "looks_like"),
    [(gif(), "it looks like a GIF image"), (b"just some notes, not pixels\n", "it looks like a text file")],
)
def test_an_upload_that_is_not_an_image_is_refused_under_its_uploader(
    veo_env: UiEnv, data: bytes, looks_like: str
) -> None:
    at = fill_prompt(choose(log_in("alice"), FAST, "image"), "the frame comes alive")
    at.file_uploader(key="create_first_frame").set_value(("frame.png", data, "image/png")).run()
    assert f"frame.png is not a PNG, JPEG or WebP image; {looks_like}." in "\n".join(errors(at))
    assert not at.get("image")  # nothing of the upload reaches the browser
    assert button(at, "Generate").disabled
    assert veo_env.count(veo_env.alice) == 0
    assert not any(veo_env.data_dir.rglob("input-*"))


def test_image_to_video_creates_a_generation_with_its_first_frame(veo_env: UiEnv) -> None:
    at = choose(log_in("alice"), FAST, "image")
    assert "Upload a first-frame image." in texts(at)  # a step to take, not an error
    assert not at.error
    at.file_uploader(key="create_first_frame").set_value(("photo.png", png(), "image/png")).run()
    [preview] = at.get("image")
    assert preview.captions == ["96×64"]
    assert not errors(at)
    button(at, "Generate").click().run()  # no prompt: it is optional with a first frame
    assert not errors(at)
    [view] = veo_env.studio.generations.list_generations(veo_env.alice.id).items
    assert (view.mode, view.input_roles) == ("image", ["first_frame"])

    at = open_page(at, DETAIL, id=view.id)
    assert "Your images" in [s.value for s in at.subheader]
    [image] = at.get("image")
    assert image.captions == ["First frame"]
    tables = {tuple(t.value.columns): t.value for t in at.table}
    assert catalog.MODES["image"] in [unescape(v) for v in tables[("Setting", "Value")]["Value"]]


def test_frames_mode_sends_both_frames(veo_env: UiEnv) -> None:
    at = fill_prompt(choose(log_in("alice"), FAST, "frames"), "from dawn to dusk")
    at.file_uploader(key="create_first_frame").set_value(("dawn.png", png(), "image/png")).run()
    assert "Upload a last-frame image." in texts(at)
    at.file_uploader(key="create_last_frame").set_value(("dusk.png", png(128, 72), "image/png")).run()
    assert [i.captions for i in at.get("image")] == [["96×64"], ["128×72"]]
    button(at, "Generate").click().run()
    [view] = veo_env.studio.generations.list_generations(veo_env.alice.id).items
    assert view.input_roles == ["first_frame", "last_frame"]


def test_reference_images_over_the_limit_are_refused(veo_env: UiEnv) -> None:
    at = fill_prompt(choose(log_in("alice"), VEO, "reference"), "my dog in space")
    files = [(f"ref{n}.png", png(96 + n, 64), "image/png") for n in range(catalog.MAX_REFERENCE_IMAGES + 1)]
    at.file_uploader(key="create_references").set_value(files).run()
    assert any(f"Upload 1 to {catalog.MAX_REFERENCE_IMAGES} reference images, not 4." in e for e in errors(at))
    button(at, "Generate").click().run()
    assert veo_env.count(veo_env.alice) == 0
    at.file_uploader(key="create_references").set_value(files[:2]).run()
    button(at, "Generate").click().run()
    [view] = veo_env.studio.generations.list_generations(veo_env.alice.id).items
    assert (view.mode, view.input_roles, view.duration_seconds) == ("reference", ["reference", "reference"], 8)


# -- budget and repeats ---------------------------------------------------------------


def test_budget_line_shows_money_left_and_open_generations(ui_env: UiEnv) -> None:
    ui_env.submit(ui_env.alice, "one open generation")
    at = log_in("alice")
    period = ui_env.studio.generations.budget(ui_env.alice.id).period
    assert f"Budget for {period}: $50.00 of $50.00 left · 1 of 20 open generations" in texts(at)


def test_a_request_over_budget_is_warned_about_and_refused(veo_env: UiEnv) -> None:
    set_budget(veo_env, "0.30")
    at = fill_prompt(choose(log_in("alice"), FAST), "a hummingbird at a flower")
    period = veo_env.studio.generations.budget(veo_env.alice.id).period
    assert "**Price: $0.40 — reserved from your budget now, settled when the video is ready**" in [
        m.value for m in at.markdown
    ]
    shown = texts(at)
    assert f"Budget for {period}: $0.30 of $0.30 left" in shown
    assert f"This request costs $0.40, more than the $0.30 left in your budget for {period}" in shown
    button(at, "Generate").click().run()
    assert f"This request costs $0.40, but only $0.30 of your $0.30 budget for {period} is left." in errors(at)
    assert veo_env.count(veo_env.alice) == 0


def test_the_budget_line_counts_what_was_just_submitted(veo_env: UiEnv) -> None:
    at = fill_prompt(choose(log_in("alice"), FAST), "rain on a window")
    button(at, "Generate").click().run()
    period = veo_env.studio.generations.budget(veo_env.alice.id).period
    assert f"Budget for {period}: $49.60 of $50.00 left · 1 of 20 open generations" in texts(at)


def test_repeating_a_paid_request_asks_before_paying_for_another(veo_env: UiEnv) -> None:
    at = fill_prompt(choose(log_in("alice"), FAST), "a lighthouse at dusk")
    button(at, "Generate").click().run()
    [first] = veo_env.studio.generations.list_generations(veo_env.alice.id).items
    button(at, "Make another with these settings").click().run()
    button(at, "Generate").click().run()
    assert veo_env.count(veo_env.alice) == 1
    assert "You made exactly this request moments ago. Submitting it again pays for another video." in texts(at)
    [link] = [p for p in at.get("page_link") if p.proto.label == "Open the earlier generation"]
    assert f"id={first.id}" in link.proto.query_string

    button(at, "Pay for another one").click().run()
    assert veo_env.count(veo_env.alice) == 2
    assert "Submitted." in texts(at)
    assert "You made exactly this request" not in texts(at)
    button(at, "Generate").click().run()  # the confirmed request's key: a click again makes nothing new
    assert veo_env.count(veo_env.alice) == 2


def test_a_changed_request_forgets_the_pending_confirmation(veo_env: UiEnv) -> None:
    at = fill_prompt(choose(log_in("alice"), FAST), "a lighthouse at dusk")
    button(at, "Generate").click().run()
    button(at, "Make another with these settings").click().run()
    button(at, "Generate").click().run()
    assert any(b.label == "Pay for another one" for b in at.button)
    fill_prompt(at, "a lighthouse at dawn")
    assert not any(b.label == "Pay for another one" for b in at.button)
    button(at, "Generate").click().run()
    assert veo_env.count(veo_env.alice) == 2


# -- prompt help ---------------------------------------------------------------------


def test_improve_prompt_is_disabled_with_the_reason_without_a_gemini_key(ui_env: UiEnv) -> None:
    at = log_in("alice")
    improve = button(at, "Improve prompt")
    assert improve.disabled
    assert improve.help == "Prompt help needs a Gemini API key (VEOGEN_GEMINI_API_KEY)."
    assert "Prompt help needs a Gemini API key (VEOGEN_GEMINI_API_KEY)." in texts(at)


def test_improve_prompt_rewrites_the_prompt_and_keeps_the_original(veo_env: UiEnv) -> None:
    at = fill_prompt(log_in("alice"), "a fox in the snow.")
    button(at, "Improve prompt").click().run()
    improved = at.text_area(key="create_prompt").value
    assert improved == enhance_prompt("a fox in the snow.") and improved.endswith(ENHANCE_SUFFIX)
    model = veo_env.studio.settings.prompt_model
    assert f"Prompt improved by {model}; edit it or submit." in texts(at)
    [expander] = [e for e in at.expander if e.label == "Your original prompt"]
    assert [t.value for t in expander.text] == ["a fox in the snow."]

    button(at, "Restore my original prompt").click().run()
    assert at.text_area(key="create_prompt").value == "a fox in the snow."
    assert "Prompt improved by" not in texts(at)


def test_improve_prompt_on_an_empty_prompt_says_what_is_wrong(veo_env: UiEnv) -> None:
    at = log_in("alice")
    button(at, "Improve prompt").click().run()
    assert errors(at) == ["Prompt is empty: describe the video you want."]
    assert at.text_area(key="create_prompt").value == ""


def test_improve_prompt_reports_a_failing_text_model(veo_env: UiEnv, veo_standin) -> None:  # type: ignore[no-untyped-def]
    veo_standin.configure(generate_content_fail=True)
    at = fill_prompt(log_in("alice"), "a fox in the snow")
    button(at, "Improve prompt").click().run()
    assert any(e.startswith("Prompt help failed:") for e in errors(at))
    assert at.text_area(key="create_prompt").value == "a fox in the snow"


# -- extend -----------------------------------------------------------------------------


def test_extend_with_no_video_to_extend_says_why_and_offers_no_submit(veo_env: UiEnv) -> None:
    at = choose(log_in("alice"), VEO, "extend")
    assert NO_SOURCES["veo"] in [i.value for i in at.info]
    assert not any(b.label == "Generate" for b in at.button)


def test_extend_from_the_detail_page_preselects_the_video_and_charges_the_extension(veo_env: UiEnv) -> None:
    source = finished_veo_video(veo_env, "a sailboat leaving the harbour")
    at = open_page(log_in("alice"), DETAIL, id=source.id)
    button(at, "Extend").click().run()
    assert [t.value for t in at.title] == ["Create a video"]
    assert at.query_params["extend"] == source.id
    assert at.segmented_control(key="create_mode").value == "extend"
    assert at.selectbox(key="create_extend").value == source.id
    assert at.selectbox(key="create_duration").options == ["8 s"]
    assert at.selectbox(key="create_resolution").options == ["720p"]
    assert at.selectbox(key="create_aspect").options == [source.aspect_ratio]
    rate = catalog.MODELS[VEO].usd_per_second["720p"]
    assert f"Price: ${rate * catalog.MODELS[VEO].extend_seconds:.2f}" in texts(at)

    # AppTest keeps running the page it was switched to last, not the one the app switched to.
    at = fill_prompt(open_page(at, CREATE, extend=source.id), "the sailboat heads out to open sea")
    assert at.selectbox(key="create_extend").value == source.id
    button(at, "Generate").click().run()
    newest = veo_env.studio.generations.list_generations(veo_env.alice.id).items[0]
    assert (newest.mode, newest.extend_of_id) == ("extend", source.id)
    assert newest.price_usd == rate * catalog.MODELS[VEO].extend_seconds


def test_detail_of_an_offline_video_has_no_extend_button(ui_env: UiEnv) -> None:
    view = ui_env.finish(ui_env.submit(ui_env.alice, "a quiet pond").id)
    at = open_page(log_in("alice"), DETAIL, id=view.id)
    assert not any(b.label == "Extend" for b in at.button)


def test_an_extend_link_to_someone_elses_video_is_refused(veo_env: UiEnv) -> None:
    theirs, _ = veo_env.studio.generations.submit(veo_env.bob.id, veo_text_form("bob's private harbour"))
    veo_env.finish(theirs.id)
    at = open_page(log_in("alice"), CREATE, extend=theirs.id)
    assert "This video cannot be extended: only your own recent Veo or Gemini Omni videos can." in errors(at)
    assert "private harbour" not in texts(at)


def test_detail_shows_the_safety_filters_reason(veo_env: UiEnv) -> None:
    view, _ = veo_env.studio.generations.submit(veo_env.alice.id, veo_text_form("a forbidden scene [[rai]]"))
    done = veo_env.finish(view.id)
    assert done.status is Status.FILTERED
    at = open_page(log_in("alice"), DETAIL, id=view.id)
    assert "Google's safety filter blocked this request. You have not been charged." in texts(at)
    assert "Support codes: 58061214" in texts(at)
