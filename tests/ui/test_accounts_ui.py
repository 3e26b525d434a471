"""AppTest tests of accounts: roles in navigation and on admin pages, the Users and Settings pages,
forced password change, locks, session checks on every run, logout revocation, the Account page,
invitations and self-registration."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from streamlit.testing.v1 import AppTest

from core.services.generations import GenerationForm
from core.services.users import UserView
from core.status import Status
from pages._ui import auth, state
from pages._ui.guards import ADMIN_ONLY, ADMIN_PAGES
from tests.ui.support import ROOT, UiEnv, button, log_in, new_app, open_page, studio_env, texts, unescape

pytestmark = pytest.mark.ui

CREATE = "pages/create.py"
GALLERY = "pages/gallery.py"
ACCOUNT = "pages/account.py"
USERS = "pages/admin_users.py"
SETTINGS = "pages/admin_settings.py"
ADMIN_PASSWORD = "root-password-for-tests"
MAX_FAILURES = 3


@pytest.fixture
def accounts_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[UiEnv]:
    """The page-test studio (alice and bob, creators) with an admin "root" and a lock after 3 failures."""
    with studio_env(tmp_path, monkeypatch, VEOGEN_LOGIN_MAX_FAILURES=str(MAX_FAILURES)) as env:
        env.studio.accounts.add_user("root", ADMIN_PASSWORD, role="admin", name="Root")
        yield env


def admin_of(env: UiEnv) -> UserView:
    return env.studio.accounts.by_username("root")


def in_force(env: UiEnv, user: UserView | None = None) -> str:
    """The Gemini key a generation of ``user`` would use now (read afresh, past the per-process cache)."""
    env.studio.providers.forget()
    found = [c for c in env.studio.providers.credentials(user.id if user else None) if c.surface == "gemini"]
    return found[0].settings.gemini_api_key if found else ""


def errors(at: AppTest) -> list[str]:
    return [unescape(str(e.value)) for e in at.error]


def shown_on_login_form(at: AppTest) -> bool:
    return [t.label for t in at.text_input] == ["Username", "Password"] and not at.title[1:]


def as_admin(page: str) -> AppTest:
    return open_page(log_in("root", ADMIN_PASSWORD), page)


def run_page_as(path: str, user: state.CurrentUser) -> AppTest:
    """Run a page file on its own with a logged-in session for ``user`` (as if the gate had let it through)."""
    at = AppTest.from_file(str(ROOT / path), default_timeout=30)
    at.session_state["authentication_status"] = True
    at.session_state[state.CURRENT_USER] = user
    return at.run()


def users_table(at: AppTest) -> dict[str, dict[str, str]]:
    frame = next(df.value for df in at.dataframe if "Username" in df.value.columns)
    return {row["Username"]: row for row in frame.to_dict("records")}


def create_user_via_page(at: AppTest, username: str, role: str = "creator") -> str:
    """Fill the Users page's create form; return the initial password it shows."""
    at.text_input(key="users_create_username").input(username)
    at.selectbox(key="users_create_role").select(role)
    button(at, "Create user").click().run()
    assert not errors(at), errors(at)
    [code] = at.code
    return str(code.value)


# -- roles ----------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_a_creators_navigation_has_no_admin_pages(accounts_env: UiEnv, page: str) -> None:
    at = log_in("alice")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(page)


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_an_admin_page_run_for_a_creator_shows_only_the_refusal(accounts_env: UiEnv, page: str) -> None:
    alice = accounts_env.alice
    accounts_env.submit(accounts_env.bob, "bob's own prompt")
    at = run_page_as(page, state.CurrentUser(id=alice.id, username="alice", role="creator", name="Alice"))
    assert errors(at) == [ADMIN_ONLY]
    assert not at.dataframe and not at.text_input and not at.button and not at.metric
    assert "bob" not in texts(at) and "root" not in texts(at)


def test_a_role_forged_in_the_session_is_refused_by_the_database(accounts_env: UiEnv) -> None:
    alice = accounts_env.alice
    at = run_page_as(USERS, state.CurrentUser(id=alice.id, username="alice", role="admin", name="Alice"))
    assert errors(at) == [ADMIN_ONLY]
    assert not at.dataframe


def test_an_admin_has_users_and_settings_in_the_navigation(accounts_env: UiEnv) -> None:
    at = log_in("root", ADMIN_PASSWORD)
    assert [t.value for t in at.title] == ["Create a video"]
    for page, title in ((USERS, "Users"), (SETTINGS, "Settings"), (ACCOUNT, "Account")):
        assert [t.value for t in open_page(at, page).title] == [title]


def test_a_creator_sees_account_but_not_the_admin_pages(accounts_env: UiEnv) -> None:
    at = open_page(log_in("alice"), ACCOUNT)
    assert [t.value for t in at.title] == ["Account"]
    assert "Administrator" not in [c.value for c in at.sidebar.caption]


# -- users page -----------------------------------------------------------------------------


def test_the_users_page_lists_every_user_with_status_limits_and_last_login(accounts_env: UiEnv) -> None:
    env = accounts_env
    env.studio.accounts.set_disabled(admin_of(env).id, env.bob.id, True)
    env.studio.accounts.set_limits(admin_of(env).id, env.alice.id, Decimal("12.5"), 4)
    rows = users_table(as_admin(USERS))
    assert set(rows) == {"alice", "bob", "root"}
    assert rows["alice"]["Status"] == "enabled" and rows["bob"]["Status"] == "disabled"
    assert rows["root"]["Role"] == "admin" and rows["alice"]["Role"] == "creator"
    assert (rows["alice"]["Monthly budget"], rows["alice"]["Open cap"]) == ("$12.50", "4")
    assert rows["bob"]["Monthly budget"] == "default ($50.00)" and rows["bob"]["Open cap"] == "default (20)"
    assert rows["root"]["Last login"] != "never" and rows["bob"]["Last login"] == "never"


def test_creating_a_user_shows_the_initial_password_once(accounts_env: UiEnv) -> None:
    at = as_admin(USERS)
    password = create_user_via_page(at, "carol")
    assert "Created creator carol. Their initial password:" in texts(at)
    assert "must change it when they first log in" in texts(at)
    assert users_table(at)["carol"]["Status"] == "must change password"
    at.run()  # any next run: the password is gone for good
    assert not at.code
    assert password not in texts(at) and "users_reveal" not in at.session_state


def test_a_new_user_must_change_the_password_before_anything_else(accounts_env: UiEnv) -> None:
    password = create_user_via_page(as_admin(USERS), "carol")
    at = log_in("carol", password)
    assert [t.value for t in at.title] == ["Account"]
    assert any("one-time password" in w.value for w in at.warning)
    assert [t.label for t in at.text_input] == ["Current password", "New password", "Repeat the new password"]
    assert not at.get("progress")  # nothing but the password form
    for page in (CREATE, GALLERY, USERS):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)

    def change(current: str, new: str, repeat: str | None = None) -> None:
        at.text_input[0].input(current)
        at.text_input[1].input(new)
        at.text_input[2].input(new if repeat is None else repeat)
        button(at, "Change password").click().run()

    change("not-the-password", "carol-own-password-7")
    assert errors(at) == ["The current password is wrong."]
    change(password, "carol-own-password-7", "something-else-entirely")
    assert errors(at) == ["The two new passwords differ."]
    change(password, "short-1")
    assert errors(at) == ["Password must be at least 10 characters."]
    change(password, "password1234")
    assert errors(at) == ["This password is among the most common ones; choose another."]
    change(password, "carol-own-password-7")
    assert not errors(at)
    assert "Password changed. Every other session of yours has ended." in texts(at)
    at = open_page(at, CREATE)  # this tab stays logged in, with the whole studio now
    assert [t.value for t in at.title] == ["Create a video"]
    assert not accounts_env.studio.accounts.by_username("carol").must_change_password


def test_reset_password_shows_the_new_one_once_and_ends_the_users_session(accounts_env: UiEnv) -> None:
    alice_tab = log_in("alice")
    at = as_admin(USERS)
    at.selectbox(key="users_selected").select(accounts_env.alice.id).run()
    button(at, "Reset password").click().run()
    [code] = at.code
    assert "New password for alice:" in texts(at)
    alice_tab.run()
    assert "Your session has ended; log in again." in [w.value for w in alice_tab.warning]
    assert shown_on_login_form(alice_tab)
    assert [t.value for t in log_in("alice", str(code.value)).title] == ["Account"]  # must change it


def test_admin_sets_role_and_limits_and_disables(accounts_env: UiEnv) -> None:
    at = as_admin(USERS)
    alice = accounts_env.alice
    at.selectbox(key="users_selected").select(alice.id).run()
    at.text_input(key=f"users_{alice.id}_budget").input("abc")
    button(at, "Save limits").click().run()
    assert errors(at) == ["Not an amount in dollars: 'abc'."]
    at.text_input(key=f"users_{alice.id}_budget").input("7.25")
    at.text_input(key=f"users_{alice.id}_cap").input("2")
    button(at, "Save limits").click().run()
    assert "Limits of alice saved." in texts(at)
    view = accounts_env.studio.accounts.by_username("alice")
    assert (view.monthly_budget_usd, view.max_open_generations) == (Decimal("7.25"), 2)

    at.selectbox(key=f"users_{alice.id}_role").select("admin")
    button(at, "Save role").click().run()
    assert accounts_env.studio.accounts.by_username("alice").role == "admin"
    button(at, "Disable").click().run()
    assert accounts_env.studio.accounts.by_username("alice").disabled
    assert users_table(at)["alice"]["Status"] == "disabled"
    button(at, "Re-enable").click().run()
    assert not accounts_env.studio.accounts.by_username("alice").disabled


def test_the_last_admin_cannot_be_disabled_and_the_page_says_why(accounts_env: UiEnv) -> None:
    at = as_admin(USERS)
    at.selectbox(key="users_selected").select(admin_of(accounts_env).id).run()
    button(at, "Disable").click().run()
    assert errors(at) == ["This is the last enabled administrator; make another admin first."]
    assert not accounts_env.studio.accounts.by_username("root").disabled


def test_a_taken_username_is_refused_on_the_users_page(accounts_env: UiEnv) -> None:
    at = as_admin(USERS)
    at.text_input(key="users_create_username").input("alice")
    button(at, "Create user").click().run()
    assert errors(at) == ["User 'alice' already exists."]
    assert not at.code


def test_account_events_show_logins_failures_and_changes(accounts_env: UiEnv) -> None:
    log_in("alice", "wrong-password-here")
    log_in("alice")
    at = as_admin(USERS)
    create_user_via_page(at, "dave")
    frame = next(df.value for df in at.dataframe if "Kind" in df.value.columns)
    assert list(frame.columns) == ["Time", "User", "Kind", "Detail"]
    kinds = set(zip(frame["User"], frame["Kind"], strict=True))
    assert {("alice", "login_failed"), ("alice", "login"), ("root", "login"), ("dave", "account")} <= kinds
    assert "created as creator (by root)" in set(frame["Detail"])


# -- login ------------------------------------------------------------------------------


def test_unknown_user_and_wrong_password_get_the_same_answer(accounts_env: UiEnv) -> None:
    unknown = errors(log_in("nobody-at-all", "whatever-password"))
    wrong = errors(log_in("alice", "not-alices-password"))
    assert unknown == wrong == ["Wrong username or password."]


def test_an_account_locks_after_repeated_failures_and_says_when_it_ends(accounts_env: UiEnv) -> None:
    for _ in range(MAX_FAILURES - 1):
        assert errors(log_in("alice", "a-wrong-password")) == ["Wrong username or password."]
    locked = "Too many failed logins for this account. Try again in 15 minutes."
    assert errors(log_in("alice", "a-wrong-password")) == [locked]
    at = log_in("alice")  # even the right password waits for the lock to end
    assert errors(at) == [locked]
    assert "Create a video" not in texts(at)
    assert errors(log_in("bob")) == []  # other accounts are not affected


def test_a_disabled_users_session_ends_on_the_next_run(accounts_env: UiEnv) -> None:
    at = log_in("alice")
    accounts_env.studio.accounts.set_disabled(admin_of(accounts_env).id, accounts_env.alice.id, True)
    at.run()
    assert errors(at) == ["This account is disabled. Ask an administrator."]
    assert shown_on_login_form(at)
    assert at.session_state["authentication_status"] is None
    assert state.CURRENT_USER not in at.session_state


def test_logout_revokes_every_session_of_the_user(accounts_env: UiEnv) -> None:
    at = log_in("alice")
    other_tab = log_in("alice")
    issued: datetime = at.session_state[auth.LOGIN_AT]
    assert accounts_env.studio.accounts.session_user("alice", issued) is not None
    at.sidebar.button(key="veogen-logout").click().run()
    assert [s.value for s in at.success] == ["You are logged out."]
    assert accounts_env.studio.accounts.session_user("alice", issued) is None  # a copied cookie is refused
    other_tab.run()
    assert "Your session has ended; log in again." in [w.value for w in other_tab.warning]
    assert shown_on_login_form(other_tab)


def test_the_session_ended_notice_stays_until_the_next_login(accounts_env: UiEnv) -> None:
    at = log_in("alice")
    accounts_env.studio.accounts.logout(accounts_env.alice.id)
    at.run()
    at.run()  # the browser's cookie component reruns once it has deleted the cookie
    assert [w.value for w in at.warning] == ["Your session has ended; log in again."]
    at.text_input[0].input("alice")
    at.text_input[1].input("alice-password-1")
    at.button[0].click().run()
    at.run()
    assert [t.value for t in at.title] == ["Create a video"] and not at.warning


# -- settings page ----------------------------------------------------------------------------


def test_team_credentials_show_only_the_last_four(accounts_env: UiEnv) -> None:
    secret = "AIzaSy-team-secret-value-9876"
    at = as_admin(SETTINGS)
    assert [m.value for m in at.markdown if m.value.startswith("**")] == [
        "**Gemini API key** · not set",
        "**Vertex project** · not set",
        "**Vertex location** · not set",
    ]
    key_input = at.text_input(key="settings_gemini_api_key_value")
    assert key_input.proto.type == key_input.proto.PASSWORD and key_input.value == ""
    key_input.input(secret)
    at.button(key="settings_gemini_api_key-save").click().run()
    assert "Gemini API key saved." in texts(at)
    assert "**Gemini API key** · set · …9876" in [m.value for m in at.markdown]
    assert at.text_input(key="settings_gemini_api_key_value").value == ""  # never pre-filled
    assert secret not in texts(at) and all(secret not in str(t.value) for t in at.text_input)
    assert secret not in str(dict(at.session_state.items()))
    assert in_force(accounts_env) == secret

    at.text_input(key="settings_vertex_project_value").input("my-gcp-project-42")
    at.button(key="settings_vertex_project-save").click().run()
    assert "**Vertex project** · set · …t-42" in [m.value for m in at.markdown]
    at.button(key="settings_gemini_api_key-remove").click().run()
    assert "**Gemini API key** · not set" in [m.value for m in at.markdown]
    assert in_force(accounts_env) == ""


def test_saving_an_empty_credential_is_refused(accounts_env: UiEnv) -> None:
    at = as_admin(SETTINGS)
    at.button(key="settings_gemini_api_key-save").click().run()
    assert errors(at) == ["Enter a value to save (or use Remove to clear the Gemini API key)."]


# -- account page -----------------------------------------------------------------------------


def test_the_account_page_shows_spend_against_budget_and_open_generations(accounts_env: UiEnv) -> None:
    env = accounts_env
    env.studio.accounts.set_limits(admin_of(env).id, env.alice.id, Decimal("40"), 5)
    waiting = env.submit(env.alice, "a heron waiting in the reeds")
    done = env.finish(env.submit(env.alice, "a finished sunset").id)
    assert done.status is Status.SUCCEEDED
    env.submit(env.bob, "bob's open generation")
    at = open_page(log_in("alice"), ACCOUNT)
    assert "$0.00 of $40.00 spent or reserved" in texts(at)
    assert len(at.get("progress")) == 1
    assert "1 of at most 5 at once." in texts(at)
    links = [link for link in at.get("page_link") if "heron" in unescape(link.value)]
    assert [unescape(link.value) for link in links] == ["a heron waiting in the reeds — Waiting for a worker"]
    assert links[0].proto.query_string == f"id={waiting.id}"
    assert "sunset" not in texts(at) and "bob's" not in texts(at)
    assert not any("bob" in link.value or "sunset" in link.value for link in at.get("page_link"))


def test_the_account_page_counts_reserved_money(veo_env: UiEnv) -> None:
    form = GenerationForm(model="veo-3.1-fast-generate-001", prompt="a paid clip", idempotency_key=uuid.uuid4().hex)
    view, _ = veo_env.studio.generations.submit(veo_env.alice.id, form)
    assert view.price_usd > 0
    at = open_page(log_in("alice"), ACCOUNT)
    assert f"${view.price_usd:,.2f} of $50.00 spent or reserved" in texts(at)
    assert at.get("progress")[0].value == pytest.approx(float(view.price_usd / 50), abs=0.01)


def test_a_personal_key_is_shown_by_its_last_four_only(accounts_env: UiEnv) -> None:
    secret = "AIzaSy-alice-personal-key-1234"
    at = open_page(log_in("alice"), ACCOUNT)
    assert "**Personal Gemini API key** · not set" in [m.value for m in at.markdown]
    at.text_input(key="account_personal_key_value").input(secret)
    at.button(key="account_personal_key-save").click().run()
    assert "**Personal Gemini API key** · set · …1234" in [m.value for m in at.markdown]
    assert secret not in texts(at)
    assert in_force(accounts_env, accounts_env.alice) == secret
    assert in_force(accounts_env, accounts_env.bob) == ""
    at.button(key="account_personal_key-remove").click().run()
    assert "**Personal Gemini API key** · not set" in [m.value for m in at.markdown]


# -- invitations and registration --------------------------------------------------------------


def test_an_invited_user_sets_a_password_through_the_link(accounts_env: UiEnv) -> None:
    at = as_admin(USERS)
    at.text_input(key="users_invite_username").input("erin")
    button(at, "Invite user").click().run()
    [code] = at.code
    token = parse_qs(urlparse(str(code.value)).query)["invite"][0]
    visitor = new_app()
    visitor.query_params["invite"] = token
    visitor.run()
    assert [s.value for s in visitor.subheader] == ["Set your password"]
    visitor.text_input[0].input("erin-chosen-password-5")
    visitor.text_input[1].input("erin-chosen-password-5")
    button(visitor, "Set password").click().run()
    assert "Password set; log in." in texts(visitor)
    assert shown_on_login_form(visitor) and "invite" not in visitor.query_params
    assert [t.value for t in log_in("erin", "erin-chosen-password-5").title] == ["Create a video"]

    again = new_app()
    again.query_params["invite"] = token
    again.run()
    again.text_input[0].input("another-password-99")
    again.text_input[1].input("another-password-99")
    button(again, "Set password").click().run()
    assert errors(again) == ["This invitation link is not valid (it may have been used or have expired)."]


def test_self_registration_is_offered_only_when_enabled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with studio_env(
        tmp_path, monkeypatch, VEOGEN_SELF_REGISTRATION="true", VEOGEN_REGISTRATION_DOMAINS="example.com"
    ) as env:
        at = new_app().run()
        assert [t.label for t in at.tabs] == ["Log in", "Create an account"]
        fields = dict(zip(["username", "email", "password", "repeat"], at.text_input[2:], strict=True))
        fields["username"].input("frank")
        fields["email"].input("frank@example.com")
        fields["password"].input("frank-own-password-3")
        fields["repeat"].input("frank-own-password-3")
        button(at, "Create account").click().run()
        assert "Account created; log in." in texts(at)
        assert env.studio.accounts.by_username("frank").role == "creator"


def test_without_self_registration_there_is_only_the_login_form(accounts_env: UiEnv) -> None:
    at = new_app().run()
    assert not at.tabs and [b.label for b in at.button] == ["Log in"]
