"""Browser fixtures: `veogen up` on the embedded default, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.support import ADMIN_PASSWORD
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
