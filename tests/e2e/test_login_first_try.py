"""A correct login typed straight after the first paint logs in on the first try, on a loaded machine
(issue 9, point 3).

The empty form came back when a rerun reached the server while the login button's callback was
checking the password: Streamlit's fast reruns start the new run at once, without the click. The
rerun came from streamlit-authenticator's cookie component, drawn on every run, whose first report
arrives once its frame has loaded — on a busy machine, after the person has already sent the form.
Here every core is kept busy, and the browser's component frames are held back until the form has
been sent, so such a report would land on the password check; the form is sent once, never again.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Route, expect

from tests.e2e.support import ADMIN_PASSWORD
from tests.support import RunningStudio, veogen_up

pytestmark = pytest.mark.e2e

ATTEMPTS = 3
"""Fresh browsers logging in one after another (the first on a studio that has served nobody yet)."""

SLOW = 30_000
"""Milliseconds to wait for the studio after the login: the machine is kept busy on purpose."""


class ComponentFrames:
    """Holds a page's component frames back until released, as a busy machine loads them late."""

    def __init__(self) -> None:
        self.held: list[Route] = []
        self.released = False

    def route(self, route: Route) -> None:
        if self.released:
            route.continue_()
        else:
            self.held.append(route)

    def release(self) -> None:
        self.released = True
        for route in self.held:
            route.continue_()


@pytest.fixture(scope="module")
def studio_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStudio]:
    """A studio of its own, so the first browser meets a web process that has served nobody yet."""
    with veogen_up(tmp_path_factory.mktemp("first-try-up"), VEOGEN_ADMIN_PASSWORD=ADMIN_PASSWORD) as running:
        yield running


@pytest.fixture
def busy_cpu() -> Iterator[None]:
    """A busy loop on every core for the length of the test."""
    spinners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(max(2, os.cpu_count() or 2))
    ]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def test_a_login_typed_straight_after_the_first_paint_works_the_first_time(
    studio_up: RunningStudio, browser: Browser, busy_cpu: None
) -> None:
    for attempt in range(ATTEMPTS):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(SLOW)
        frames = ComponentFrames()
        context.route("**/component/**", frames.route)  # component frames load only once the form is sent
        page = context.new_page()
        page.goto(studio_up.url)
        username = page.get_by_role("textbox", name="Username")
        username.wait_for()  # the first paint: type at once, as a person who knows their password does
        username.fill("admin")
        page.get_by_role("textbox", name="Password").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        frames.release()

        expect(page.get_by_role("heading", name="Create a video"), f"attempt {attempt + 1}").to_be_visible(timeout=SLOW)
        expect(page.get_by_text("Signed in as admin")).to_be_visible()
        context.close()
