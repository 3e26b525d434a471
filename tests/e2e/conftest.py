"""Browser fixtures: `veogen up` on the embedded default, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.support import RunningStudio, veogen_up

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_PASSWORD = "e2e-admin-password"

# A Streamlit rerun on a busy two-core machine can take several seconds; assertions wait up to 30 s.
expect.set_options(timeout=30_000)


@pytest.fixture(scope="module")
def studio_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStudio]:
    with veogen_up(
        tmp_path_factory.mktemp("up"), VEOGEN_ADMIN_PASSWORD=ADMIN_PASSWORD, VEOGEN_POLL_INTERVAL_SECONDS="0.5"
    ) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "Debian's chromium is installed by `make test` (scripts/system-deps.sh)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    p = context.new_page()
    yield p
    context.close()


def log_in(page: Page, url: str, username: str, password: str) -> None:
    """Fill and send the login form; send it again if the first try landed before the page was live.

    On a cold server the first render can replace the form after it was filled; the try is over when
    the login caption is gone (logged in) or an alert answers (refused). The form is sent again only
    when it was redrawn empty (the form clears itself in the run that answers), or after 30 s without
    an answer: a form still holding the username is usually a try still being answered, and sending it
    again would count a second failed login (and lock an account early).
    """
    page.goto(url)
    field = page.get_by_role("textbox", name="Username")
    for attempt in range(6):
        if attempt % 3 == 0 or not field.count() or field.input_value() != username:
            field.fill(username)
            page.get_by_role("textbox", name="Password").fill(password)
            page.get_by_role("button", name="Log in").click()
        try:
            page.wait_for_function(
                "() => !document.body.innerText.includes('Log in with the account')"
                " || document.querySelector('[data-testid=\"stAlert\"]')",
                timeout=10_000,
            )
            return
        except PlaywrightTimeoutError:
            continue
