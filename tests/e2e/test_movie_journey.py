"""A film on `make run`'s embedded default, in headless Chromium: a script becomes a 3-shot storyboard, the
film is drafted with the offline renderer (the page follows the takes live, without a reload), given an
uploaded soundtrack, assembled by a worker, played with the expected duration and downloaded with the music."""

from __future__ import annotations

from pathlib import Path

import av
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import ADMIN_PASSWORD, log_in
from tests.e2e.test_journey import go_to
from tests.support import RunningStudio, wav

pytestmark = pytest.mark.e2e

SCRIPT = "A red lantern rises. It drifts over the river. It fades into the stars."


def test_a_three_shot_draft_film_is_assembled_and_plays(studio_up: RunningStudio, page: Page, tmp_path: Path):
    log_in(page, studio_up.url, "admin", ADMIN_PASSWORD)
    go_to(page, "Movies")
    page.get_by_role("textbox", name="Title").fill("Lanterns")
    page.get_by_role("textbox", name="Title").press("Enter")
    page.get_by_role("button", name="Create film").click()
    expect(page.get_by_text("Film created: write its storyboard.")).to_be_visible()

    page.get_by_role("textbox", name="Script").fill(SCRIPT)
    page.get_by_role("spinbutton", name="Seconds per shot").fill("2")
    page.get_by_role("button", name="Propose shots").click()
    page.get_by_role("button", name="Save storyboard").click()
    expect(page.get_by_text("Storyboard saved.")).to_be_visible()
    expect(page.get_by_text("in 3 shots", exact=False)).to_be_visible()
    page.screenshot(path=tmp_path / "movie-storyboard.png", full_page=True)

    page.get_by_role("button", name="Draft it first (offline renderer, free)").click()
    expect(page.get_by_text("Every shot is queued as a free draft.")).to_be_visible()
    expect(page.get_by_text("take 1: Done", exact=False)).to_have_count(3, timeout=120_000)  # live, no reload
    page.screenshot(path=tmp_path / "movie-shots.png", full_page=True)

    (tmp_path / "tone.wav").write_bytes(wav(8))
    page.get_by_text("Add a soundtrack").click()
    page.locator("input[type=file]").set_input_files(tmp_path / "tone.wav")
    page.get_by_role("button", name="Use this soundtrack").click()
    expect(page.get_by_text("Soundtrack saved: assemble the film to hear it.")).to_be_visible()

    page.get_by_role("button", name="Assemble the film").click()
    expect(page.get_by_text("The film is being assembled.")).to_be_visible()
    expect(page.get_by_role("button", name="Download MP4")).to_be_visible(timeout=120_000)
    video = page.locator("video").first
    expect(video).to_be_attached()
    video.evaluate("v => new Promise(ok => v.readyState >= 1 ? ok() : v.addEventListener('loadedmetadata', ok))")
    assert abs(video.evaluate("v => v.duration") - 6) < 0.2  # three 2 s shots joined by cuts
    page.screenshot(path=tmp_path / "movie-assembled.png", full_page=True)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download MP4").click()
    film = tmp_path / "film.mp4"
    download.value.save_as(film)
    with av.open(str(film)) as container:  # the drafts are silent: the sound is the uploaded soundtrack
        assert len(container.streams.audio) == 1
