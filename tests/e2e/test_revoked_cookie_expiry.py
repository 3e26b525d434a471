"""A login cookie revoked by logout stays refused when VEOGEN_COOKIE_EXPIRY_DAYS is lowered (issue 9, point 8).

The cookie's issue time was computed as its signed expiry minus the current setting, so after a
restart with a shorter expiry a cookie issued before a logout seemed issued after it and logged in
again. The issue time is now signed into the cookie. A cookie that was never revoked keeps working
across the same restart, so the refusal is not a changed key.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Cookie, expect

from tests.e2e.support import ADMIN_PASSWORD, add_user, log_in
from tests.support import veogen_up, wait_until

pytestmark = pytest.mark.e2e

SLOW = 30_000
"""Milliseconds to wait for a page of a freshly started studio."""


def logged_in_cookie(browser: Browser, url: str, username: str, password: str) -> Cookie:
    """Log in in a browser of its own and return the login cookie it stored."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    log_in(page, url, username, password)
    expect(page.get_by_role("heading", name="Create a video")).to_be_visible(timeout=SLOW)
    assert wait_until(lambda: auth_cookie(context) is not None, timeout=SLOW / 1000)
    cookie = auth_cookie(context)
    assert cookie is not None
    context.close()
    return cookie


def auth_cookie(context: BrowserContext) -> Cookie | None:
    return next((c for c in context.cookies() if c["name"] == "veogen_auth"), None)


def open_with(browser: Browser, url: str, cookie: Cookie) -> BrowserContext:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_cookies([cookie])
    context.new_page().goto(url)
    return context


def test_a_cookie_revoked_by_logout_stays_refused_after_the_expiry_is_lowered(tmp_path: Path, browser: Browser) -> None:
    with veogen_up(tmp_path, VEOGEN_ADMIN_PASSWORD=ADMIN_PASSWORD, VEOGEN_COOKIE_EXPIRY_DAYS="30") as studio:
        add_user(studio, "cora", "cora-password-1234")
        kept = logged_in_cookie(browser, studio.url, "cora", "cora-password-1234")
        revoked = logged_in_cookie(browser, studio.url, "admin", ADMIN_PASSWORD)

        context = open_with(browser, studio.url, revoked)  # the copy works until the logout
        page = context.pages[0]
        expect(page.get_by_text("Signed in as admin")).to_be_visible(timeout=SLOW)
        page.get_by_role("button", name="Log out").click()
        expect(page.get_by_role("button", name="Log in")).to_be_visible(timeout=SLOW)
        context.close()

    with veogen_up(tmp_path, VEOGEN_ADMIN_PASSWORD=ADMIN_PASSWORD, VEOGEN_COOKIE_EXPIRY_DAYS="1") as studio:
        context = open_with(browser, studio.url, kept)
        expect(context.pages[0].get_by_text("Signed in as cora")).to_be_visible(timeout=SLOW)
        context.close()

        context = open_with(browser, studio.url, revoked)
        page = context.pages[0]
        expect(page.get_by_text("Your session has ended; log in again.")).to_be_visible(timeout=SLOW)
        expect(page.get_by_role("button", name="Log in")).to_be_visible()
        expect(page.get_by_text("Signed in as admin")).to_have_count(0)
        context.close()
