"""Accounts: login throttling and locks that expire, equal answers, password policy, session
revocation, admin-only user management, invitations, registration, encrypted credentials."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import fakeredis
import pytest
from sqlalchemy import select, update

from core.db import upgrade_database
from core.errors import PermissionDeniedError, ValidationError
from core.models import AppSecret, Event, LoginThrottle, User
from core.services.auth import LOGIN_FAILED, check_password
from core.studio import Studio, build_studio
from tests.support import embedded_studio, make_settings

ALICE_PASSWORD = "correct horse battery"


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[Studio]:
    with embedded_studio(tmp_path, login_max_failures=3, login_lock_seconds=60, login_client_max_failures=10) as studio:
        yield studio


@pytest.fixture
def admin(studio: Studio) -> int:
    return studio.accounts.add_user("boss", "an admin's long secret", role="admin").id


@pytest.fixture
def alice(studio: Studio) -> int:
    return studio.accounts.add_user("alice", ALICE_PASSWORD).id


def events(studio: Studio, kind: str) -> list[Event]:
    with studio.sessions() as s:
        return list(s.execute(select(Event).where(Event.kind == kind)).scalars())


def test_login_succeeds_and_is_recorded(studio: Studio, alice: int):
    result = studio.accounts.login("Alice", ALICE_PASSWORD, "10.0.0.1")
    assert (result.user_id, result.username, result.error) == (alice, "alice", None)
    assert [e.user_id for e in events(studio, "login")] == [alice]


def test_unknown_user_and_wrong_password_get_the_same_answer_in_the_same_time(studio: Studio, alice: int):
    def timed(username: str) -> tuple[str | None, float]:
        start = time.perf_counter()
        result = studio.accounts.login(username, "wrong password here", f"client-{username}")
        return result.error, time.perf_counter() - start

    wrong, wrong_time = timed("alice")
    unknown, unknown_time = timed("nobody")
    assert wrong == unknown == LOGIN_FAILED
    # Both run one bcrypt at the same cost; neither answers in a fraction of the other's time.
    assert 0.5 < wrong_time / unknown_time < 2.0


def test_failures_lock_the_account_for_a_while_then_it_opens_again(studio: Studio, alice: int):
    for _ in range(3):
        assert studio.accounts.login("alice", "wrong password here", "c1").error
    locked = studio.accounts.login("alice", ALICE_PASSWORD, "c2")  # the right password, during the lock
    assert locked.user_id is None and "Too many failed logins for this account" in (locked.error or "")
    assert events(studio, "login_locked")
    with studio.sessions() as s, s.begin():  # time passes: the lock expires by itself
        s.execute(update(LoginThrottle).values(locked_until=datetime.now(UTC) - timedelta(seconds=1)))
    assert studio.accounts.login("alice", ALICE_PASSWORD, "c2").user_id == alice


def test_unknown_usernames_lock_the_same_way(studio: Studio):
    answers = [studio.accounts.login("ghost", "wrong password here", "c1").error for _ in range(4)]
    assert answers[:2] == [LOGIN_FAILED, LOGIN_FAILED]
    assert "Too many failed logins for this account" in (answers[3] or "")


def test_one_client_guessing_many_accounts_is_slowed(studio: Studio):
    answers = [studio.accounts.login(f"user{i}", "wrong password here", "10.9.9.9").error for i in range(11)]
    assert "from your network" in (answers[-1] or "")
    assert studio.accounts.login("someone", "wrong password here", "10.1.1.1").error == LOGIN_FAILED


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("short", "at least 10 characters"),
        ("x" * 73, "at most 72 bytes"),
        ("password123", "most common"),
        ("iloveyou12", "most common"),
        ("alicealice", None),
    ],
)
def test_password_policy(password: str, words: str | None):
    if words is None:
        check_password(password, username="alice", min_chars=10)
        return
    with pytest.raises(ValidationError, match=words):
        check_password(password, username="alice", min_chars=10)


def test_password_must_not_be_the_username():
    with pytest.raises(ValidationError, match="not be the username"):
        check_password("alice12345", username="alice12345", min_chars=10)


def test_logout_revokes_cookies_issued_before(studio: Studio, alice: int):
    issued = datetime.now(UTC) - timedelta(seconds=5)
    assert studio.accounts.session_user("alice", issued) is not None
    studio.accounts.logout(alice)
    assert studio.accounts.session_user("alice", issued) is None
    assert studio.accounts.session_user("alice", datetime.now(UTC) + timedelta(seconds=1)) is not None


def test_wrong_current_passwords_count_toward_the_accounts_lock(studio: Studio, alice: int):
    """A stolen session or API token cannot guess the current password: the login's lock counts the guesses."""
    for _ in range(2):
        with pytest.raises(ValidationError, match="current password is wrong") as wrong:
            studio.accounts.change_password(alice, "not it at all", "a brand new secret")
        assert wrong.value.field == "current_password"
    with pytest.raises(ValidationError, match="Too many failed logins for this account"):
        studio.accounts.change_password(alice, "still not it", "a brand new secret")  # the third: locked
    with pytest.raises(ValidationError, match="Too many failed logins"):
        studio.accounts.change_password(alice, ALICE_PASSWORD, "a brand new secret")  # even the right one, now
    assert studio.accounts.login("alice", ALICE_PASSWORD, "c").user_id is None  # the page's login: the same lock
    assert len(events(studio, "password_change_failed")) == 3 and events(studio, "login_locked")


def test_a_right_current_password_clears_the_guesses(studio: Studio, alice: int):
    for _ in range(2):
        with pytest.raises(ValidationError):
            studio.accounts.change_password(alice, "not it at all", "a brand new secret")
    studio.accounts.change_password(alice, ALICE_PASSWORD, "a brand new secret")
    for _ in range(2):  # counted from nothing again: two more wrong ones do not lock
        with pytest.raises(ValidationError, match="current password is wrong"):
            studio.accounts.change_password(alice, "not it at all", "another new secret")
    assert studio.accounts.login("alice", "a brand new secret", "c").user_id == alice


def test_password_change_reset_and_disable_end_sessions(studio: Studio, admin: int, alice: int):
    issued = datetime.now(UTC) - timedelta(seconds=5)
    with pytest.raises(ValidationError, match="current password is wrong"):
        studio.accounts.change_password(alice, "not it at all", "a brand new secret")
    studio.accounts.change_password(alice, ALICE_PASSWORD, "a brand new secret")
    assert studio.accounts.session_user("alice", issued) is None
    assert studio.accounts.login("alice", "a brand new secret", "c").user_id == alice

    later = datetime.now(UTC) + timedelta(seconds=1)
    _, temporary = studio.accounts.reset_password(admin, alice)
    assert studio.accounts.session_user("alice", later - timedelta(seconds=2)) is None
    result = studio.accounts.login("alice", temporary, "c")
    assert result.user_id == alice and result.must_change_password

    studio.accounts.set_disabled(admin, alice, True)
    assert studio.accounts.session_user("alice", datetime.now(UTC) + timedelta(seconds=5)) is None
    assert "disabled" in (studio.accounts.login("alice", temporary, "c").error or "")
    studio.accounts.set_disabled(admin, alice, False)
    assert studio.accounts.login("alice", temporary, "c").user_id == alice


def test_only_admins_manage_users(studio: Studio, admin: int, alice: int):
    for call in (
        lambda: studio.accounts.list_users(alice),
        lambda: studio.accounts.create_user(alice, "eve", "admin"),
        lambda: studio.accounts.set_role(alice, alice, "admin"),
        lambda: studio.accounts.set_disabled(alice, admin, True),
        lambda: studio.accounts.reset_password(alice, admin),
        lambda: studio.accounts.set_limits(alice, alice, Decimal(1000), 100),
        lambda: studio.accounts.events(alice),
        lambda: studio.accounts.team_credentials(alice),
        lambda: studio.accounts.set_team_credential(alice, "gemini_api_key", "stolen"),
    ):
        with pytest.raises(PermissionDeniedError):
            call()
    with studio.sessions() as s:
        assert s.get(User, alice).role == "creator"


def test_admin_creates_a_user_whose_first_password_must_change(studio: Studio, admin: int):
    view, password = studio.accounts.create_user(admin, "dora", "creator", email="dora@example.com")
    assert view.must_change_password
    assert studio.accounts.login("dora", password, "c").must_change_password


def test_the_last_admin_cannot_be_demoted_or_disabled(studio: Studio, admin: int, alice: int):
    with pytest.raises(ValidationError, match="last enabled administrator"):
        studio.accounts.set_role(admin, admin, "creator")
    with pytest.raises(ValidationError, match="last enabled administrator"):
        studio.accounts.set_disabled(admin, admin, True)
    studio.accounts.set_role(admin, alice, "admin")
    studio.accounts.set_role(admin, admin, "creator")  # now there is another admin


def test_limits_are_set_by_admins_and_used_by_budgets(studio: Studio, admin: int, alice: int):
    studio.accounts.set_limits(admin, alice, Decimal("12.50"), 4)
    budget = studio.generations.budget(alice)
    assert (budget.budget_usd, budget.max_open_generations) == (Decimal("12.50"), 4)
    with pytest.raises(ValidationError):
        studio.accounts.set_limits(admin, alice, Decimal(-1), None)


def test_invitation_link_works_once_and_expires(studio: Studio, admin: int):
    view, link = studio.accounts.invite_user(admin, "finn", "creator", email="finn@example.com")
    token = link.split("invite=", 1)[1]
    assert link.startswith("http://127.0.0.1:8501/?invite=")
    studio.accounts.accept_invite(token, "finn's own long secret")
    assert studio.accounts.login("finn", "finn's own long secret", "c").user_id == view.id
    with pytest.raises(ValidationError, match="not valid"):
        studio.accounts.accept_invite(token, "another long secret")
    _, link2 = studio.accounts.invite_user(admin, "gus", "creator")
    with studio.sessions() as s, s.begin():
        s.execute(update(User).where(User.username == "gus").values(invite_expires_at=datetime.now(UTC) - timedelta(1)))
    with pytest.raises(ValidationError, match="not valid"):
        studio.accounts.accept_invite(link2.split("invite=", 1)[1], "gus's own long secret")


def test_registration_is_off_by_default_and_limited_to_domains(tmp_path: Path):
    closed = build_studio(make_settings(tmp_path / "a"), redis=fakeredis.FakeRedis())
    upgrade_database(closed.settings.resolved_database_url())
    with pytest.raises(ValidationError, match="Registration is closed"):
        closed.accounts.register("hal", "hal@example.com", "hal's long secret")
    settings = make_settings(tmp_path / "b", self_registration=True, registration_domains="example.com, @Corp.io")
    upgrade_database(settings.resolved_database_url())
    open_ = build_studio(settings, redis=fakeredis.FakeRedis())
    with pytest.raises(ValidationError, match="open only to addresses"):
        open_.accounts.register("hal", "hal@gmail.com", "hal's long secret")
    assert open_.accounts.register("hal", "hal@corp.io", "hal's long secret").role == "creator"


def test_credentials_are_encrypted_and_shown_by_last_four_only(studio: Studio, admin: int, alice: int):
    studio.accounts.set_team_credential(admin, "gemini_api_key", "AIzaSy-team-key-1234")
    with studio.sessions() as s:
        stored = s.get(AppSecret, "gemini_api_key").ciphertext
    assert "AIzaSy" not in stored and "1234" not in stored
    views = {v.name: v for v in studio.accounts.team_credentials(admin)}
    assert (views["gemini_api_key"].is_set, views["gemini_api_key"].last4) == (True, "1234")
    # A key set in the UI is the credential in force (its models come from Google's live list).
    team = studio.providers.credential(None, "gemini")
    assert (team.label, team.settings.gemini_api_key) == ("the team's Gemini API key", "AIzaSy-team-key-1234")
    studio.accounts.set_personal_key(alice, "AIzaSy-alice-own-9876")
    assert studio.accounts.personal_key(alice).last4 == "9876"
    own = studio.providers.credential(alice, "gemini")
    assert (own.label, own.settings.gemini_api_key) == ("your own Gemini API key", "AIzaSy-alice-own-9876")
    assert studio.providers.credential(admin, "gemini").settings.gemini_api_key == "AIzaSy-team-key-1234"
