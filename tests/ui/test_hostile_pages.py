"""Hostile input typed into the pages: each free-text box and query parameter answers with a clear
message, shows no traceback, and stores nothing. (The services' side, with uploads and every field
of a request: tests/unit/test_hostile_input.py.)"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.services.credentials import MAX_CREDENTIAL_CHARS
from pages._ui.account_widgets import MAX_LIMIT_CHARS
from tests.ui.support import ADMIN_PASSWORD, UiEnv, button, log_in, open_page, texts, unescape

pytestmark = pytest.mark.ui

GALLERY = "pages/gallery.py"
DETAIL = "pages/generation.py"
CREATE = "pages/create.py"
ACCOUNT = "pages/account.py"
USERS = "pages/admin_users.py"
SETTINGS = "pages/admin_settings.py"


@pytest.fixture
def env(admin_env: UiEnv) -> UiEnv:
    return admin_env


def errors(at: AppTest) -> list[str]:
    return [unescape(str(e.value)) for e in at.error]


@pytest.mark.parametrize(
    ("search", "message"),
    [
        ("octo\x00pus", "Search contains an invisible or control character (U+0000); remove it."),
        ("\u202esupotco", "Search contains an invisible or control character (U+202E); remove it."),
        ("x" * 1_000_000, "Search is 1000000 characters long; the limit is 200."),
    ],
    ids=["nul", "rtl-override", "a-megabyte"],
)
def test_a_hostile_gallery_search_is_refused_clearly(env: UiEnv, search: str, message: str) -> None:
    env.submit(env.alice, "a purple octopus")
    at = open_page(log_in("alice"), GALLERY)
    at.text_input(key="gallery_search").input(search).run()
    assert not at.exception
    assert errors(at) == [message]
    assert "octopus" not in texts(at)


@pytest.mark.parametrize("value", ["\x00" * 32, "f" * 100_000, "../../etc/passwd", "' OR '1'='1"])
@pytest.mark.parametrize(
    ("page", "param", "answer"),
    [(DETAIL, "id", "No such generation."), (CREATE, "remix", "No such generation to remix.")],
)
def test_a_hostile_generation_id_in_the_address_is_no_such_generation(
    env: UiEnv, page: str, param: str, answer: str, value: str
) -> None:
    at = open_page(log_in("alice"), page, **{param: value})
    assert not at.exception
    assert answer in errors(at)


@pytest.mark.parametrize(
    ("budget", "cap", "message"),
    [
        ("9" * 50_000, "", f"Monthly budget is 50000 characters long; the limit is {MAX_LIMIT_CHARS}."),
        ("", "9" * 50_000, f"Open-generation cap is 50000 characters long; the limit is {MAX_LIMIT_CHARS}."),
        ("1e30", "", "The budget can be at most $99,999,999.00."),
        ("", "9" * 19, "The cap can be at most 100,000."),
        ("NaN", "", "The budget must be a finite amount."),
    ],
    ids=["long-budget", "long-cap", "huge-budget", "huge-cap", "nan"],
)
def test_hostile_limits_are_refused_and_nothing_changes(env: UiEnv, budget: str, cap: str, message: str) -> None:
    at = open_page(log_in("root", ADMIN_PASSWORD), USERS)
    alice = env.alice
    at.selectbox(key="users_selected").select(alice.id).run()
    at.text_input(key=f"users_{alice.id}_budget").input(budget)
    at.text_input(key=f"users_{alice.id}_cap").input(cap)
    button(at, "Save limits").click().run()
    assert not at.exception
    assert errors(at) == [message]
    after = env.studio.accounts.by_username("alice")
    assert (after.monthly_budget_usd, after.max_open_generations) == (None, None)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("A" * 50_000, f"Personal Gemini API key is 50000 characters long; the limit is {MAX_CREDENTIAL_CHARS}."),
        ("AIzaSy\x00secret", "Personal Gemini API key contains an invisible or control character; paste it again"),
        ("AIzaSy\u200bsecret", "Personal Gemini API key contains an invisible or control character; paste it again"),
        ("AIzaSy-key\nX-Injected: 1", "Personal Gemini API key contains an invisible or control character; paste it"),
    ],
    ids=["long", "nul", "zero-width", "header-injection"],
)
def test_a_hostile_personal_key_is_refused_and_not_stored(env: UiEnv, value: str, message: str) -> None:
    at = open_page(log_in("alice"), ACCOUNT)
    at.text_input(key="account_personal_key_value").input(value)
    at.button(key="account_personal_key-save").click().run()
    assert not at.exception
    assert [e for e in errors(at) if e.startswith(message)], errors(at)
    assert not env.studio.accounts.personal_key(env.alice.id).is_set


def test_a_hostile_team_credential_is_refused_and_not_stored(env: UiEnv) -> None:
    at = open_page(log_in("root", ADMIN_PASSWORD), SETTINGS)
    at.text_input(key="settings_vertex_project_value").input("my-project\r\n" + "x" * 300)
    at.button(key="settings_vertex_project-save").click().run()
    assert not at.exception
    assert any(e.startswith("Vertex project is ") and "the limit is 256" in e for e in errors(at)), errors(at)
    root = env.studio.accounts.by_username("root")
    assert not any(c.is_set for c in env.studio.accounts.team_credentials(root.id))
