"""The tokens on the Account page (make one, its secret shown once; revoke) and on the admins' Users page."""

from __future__ import annotations

import pytest

from tests.ui.support import ADMIN_PASSWORD, UiEnv, button, log_in, open_page, texts

pytestmark = pytest.mark.ui

ACCOUNT = "pages/account.py"
USERS = "pages/admin_users.py"


def test_a_token_made_on_the_account_page_is_shown_once_and_works(page_env: UiEnv):
    at = open_page(log_in("alice"), ACCOUNT)
    scopes = at.multiselect(key="account_token_scopes")
    assert [o.split(" ")[0] for o in scopes.options] == ["read", "generate"]
    assert scopes.value == ["read", "generate"]
    at.text_input(key="account_token_name").input("nightly renders")
    button(at, "Make token").click().run()
    [code] = at.code
    secret = str(code.value)
    assert secret.startswith("veogen_pat_") and "not shown again" in texts(at)
    owner = page_env.studio.tokens.authenticate(secret).owner
    assert owner is not None and owner.user.username == "alice" and owner.scopes == {"read", "generate"}
    assert "nightly renders" in texts(at) and secret[:15] in texts(at)
    at.run()  # any next run: the secret is gone for good
    assert not at.code and secret not in texts(at)


def test_a_bad_name_is_refused_on_the_page_and_nothing_is_made(page_env: UiEnv):
    at = open_page(log_in("alice"), ACCOUNT)
    button(at, "Make token").click().run()
    assert "Give the token a name" in texts(at) and not at.code
    assert page_env.studio.tokens.list_mine(page_env.alice.id) == []


def test_revoking_on_the_account_page_ends_the_token(page_env: UiEnv):
    _view, secret = page_env.studio.tokens.create(page_env.alice.id, "laptop", ["read"], 30)
    at = open_page(log_in("alice"), ACCOUNT)
    button(at, "Revoke").click().run()
    assert "Token “laptop” revoked" in texts(at) and "revoked" in texts(at)
    assert page_env.studio.tokens.authenticate(secret).owner is None
    assert not [b for b in at.button if b.label == "Revoke"]


def test_admins_see_and_revoke_everyones_tokens_on_the_users_page(page_env: UiEnv):
    _view, secret = page_env.studio.tokens.create(page_env.bob.id, "bob's ci", ["read", "generate"], 7)
    at = open_page(log_in("root", ADMIN_PASSWORD), USERS)
    assert "bob · **bob's ci**" in "\n".join(str(m.value) for m in at.markdown).replace("\\", "")
    button(at, "Revoke").click().run()
    assert page_env.studio.tokens.authenticate(secret).owner is None
    assert page_env.studio.tokens.list_mine(page_env.bob.id)[0].state == "revoked"
    at = open_page(log_in("root", ADMIN_PASSWORD), ACCOUNT)
    assert [o.split(" ")[0] for o in at.multiselect(key="account_token_scopes").options] == [
        "read",
        "generate",
        "admin",
    ]
