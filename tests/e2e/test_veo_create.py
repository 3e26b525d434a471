"""Image to video with Veo, in headless Chromium: `veogen up` pointed at the local Veo stand-in
(started in this process), a refused upload, a real one, the budget, and a repeat's confirmation."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from standin import ENHANCE_SUFFIX, LEGACY_GEMINI_VEO, Behaviour, VeoStandIn
from tests.e2e.support import ADMIN_PASSWORD, log_in, pick, pick_when_settled
from tests.support import RunningStudio, veogen_up

pytestmark = pytest.mark.e2e

STANDIN_KEY = "test-key"


@pytest.fixture(scope="module")
def standin() -> Iterator[VeoStandIn]:
    server = VeoStandIn(api_key=STANDIN_KEY, behaviour=Behaviour(gemini_models=list(LEGACY_GEMINI_VEO))).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def veo_studio(tmp_path_factory: pytest.TempPathFactory, standin: VeoStandIn) -> Iterator[RunningStudio]:
    with veogen_up(
        tmp_path_factory.mktemp("veo-up"),
        VEOGEN_ADMIN_PASSWORD=ADMIN_PASSWORD,
        VEOGEN_POLL_INTERVAL_SECONDS="0.5",
        VEOGEN_GEMINI_API_KEY=STANDIN_KEY,
        VEOGEN_VEO_BASE_URL=standin.url,
    ) as running:
        yield running


def picture(fmt: str) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (320, 180), (30, 90, 160))
    image.paste((240, 200, 40), (120, 50, 200, 130))
    image.save(out, fmt)
    return out.getvalue()


def upload(page: Page, label: str, name: str, data: bytes) -> None:
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text=label)
    uploader.locator('input[type="file"]').set_input_files(
        files=[{"name": name, "mimeType": "image/png", "buffer": data}]
    )


def test_image_to_video_with_veo_standin(veo_studio: RunningStudio, standin: VeoStandIn, page: Page, tmp_path: Path):
    log_in(page, veo_studio.url, "admin", ADMIN_PASSWORD)
    expect(page.get_by_role("heading", name="Create a video")).to_be_visible()
    pick(page, "Model", "Veo 3.1 Fast")  # one that can extend its videos later
    expect(page.get_by_text("price read on 2026-09-20", exact=False)).to_be_visible()
    expect(page.get_by_text("Budget for ", exact=False)).to_be_visible()
    page.get_by_role("radio", name="Image to video (first frame)").click()

    upload(page, "First frame", "not-really.png", picture("GIF"))
    expect(
        page.get_by_text("not-really.png is not a PNG, JPEG or WebP image; it looks like a GIF image.")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Generate")).to_be_disabled()
    page.screenshot(path=tmp_path / "create-upload-refused.png", full_page=True)

    upload(page, "First frame", "harbour.png", picture("PNG"))
    expect(page.locator('[data-testid="stImage"] img').first).to_be_visible()  # the clean copy's preview
    expect(page.get_by_text("320×180")).to_be_visible()
    page.get_by_role("textbox", name="Prompt", exact=True).fill("The yellow square drifts across the harbour")
    expect(page.get_by_text("$0.40").first).to_be_visible()
    page.screenshot(path=tmp_path / "create-image-mode.png", full_page=True)
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("Submitted.")).to_be_visible()
    expect(page.get_by_text("Done", exact=True).first).to_be_visible(timeout=90_000)
    first = standin.jobs()[0]
    assert first["prompt"] == "The yellow square drifts across the harbour" and first["inputs"]  # the first frame

    # The same paid request again: the studio asks before paying for another one.
    make_another = page.get_by_role("button", name="Make another with these settings")
    for _ in range(3):  # a click that lands during a live-status rerun can be dropped: click until it is gone
        make_another.click()
        try:
            expect(make_another).not_to_be_visible(timeout=10_000)
            break
        except AssertionError:
            continue
    expect(make_another).not_to_be_visible()
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("You made exactly this request moments ago.", exact=False)).to_be_visible()
    expect(page.get_by_role("link", name="Open the earlier generation")).to_be_visible()
    page.screenshot(path=tmp_path / "create-confirm-repeat.png", full_page=True)
    page.get_by_role("button", name="Pay for another one").click()
    expect(page.get_by_text("Submitted.")).to_be_visible()
    expect(page.get_by_text("Done", exact=True).first).to_be_visible(timeout=90_000)  # no reruns left to come
    assert len(standin.jobs()) == 2

    pick_when_settled(page, "Model", "Veo 3.1")
    page.get_by_role("radio", name="Reference images").click()
    expect(page.get_by_text("Reference images need 8 s and 16:9.")).to_be_visible()
    page.screenshot(path=tmp_path / "create-reference-mode.png", full_page=True)

    page.get_by_role("link", name="Open details").click()
    expect(page.get_by_role("heading", name="Your images")).to_be_visible()
    expect(page.get_by_text("First frame", exact=True)).to_be_visible()
    expect(page.get_by_text("Image to video (first frame)")).to_be_visible()
    page.screenshot(path=tmp_path / "detail-with-first-frame.png", full_page=True)

    # Extend it: Create opens in extend mode with this video picked, at 720p and 8 s, priced for 7 s
    # of Veo 3.1 Fast ($0.10/s).
    page.get_by_role("button", name="Extend").click()
    expect(page.get_by_role("heading", name="Create a video")).to_be_visible()
    expect(page.get_by_role("radio", name="Extend one of your videos")).to_be_checked()
    expect(page.get_by_role("combobox", name="Video to extend")).to_have_value(re.compile("^The yellow square drifts"))
    expect(page.get_by_text("Price: $0.70", exact=False)).to_be_visible()
    page.get_by_role("textbox", name="Prompt", exact=True).fill("The square sails out to sea")
    page.get_by_role("button", name="Improve prompt").click()
    expect(page.get_by_text("Prompt improved by", exact=False)).to_be_visible()
    expect(page.get_by_role("textbox", name="Prompt", exact=True)).to_have_value(
        "The square sails out to sea" + ENHANCE_SUFFIX
    )
    page.screenshot(path=tmp_path / "create-extend-improved.png", full_page=True)
