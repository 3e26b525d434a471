"""Browser fixtures: `veogen up` on the embedded default, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support import ROOT, RunningStudio, veogen_up

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


def add_user(studio: RunningStudio, username: str, password: str, role: str = "creator") -> None:
    """Create a user with `veogen user add --password-stdin` against the running studio's data."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VEOGEN_", "DATABASE_URL", "REDIS_URL"))}
    env["VEOGEN_DATA_DIR"] = str(studio.data_dir)
    subprocess.run(
        [sys.executable, "-m", "core.cli", "user", "add", username, "--role", role, "--password-stdin"],
        input=password + "\n",
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )


def log_in(page: Page, url: str, username: str, password: str) -> None:
    """Open the studio, fill the login form and send it once; wait until it is answered.

    Never sent twice: a person types once, so a login the page dropped must fail the test (issue 9),
    and a second send would count a second failed login. Answered means the login caption is gone
    (logged in) or an alert says what happened (logged in and opening, or refused).
    """
    page.goto(url)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_function(
        "() => !document.body.innerText.includes('Log in with the account')"
        " || document.querySelector('[data-testid=\"stAlert\"]')",
        timeout=30_000,
    )
