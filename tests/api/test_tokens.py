"""Personal access tokens: made, checked, revoked, expired, and revoked with the owner's password; a logout
of the page leaves them working."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.errors import NotFoundError, PermissionDeniedError, ValidationError
from core.models import ApiToken, Event, utcnow
from core.services import tokens
from core.studio import Studio
from tests.api.support import make_token


def test_a_token_is_shown_once_and_stored_as_its_hash(studio: Studio, alice: int):
    view, secret = studio.tokens.create(alice, "ci renders", ["generate", "read"], 30)
    assert secret.startswith("veogen_pat_") and len(secret) >= len("veogen_pat_") + 43
    assert view.scopes == ("read", "generate") and view.state == "active" and view.hint == secret[:15]
    assert view.expires_at - view.created_at == timedelta(days=30)
    with studio.sessions() as s:
        row = s.execute(select(ApiToken)).scalar_one()
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in {row.token_hash, row.hint, row.name, row.scopes}
        assert s.execute(select(Event.detail).where(Event.kind == "token")).scalar_one().startswith("token")
    assert [t.id for t in studio.tokens.list_mine(alice)] == [view.id]


def test_a_valid_token_names_its_owner_and_scopes_and_notes_its_use(studio: Studio, alice: int):
    secret = make_token(studio, alice, "read")
    check = studio.tokens.authenticate(secret)
    assert check.error is None and check.owner is not None
    assert check.owner.user.username == "alice"
    assert check.owner.allows("read") and not check.owner.allows("generate")
    used = studio.tokens.list_mine(alice)[0].last_used_at
    assert used is not None
    studio.tokens.authenticate(secret)  # within a minute: not written again
    assert studio.tokens.list_mine(alice)[0].last_used_at == used


@pytest.mark.parametrize(
    "secret", [None, "", "Bearer x", "veogen_pat_" + "A" * 43, "veogen_pat_" + "A" * 200, "ghp_abcdef"]
)
def test_unknown_tokens_are_refused_alike(studio: Studio, alice: int, secret: str | None):
    make_token(studio, alice)
    check = studio.tokens.authenticate(secret)
    assert check.owner is None and check.error == tokens.UNKNOWN


def test_a_revoked_token_is_refused_and_revoking_again_changes_nothing(studio: Studio, alice: int):
    view, secret = studio.tokens.create(alice, "laptop", ["read"], 7)
    revoked = studio.tokens.revoke(alice, view.id)
    assert revoked.state == "revoked" and revoked.revoked_at is not None
    assert studio.tokens.revoke(alice, view.id).revoked_at == revoked.revoked_at
    check = studio.tokens.authenticate(secret)
    assert check.owner is None and "revoked" in (check.error or "")


def test_an_expired_token_is_refused(studio: Studio, alice: int):
    _view, secret = studio.tokens.create(alice, "short", ["read"], 1)
    with studio.engine.begin() as conn:
        conn.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    check = studio.tokens.authenticate(secret)
    assert check.owner is None and "expired" in (check.error or "")
    assert studio.tokens.list_mine(alice)[0].state == "expired"


def test_a_password_change_ends_every_token_made_before_it(studio: Studio, alice: int):
    before = make_token(studio, alice)
    studio.accounts.change_password(alice, "correct horse battery", "a brand new passphrase")
    check = studio.tokens.authenticate(before)
    assert check.owner is None and "password change or reset" in (check.error or "")
    assert studio.tokens.list_mine(alice)[0].state == "revoked"
    after = make_token(studio, alice)
    assert studio.tokens.authenticate(after).owner is not None


def test_logging_out_of_the_page_leaves_tokens_working(studio: Studio, alice: int):
    token = make_token(studio, alice)
    studio.accounts.logout(alice)
    assert studio.tokens.authenticate(token).owner is not None  # a script's token outlives the browser session


def test_disabling_or_resetting_a_user_ends_their_tokens(studio: Studio, alice: int, bob: int, admin: int):
    of_alice, of_bob = make_token(studio, alice), make_token(studio, bob)
    studio.accounts.set_disabled(admin, alice, True)
    studio.accounts.reset_password(admin, bob)
    assert studio.tokens.authenticate(of_alice).owner is None
    assert studio.tokens.authenticate(of_bob).owner is None
    studio.accounts.set_disabled(admin, alice, False)  # re-enabling does not bring old tokens back
    assert studio.tokens.authenticate(of_alice).owner is None


@pytest.mark.parametrize(
    ("name", "scopes", "days", "field"),
    [
        ("", ["read"], 30, "name"),
        ("x" * 65, ["read"], 30, "name"),
        ("bad\u202ename", ["read"], 30, "name"),
        ("ok", [], 30, "scopes"),
        ("ok", ["read", "write"], 30, "scopes"),
        ("ok", ["admin"], 30, "scopes"),
        ("ok", ["read"], 0, "expires_in_days"),
        ("ok", ["read"], 366, "expires_in_days"),
    ],
)
def test_bad_requests_for_a_token_are_refused_plainly(
    studio: Studio, alice: int, name: str, scopes: list[str], days: int, field: str
):
    with pytest.raises(ValidationError) as refused:
        studio.tokens.create(alice, name, scopes, days)
    assert refused.value.field == field
    assert studio.tokens.list_mine(alice) == []


def test_only_admins_get_the_admin_scope_and_it_lapses_with_the_role(studio: Studio, admin: int, alice: int):
    studio.accounts.set_role(admin, alice, "admin")
    secret = make_token(studio, alice, "admin", "read")
    assert studio.tokens.authenticate(secret).owner.allows("admin")  # type: ignore[union-attr]
    studio.accounts.set_role(admin, alice, "creator")
    owner = studio.tokens.authenticate(secret).owner
    assert owner is not None and owner.allows("read") and not owner.allows("admin")


def test_admins_list_and_revoke_anyones_tokens_and_creators_cannot(studio: Studio, admin: int, alice: int, bob: int):
    view, secret = studio.tokens.create(alice, "alice's", ["read"], 30)
    make_token(studio, bob)
    assert {t.username for t in studio.tokens.list_all(admin)} == {"alice", "bob"}
    with pytest.raises(PermissionDeniedError):
        studio.tokens.list_all(alice)
    with pytest.raises(NotFoundError):
        studio.tokens.revoke(bob, view.id)  # not bob's: as if it did not exist
    with pytest.raises(PermissionDeniedError):
        studio.tokens.revoke_any(bob, view.id)
    assert studio.tokens.revoke_any(admin, view.id).state == "revoked"
    assert studio.tokens.authenticate(secret).owner is None
    with studio.sessions() as s:
        assert "revoked by root" in s.execute(select(Event.detail).where(Event.kind == "token")).scalars().all()[-1]


def test_a_user_holds_a_bounded_number_of_active_tokens(studio: Studio, alice: int, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(tokens, "MAX_ACTIVE_PER_USER", 2)
    first = studio.tokens.create(alice, "one", ["read"], 30)[0]
    studio.tokens.create(alice, "two", ["read"], 30)
    with pytest.raises(ValidationError, match="revoke one"):
        studio.tokens.create(alice, "three", ["read"], 30)
    studio.tokens.revoke(alice, first.id)
    studio.tokens.create(alice, "three", ["read"], 30)
