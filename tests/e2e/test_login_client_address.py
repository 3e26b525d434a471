"""The login throttle counts the real client, whatever X-Forwarded-For says (issue 9, point 7).

Streamlit's server (Uvicorn) takes the client address from X-Forwarded-For when the connection
comes from loopback, so a local client could name a new address on every request and never meet
the per-client limit. The studio reads the socket's peer, and uses a forwarded address only when
the peer is one of VEOGEN_TRUSTED_PROXIES.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.support import ADMIN_PASSWORD, log_in
from tests.support import RunningStudio, veogen_up

pytestmark = pytest.mark.e2e

CLIENT_MAX_FAILURES = 3
FORGED = ("203.0.113.7", "203.0.113.8", "203.0.113.9", "198.51.100.1")
"""Addresses a local client claims, a new one for each try."""

NETWORK_LOCK = "Too many failed logins from your network."


def failed_login_clients(studio: RunningStudio) -> list[str]:
    """The client address recorded with each failed login, oldest first."""
    with sqlite3.connect(studio.data_dir / "veogen.db") as db:
        rows = db.execute("SELECT detail FROM events WHERE kind = 'login_failed' ORDER BY id").fetchall()
    return [str(detail).rsplit("client ", 1)[1] for (detail,) in rows]


def try_wrong_password(browser: Browser, studio: RunningStudio, username: str, forwarded_for: str) -> None:
    """One failed login from a fresh browser whose every request says ``X-Forwarded-For: forwarded_for``."""
    context = browser.new_context(extra_http_headers={"X-Forwarded-For": forwarded_for})
    page = context.new_page()
    log_in(page, studio.url, username, "not-the-password")
    expect(page.get_by_test_id("stAlert")).to_be_visible()
    context.close()


@pytest.fixture(scope="module")
def direct(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStudio]:
    """A studio reached directly: no trusted proxy."""
    with veogen_up(
        tmp_path_factory.mktemp("direct-up"),
        VEOGEN_ADMIN_PASSWORD=ADMIN_PASSWORD,
        VEOGEN_LOGIN_CLIENT_MAX_FAILURES=str(CLIENT_MAX_FAILURES),
    ) as running:
        yield running


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStudio]:
    """A studio whose loopback peer is declared a trusted proxy (as nginx on the same host would be)."""
    with veogen_up(
        tmp_path_factory.mktemp("proxied-up"),
        VEOGEN_ADMIN_PASSWORD=ADMIN_PASSWORD,
        VEOGEN_TRUSTED_PROXIES="127.0.0.1,::1",
    ) as running:
        yield running


def test_a_forged_forwarded_for_from_loopback_is_counted_under_the_real_address(
    direct: RunningStudio, browser: Browser
) -> None:
    for n, forged in enumerate(FORGED[:CLIENT_MAX_FAILURES]):
        try_wrong_password(browser, direct, f"nobody{n}", forged)
    assert failed_login_clients(direct) == ["127.0.0.1"] * CLIENT_MAX_FAILURES

    # Another claimed address and another account: still the same client, which must now wait.
    context = browser.new_context(extra_http_headers={"X-Forwarded-For": FORGED[-1]})
    page = context.new_page()
    log_in(page, direct.url, "admin", ADMIN_PASSWORD)
    expect(page.get_by_text(NETWORK_LOCK, exact=False)).to_be_visible()
    expect(page.get_by_role("heading", name="Create a video")).to_have_count(0)
    context.close()


def test_behind_a_trusted_proxy_the_forwarded_client_is_counted(behind_proxy: RunningStudio, browser: Browser) -> None:
    try_wrong_password(browser, behind_proxy, "nobody", "198.51.100.23")
    # A hop the client wrote itself, left of the one the proxy added, proves nothing.
    try_wrong_password(browser, behind_proxy, "nobody", "10.9.8.7, 198.51.100.24")
    assert failed_login_clients(behind_proxy) == ["198.51.100.23", "198.51.100.24"]
