"""The login cookie carries its signed issue time (issue 9, point 8): a cookie revoked by a logout or a
password change stays refused when VEOGEN_COOKIE_EXPIRY_DAYS is lowered, and a lower setting shortens
the cookies already out."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fakeredis
import jwt
import pytest

from core.db import upgrade_database
from core.services.auth import decode_cookie, encode_cookie
from core.studio import Studio, build_studio
from tests.support import make_settings

ALICE_PASSWORD = "correct horse battery"
KEY = secrets.token_urlsafe(48)


@pytest.fixture
def studios(tmp_path: Path) -> Iterator[tuple[Studio, Studio]]:
    """Two studios on one database and cookie key: cookies for 30 days, and the same after the setting went down to 1."""
    before = make_settings(tmp_path, cookie_key=KEY, cookie_expiry_days=30)
    upgrade_database(before.resolved_database_url())
    long, short = (
        build_studio(settings, redis=fakeredis.FakeRedis())
        for settings in (before, before.model_copy(update={"cookie_expiry_days": 1}))
    )
    yield long, short
    long.engine.dispose()
    short.engine.dispose()


def session_counts(studio: Studio, token: str) -> bool:
    """Whether a browser sending ``token`` is logged in (what the gate checks on every run)."""
    claims = studio.accounts.read_cookie(token)
    return claims is not None and studio.accounts.session_user(claims.username, claims.issued_at) is not None


def test_a_cookie_revoked_by_logout_stays_refused_after_the_expiry_is_lowered(studios: tuple[Studio, Studio]):
    long, short = studios
    alice = long.accounts.add_user("alice", ALICE_PASSWORD).id
    token, expires = long.accounts.issue_cookie("alice")
    assert expires > datetime.now(UTC) + timedelta(days=29)
    assert session_counts(long, token) and session_counts(short, token)
    long.accounts.logout(alice)
    assert not session_counts(long, token)
    assert not session_counts(short, token)


def test_a_cookie_revoked_by_a_password_change_stays_refused_after_the_expiry_is_lowered(
    studios: tuple[Studio, Studio],
):
    long, short = studios
    alice = long.accounts.add_user("alice", ALICE_PASSWORD).id
    token, _ = long.accounts.issue_cookie("alice")
    long.accounts.change_password(alice, ALICE_PASSWORD, "a brand new secret")
    assert not session_counts(short, token)
    renewed, _ = short.accounts.issue_cookie("alice")  # the tab that changed it gets a new cookie
    assert session_counts(short, renewed)


def test_a_lower_expiry_shortens_the_cookies_already_out():
    now = datetime.now(UTC)
    token, _ = encode_cookie(username="alice", key=KEY, now=now - timedelta(days=2), expiry_days=30)
    assert decode_cookie(token, key=KEY, now=now, expiry_days=30) is not None
    assert decode_cookie(token, key=KEY, now=now, expiry_days=1) is None


def test_the_issue_time_is_read_from_the_signed_cookie():
    issued = datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)
    token, expires = encode_cookie(username="alice", key=KEY, now=issued, expiry_days=2)
    assert expires == issued + timedelta(days=2)
    claims = decode_cookie(token, key=KEY, now=issued + timedelta(hours=1), expiry_days=0.5)
    assert claims is not None and claims.username == "alice"
    assert abs(claims.issued_at - issued) < timedelta(microseconds=2)  # type: ignore[operator]


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "not a jwt",
        jwt.encode({"username": "alice", "exp_date": 4e9, "issued_at": 1.7e9}, "another key of ours" * 3),
        jwt.encode({"username": "alice", "exp_date": 1.0, "issued_at": 0.5}, KEY),  # expired
        jwt.encode({"exp_date": 4e9, "issued_at": 1.7e9}, KEY),  # nobody's
        jwt.encode({"username": "alice", "exp_date": 4e9, "issued_at": "yesterday"}, KEY),
    ],
)
def test_a_cookie_we_did_not_sign_or_that_expired_names_nobody(token: str | None):
    assert decode_cookie(token, key=KEY, now=datetime.now(UTC), expiry_days=30) is None


def test_a_cookie_from_before_the_issue_time_counts_only_while_nothing_was_revoked(studios: tuple[Studio, Studio]):
    long, short = studios
    alice = long.accounts.add_user("alice", ALICE_PASSWORD).id
    # streamlit-authenticator's claims: a username and an expiry, no issue time.
    legacy = jwt.encode({"username": "alice", "exp_date": (datetime.now(UTC) + timedelta(days=30)).timestamp()}, KEY)
    assert session_counts(short, legacy)
    long.accounts.logout(alice)
    assert not session_counts(short, legacy)
