"""With only a Gemini API key, in headless Chromium: `veogen up` pointed at the local stand-in's lineup of
December 2026 (Gemini Omni Flash through the Interactions API; no Veo on the Gemini API). A creator sees
whose key serves the model, makes an Omni video, plays it, and edits it with an instruction."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from standin import VeoStandIn
from tests.e2e.support import ADMIN_PASSWORD, log_in, pick_when_settled
from tests.support import RunningStudio, veogen_up

pytestmark = pytest.mark.e2e

STANDIN_KEY = "test-key"


@pytest.fixture(scope="module")
def standin() -> Iterator[VeoStandIn]:
    server = VeoStandIn(api_key=STANDIN_KEY).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def omni_studio(tmp_path_factory: pytest.TempPathFactory, standin: VeoStandIn) -> Iterator[RunningStudio]:
    with veogen_up(
        tmp_path_factory.mktemp("omni-up"),
        VEOGEN_ADMIN_PASSWORD=ADMIN_PASSWORD,
        VEOGEN_POLL_INTERVAL_SECONDS="0.5",
        VEOGEN_GEMINI_API_KEY=STANDIN_KEY,
        VEOGEN_VEO_BASE_URL=standin.url,
    ) as running:
        yield running


def test_an_omni_video_with_only_a_gemini_key_is_made_played_and_edited(
    omni_studio: RunningStudio, standin: VeoStandIn, page: Page, tmp_path: Path
):
    log_in(page, omni_studio.url, "admin", ADMIN_PASSWORD)
    expect(page.get_by_role("heading", name="Create a video")).to_be_visible()
    expect(page.get_by_role("combobox", name="Model")).to_have_value("Gemini Omni Flash 1.1")
    expect(page.get_by_text("Served by the server's Gemini API key", exact=False)).to_be_visible()
    page.get_by_role("combobox", name="Model").click()
    assert page.get_by_role("option").all_inner_texts() == [
        "Gemini Omni Flash 1.1",
        "Offline preview renderer (local, not AI)",
    ]  # no retired Veo id is offered
    page.get_by_role("option", name="Gemini Omni Flash 1.1", exact=True).click()
    pick_when_settled(page, "Duration", "4 s")  # a click during the page's first reruns can be dropped
    page.get_by_role("textbox", name="Prompt", exact=True).fill("A paper boat drifts down a rainy street")
    page.get_by_role("textbox", name="Things to avoid (optional)").fill("people")
    page.get_by_role("textbox", name="Things to avoid (optional)").press("Enter")
    expect(page.get_by_text("Price: $0.40", exact=False)).to_be_visible()  # 4 s × $0.10 at 720p
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("Submitted.")).to_be_visible()
    expect(page.get_by_text("Done", exact=True).first).to_be_visible(timeout=90_000)
    (job,) = standin.jobs()
    assert job["kind"] == "interaction" and job["prompt"].endswith("Avoid: people")
    assert standin.stats().posts.get("interactions.create") == 1

    page.get_by_role("link", name="Open details").click()
    video = page.locator("video").first
    expect(video).to_be_attached()
    video.evaluate("v => new Promise(ok => v.readyState >= 1 ? ok() : v.addEventListener('loadedmetadata', ok))")
    assert abs(video.evaluate("v => v.duration") - 4) < 0.2
    page.screenshot(path=tmp_path / "omni-detail.png", full_page=True)

    page.get_by_role("button", name="Edit").click()
    expect(page.get_by_role("heading", name="Create a video")).to_be_visible()
    expect(page.get_by_role("radio", name="Edit one of your videos (an instruction)")).to_be_checked()
    expect(page.get_by_role("combobox", name="Video to edit")).to_have_value(re.compile("^A paper boat drifts"))
    expect(page.get_by_text("keeps its length (4 s)", exact=False)).to_be_visible()
    page.get_by_role("textbox", name="Prompt", exact=True).fill("Make it a sunny afternoon")
    expect(page.get_by_text("Price: $0.40", exact=False)).to_be_visible()
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("Submitted.")).to_be_visible()
    expect(page.get_by_text("Done", exact=True).first).to_be_visible(timeout=90_000)
    edit = [j for j in standin.jobs() if j["prompt"].startswith("Make it a sunny afternoon")]
    assert edit and edit[0]["parameters"]["previous_interaction_id"] == job["name"]
