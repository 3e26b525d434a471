"""A person's first journey on `make run`'s embedded default, in headless Chromium:
log in, write a prompt, watch it render, and play the video from the gallery."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.e2e.support import ADMIN_PASSWORD, log_in, pick
from tests.support import RunningStudio

pytestmark = pytest.mark.e2e


def go_to(page: Page, name: str) -> None:
    """Open a page from the sidebar; click again if a rerun swallowed the click."""
    heading = page.get_by_role("heading", name=name, exact=True)
    for _ in range(3):
        page.get_by_test_id("stSidebarNav").get_by_role("link", name=name).click()
        try:
            heading.wait_for(timeout=10_000)
            return
        except PlaywrightTimeoutError:
            continue
    expect(heading).to_be_visible()


def test_login_prompt_render_and_play_from_the_gallery(studio_up: RunningStudio, page: Page, tmp_path: Path):
    log_in(page, studio_up.url, "admin", ADMIN_PASSWORD)
    expect(page.get_by_role("heading", name="Create a video")).to_be_visible()
    expect(page.get_by_role("combobox", name="Model")).to_be_visible()
    expect(page.get_by_text("It is not AI.")).to_be_visible()

    page.get_by_role("textbox", name="Prompt", exact=True).fill("A paper lantern drifts over a night river")
    pick(page, "Duration", "2 s")
    pick(page, "Resolution", "360p")
    expect(page.get_by_text("$0.00").first).to_be_visible()
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("Submitted.")).to_be_visible()
    expect(page.get_by_text("Done", exact=True).first).to_be_visible(timeout=90_000)

    page.get_by_role("link", name="Go to the gallery").click()
    expect(page.get_by_role("heading", name="Gallery")).to_be_visible()
    expect(page.locator('[data-testid="stImage"] img').first).to_be_visible()  # the card's thumbnail
    page.get_by_role("button", name="Play", exact=True).first.click()

    dialog = page.get_by_role("dialog")
    page.screenshot(path=tmp_path / "gallery-play.png")  # kept with the test's files for a human to look at
    video = dialog.locator("video").first
    expect(video).to_be_attached()
    video.evaluate("v => new Promise(ok => v.readyState >= 1 ? ok() : v.addEventListener('loadedmetadata', ok))")
    duration = video.evaluate("v => v.duration")
    width, height = video.evaluate("v => [v.videoWidth, v.videoHeight]")
    assert abs(duration - 2) < 0.1
    assert (width, height) == (640, 360)
    expect(dialog.get_by_text("A paper lantern drifts over a night river")).to_be_visible()
    expect(dialog.get_by_role("button", name="Download MP4")).to_be_visible()


def test_a_wrong_password_gets_the_one_login_error(studio_up: RunningStudio, page: Page):
    log_in(page, studio_up.url, "admin", "not the password")
    expect(page.get_by_text("Wrong username or password.")).to_be_visible()
    log_in(page, studio_up.url, "nobody-here", "not the password")
    expect(page.get_by_text("Wrong username or password.")).to_be_visible()
    expect(page.get_by_role("heading", name="Create a video")).not_to_be_visible()


def test_an_admin_sees_the_queue_healthy(studio_up: RunningStudio, page: Page):
    log_in(page, studio_up.url, "admin", ADMIN_PASSWORD)
    go_to(page, "Queue")
    workers = page.locator('[data-testid="stMetric"]').filter(has_text="Workers alive")
    expect(workers.locator('[data-testid="stMetricValue"]')).to_have_text("2")
    scheduler = page.locator('[data-testid="stMetric"]').filter(has_text="Scheduler")
    expect(scheduler.locator('[data-testid="stMetricValue"]')).to_have_text("leading")
    expect(page.get_by_text("No worker is alive")).not_to_be_visible()
    expect(page.get_by_role("heading", name="Recent failures")).to_be_visible()


def test_an_admin_reads_the_analytics(studio_up: RunningStudio, page: Page):
    log_in(page, studio_up.url, "admin", ADMIN_PASSWORD)
    go_to(page, "Analytics")
    expect(page.locator(".js-plotly-plot").first).to_be_visible()  # Plotly drew the first chart
    expect(page.get_by_role("button", name="Download CSV").first).to_be_visible()
