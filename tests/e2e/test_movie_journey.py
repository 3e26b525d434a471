"""A film on `make run`'s embedded default, in headless Chromium: a script becomes a 3-shot storyboard, the
film is drafted with the offline renderer, assembled by a worker, and played with the expected duration."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import ADMIN_PASSWORD, log_in
from tests.e2e.test_journey import go_to
from tests.support import RunningStudio

pytestmark = pytest.mark.e2e

SCRIPT = "A red lantern rises. It drifts over the river. It fades into the stars."


def reload_until(page: Page, text: str, *, count: int = 1, timeout: float = 120) -> None:
    """The Movies page is not live: reload it until ``text`` shows ``count`` times."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        expect(page.get_by_role("heading", name="Movies", exact=True)).to_be_visible()
        page.wait_for_timeout(1_500)  # the rest of the page renders after its heading
        if page.get_by_text(text, exact=False).count() >= count:
            return
        page.reload()
    expect(page.get_by_text(text, exact=False)).to_have_count(count)


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
    reload_until(page, "take 1: Done", count=3)
    page.screenshot(path=tmp_path / "movie-shots.png", full_page=True)

    page.get_by_role("button", name="Assemble the film").click()
    expect(page.get_by_text("The film is being assembled.")).to_be_visible()
    reload_until(page, "Download MP4")
    video = page.locator("video").first
    expect(video).to_be_attached()
    video.evaluate("v => new Promise(ok => v.readyState >= 1 ? ok() : v.addEventListener('loadedmetadata', ok))")
    assert abs(video.evaluate("v => v.duration") - 6) < 0.2  # three 2 s shots joined by cuts
    page.screenshot(path=tmp_path / "movie-assembled.png", full_page=True)
