"""Helpers of the browser journeys: the first admin's password, creating a user, logging in as a person does.

Fixtures live in ``conftest.py``; journeys import these helpers from here.
"""

from __future__ import annotations

import os
import subprocess
import sys

from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.support import ROOT, RunningStudio

ADMIN_PASSWORD = "e2e-admin-password"
"""The password of ``admin`` in the studio every journey module starts."""


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


def pick_when_settled(page: Page, label: str, option: str) -> None:
    """Like ``pick``, opening the list again if the page's last rerun (the panel turning final) closed it."""
    for _ in range(5):
        page.get_by_role("combobox", name=label, exact=True).click()
        choice = page.get_by_role("option", name=option, exact=True)
        try:
            choice.click(timeout=3_000)
            return
        except PlaywrightTimeoutError:
            page.keyboard.press("Escape")
    pick(page, label, option)


def pick(page: Page, label: str, option: str) -> None:
    """Choose ``option`` in the Streamlit selectbox labelled ``label``."""
    page.get_by_role("combobox", name=label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()
