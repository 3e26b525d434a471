"""``/v1/me`` and ``/v1/prompts``: the Account and Create pages' remaining actions through the HTTP API.

Your tokens listed and revoked as the Account page lists and revokes them (never another user's: 404), a
revoked token refused at once; the personal Gemini key read by its last four, set and cleared with the page's
refusals; a password change with the page's messages that ends every token, the one it was sent with too;
"Improve prompt" refused with the page's reason without a text model, and against the local stand-in one
request to it, its rewrite returned, bad prompts refused before any request, counted as a paid call.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from limits.storage import MemoryStorage
from starlette.testclient import TestClient

from api import ratelimit
from api.app import create_app
from api.ratelimit import RateLimits
from core import catalog
from core.errors import ValidationError
from core.studio import Studio
from pages._ui.account_widgets import credential_refusal, credential_status
from standin import VeoStandIn, enhance_prompt
from tests.api.support import bearer, make_token, problem
from tests.support import embedded_studio

ALICE_PASSWORD = "correct horse battery"
KEY_LABEL = "Personal Gemini API key"  # the label the Account page gives the key's editor
KEY = "AIzaSyD-example-personal-key-0123x9Qw"


def rows(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(t["id"], t["name"], t["hint"], tuple(t["scopes"]), t["state"], t["revoked_at"] is None) for t in items]


def page_rows(studio: Studio, user_id: int) -> list[tuple[Any, ...]]:
    """What the Account page's token list is drawn from."""
    return [(t.id, t.name, t.hint, t.scopes, t.state, t.revoked_at is None) for t in studio.tokens.list_mine(user_id)]


# -- tokens --------------------------------------------------------------------------


def test_my_tokens_are_the_account_pages_rows_and_never_another_users(
    client: TestClient, studio: Studio, alice: int, bob: int, alice_token: str
):
    laptop, _secret = studio.tokens.create(alice, "laptop", ["read"], 7)
    studio.tokens.revoke(alice, laptop.id)  # on the page
    make_token(studio, bob, name="bob's ci")
    answer = client.get("/v1/me/tokens", headers=bearer(alice_token))
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert rows(items) == page_rows(studio, alice)
    assert [(t["name"], t["state"], t["current"]) for t in items] == [  # newest first, as the page lists them
        ("laptop", "revoked", False),
        ("tests", "active", True),
    ]
    assert "bob's ci" not in answer.text and alice_token not in answer.text and alice_token[15:] not in answer.text


def test_a_token_i_revoke_stops_at_once_and_revoking_again_changes_nothing(
    client: TestClient, studio: Studio, alice: int, alice_token: str
):
    view, other = studio.tokens.create(alice, "nightly", ["read"], 30)
    assert client.get("/v1/me", headers=bearer(other)).status_code == 200
    revoked = client.post(f"/v1/me/tokens/{view.id}/revoke", headers=bearer(alice_token))
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["state"] == "revoked" and not revoked.json()["current"]
    refused = problem(client.get("/v1/me", headers=bearer(other)), 401, "unauthorized")
    assert refused["detail"] == studio.tokens.authenticate(other).error
    again = client.post(f"/v1/me/tokens/{view.id}/revoke", headers=bearer(alice_token))
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    assert rows(client.get("/v1/me/tokens", headers=bearer(alice_token)).json()["items"]) == page_rows(studio, alice)

    current = studio.tokens.authenticate(alice_token).owner
    assert current is not None
    mine = client.post(f"/v1/me/tokens/{current.token_id}/revoke", headers=bearer(alice_token))
    assert mine.json()["current"] and mine.json()["state"] == "revoked"
    problem(client.get("/v1/me/tokens", headers=bearer(alice_token)), 401, "unauthorized")


def test_another_users_token_answers_404_and_keeps_working(
    client: TestClient, studio: Studio, alice: int, bob: int, alice_token: str
):
    bobs = make_token(studio, bob)
    [bobs_view] = studio.tokens.list_mine(bob)
    refused = problem(
        client.post(f"/v1/me/tokens/{bobs_view.id}/revoke", headers=bearer(alice_token)), 404, "not-found"
    )
    unknown = problem(client.post("/v1/me/tokens/999999/revoke", headers=bearer(alice_token)), 404, "not-found")
    assert refused["detail"] == unknown["detail"] == "No such token."
    assert client.get("/v1/me", headers=bearer(bobs)).status_code == 200
    assert studio.tokens.list_mine(bob)[0].state == "active"

    reader = make_token(studio, alice, "read")
    [alices_newest, *_] = studio.tokens.list_mine(alice)
    scope = problem(
        client.post(f"/v1/me/tokens/{alices_newest.id}/revoke", headers=bearer(reader)), 403, "insufficient-scope"
    )
    assert "'generate' scope" in scope["detail"]
    assert studio.tokens.list_mine(alice)[0].state == "active"


# -- personal Gemini key -----------------------------------------------------------------


def test_the_personal_key_is_shown_by_its_last_four_set_and_cleared_as_on_the_page(
    client: TestClient, studio: Studio, alice: int, bob: int, alice_token: str
):
    auth = bearer(alice_token)
    assert client.get("/v1/me/personal-key", headers=auth).json() == {"is_set": False, "last4": ""}

    saved = client.put("/v1/me/personal-key", json={"value": f"  {KEY} "}, headers=auth)
    assert saved.status_code == 200, saved.text
    page_view = studio.accounts.personal_key(alice)
    assert saved.json() == {"is_set": True, "last4": "x9Qw"} == {"is_set": page_view.is_set, "last4": page_view.last4}
    assert credential_status(page_view) == "set · …x9Qw"
    read = client.get("/v1/me/personal-key", headers=auth)
    assert read.json() == saved.json() and KEY not in read.text and KEY not in saved.text
    assert not studio.accounts.personal_key(bob).is_set

    cleared = client.delete("/v1/me/personal-key", headers=auth)
    assert cleared.status_code == 200 and cleared.json() == {"is_set": False, "last4": ""}
    assert credential_status(studio.accounts.personal_key(alice)) == "not set"
    assert client.delete("/v1/me/personal-key", headers=auth).json()["is_set"] is False  # nothing to remove


@pytest.mark.parametrize(
    "value", ["k" * 257, "AIza\u200bSyD-example", "AIza\tSyD-example"], ids=["too-long", "invisible", "control"]
)
def test_a_refused_key_gets_the_pages_sentence_and_changes_nothing(
    client: TestClient, studio: Studio, alice: int, alice_token: str, value: str
):
    client.put("/v1/me/personal-key", json={"value": KEY}, headers=bearer(alice_token))
    refused = problem(
        client.put("/v1/me/personal-key", json={"value": value}, headers=bearer(alice_token)), 422, "validation"
    )
    assert refused["detail"] == credential_refusal(KEY_LABEL, value) and refused["field"] == "value"
    assert studio.accounts.personal_key(alice).last4 == "x9Qw"


def test_an_empty_or_huge_key_is_refused_and_the_stored_one_kept(
    client: TestClient, studio: Studio, alice: int, alice_token: str
):
    auth = bearer(alice_token)
    client.put("/v1/me/personal-key", json={"value": KEY}, headers=auth)
    empty = problem(client.put("/v1/me/personal-key", json={"value": "   "}, headers=auth), 422, "validation")
    assert empty["field"] == "value" and "send DELETE to clear the Personal Gemini API key" in empty["detail"]
    huge = problem(client.put("/v1/me/personal-key", json={"value": "k" * 10_000}, headers=auth), 422, "validation")
    assert huge["field"] == "value"
    assert problem(client.put("/v1/me/personal-key", json={}, headers=auth), 422, "validation")["field"] == "value"
    assert studio.accounts.personal_key(alice).last4 == "x9Qw"
    reader = make_token(studio, alice, "read")
    assert client.get("/v1/me/personal-key", headers=bearer(reader)).json()["is_set"]
    problem(client.delete("/v1/me/personal-key", headers=bearer(reader)), 403, "insufficient-scope")
    assert studio.accounts.personal_key(alice).is_set


# -- password ------------------------------------------------------------------------


def page_refusal(studio: Studio, user_id: int, current: str, new: str) -> ValidationError:
    """What the Account page's call says to this change (it is refused, so nothing changes)."""
    with pytest.raises(ValidationError) as refused:
        studio.accounts.change_password(user_id, current, new)
    return refused.value


@pytest.mark.parametrize(
    ("current", "new"),
    [
        ("not my password", "a brand new passphrase"),
        (ALICE_PASSWORD, "short"),
        (ALICE_PASSWORD, ALICE_PASSWORD),
        (ALICE_PASSWORD, "alice"),
        (ALICE_PASSWORD, "é" * 40),  # 80 bytes
    ],
    ids=["wrong-current", "too-short", "unchanged", "username", "too-long"],
)
def test_a_refused_password_change_gets_the_pages_sentence_and_ends_nothing(
    client: TestClient, studio: Studio, alice: int, alice_token: str, current: str, new: str
):
    expected = page_refusal(studio, alice, current, new)
    body = {"current_password": current, "password": new}
    refused = problem(client.post("/v1/me/password", json=body, headers=bearer(alice_token)), 422, "validation")
    assert (refused["detail"], refused["field"]) == (str(expected), expected.field)
    assert client.get("/v1/me", headers=bearer(alice_token)).status_code == 200
    assert studio.accounts.login("alice", ALICE_PASSWORD, "127.0.0.1").user_id == alice


def test_the_minimum_length_is_the_studios_setting(tmp_path: Path):
    with embedded_studio(tmp_path, min_password_chars=24) as studio, TestClient(create_app(studio)) as client:
        alice = studio.accounts.add_user("alice", "a passphrase of twenty-four").id
        body = {"current_password": "a passphrase of twenty-four", "password": "twenty chars long ok"}
        refused = problem(
            client.post("/v1/me/password", json=body, headers=bearer(make_token(studio, alice))), 422, "validation"
        )
        assert (
            refused["detail"]
            == "Password must be at least 24 characters."
            == str(page_refusal(studio, alice, body["current_password"], body["password"]))
        )


def test_a_password_change_ends_every_token_the_one_it_was_sent_with_too(
    client: TestClient, studio: Studio, alice: int, bob: int, alice_token: str
):
    other = make_token(studio, alice, "read", name="laptop")
    login = client.post("/v1/token", data={"username": "alice", "password": ALICE_PASSWORD})
    assert login.status_code == 200, login.text
    jwt = login.json()["access_token"]
    bobs = make_token(studio, bob)
    body = {"current_password": ALICE_PASSWORD, "password": "a brand new passphrase"}
    changed = client.post("/v1/me/password", json=body, headers=bearer(alice_token))
    assert changed.status_code == 204 and changed.content == b""

    for token in (alice_token, other):
        refused = problem(client.get("/v1/me", headers=bearer(token)), 401, "unauthorized")
        assert "password change or reset" in refused["detail"]
    assert "password was changed" in problem(client.get("/v1/me", headers=bearer(jwt)), 401, "unauthorized")["detail"]
    assert {t.state for t in studio.tokens.list_mine(alice)} == {"revoked"}
    assert client.get("/v1/me", headers=bearer(bobs)).status_code == 200

    assert studio.accounts.login("alice", ALICE_PASSWORD, "127.0.0.1").user_id is None
    again = client.post("/v1/token", data={"username": "alice", "password": "a brand new passphrase"})
    assert client.get("/v1/me/tokens", headers=bearer(again.json()["access_token"])).status_code == 200


def test_a_huge_password_is_refused_before_it_is_read(client: TestClient, alice: int, alice_token: str):
    body = {"current_password": "x" * 10_000, "password": "a brand new passphrase"}
    refused = problem(client.post("/v1/me/password", json=body, headers=bearer(alice_token)), 422, "validation")
    assert refused["field"] == "current_password"
    assert client.get("/v1/me", headers=bearer(alice_token)).status_code == 200


# -- prompt help ---------------------------------------------------------------------


@pytest.fixture
def keyless(tmp_path: Path) -> Iterator[tuple[Studio, TestClient]]:
    """A studio without a Gemini key (no text model), one paid call a minute per token."""
    with embedded_studio(tmp_path) as studio:
        app = create_app(studio)
        ratelimit.install(app, RateLimits(MemoryStorage(), reads_per_minute=100, submits_per_minute=1))
        with TestClient(app) as client:
            yield studio, client


def test_without_a_text_model_prompt_help_says_the_pages_reason(keyless: tuple[Studio, TestClient]):
    studio, client = keyless
    auth = bearer(make_token(studio, studio.accounts.add_user("alice", ALICE_PASSWORD).id))
    reason = studio.generations.prompt_help_unavailable()
    assert reason == "Prompt help needs a Gemini API key (VEOGEN_GEMINI_API_KEY)."
    help_ = client.get("/v1/prompts/help", headers=auth)
    assert help_.json() == {"available": False, "model": studio.settings.prompt_model, "unavailable": reason}
    refused = problem(
        client.post("/v1/prompts/improve", json={"prompt": ""}, headers=auth), 409, "prompt-help-unavailable"
    )
    assert refused["detail"] == reason  # the page's button is disabled with it, whatever the text
    over = problem(client.post("/v1/prompts/improve", json={"prompt": "a fox"}, headers=auth), 429, "rate-limited")
    assert (over["budget"], over["limit_per_minute"]) == ("submits", 1)  # a paid call: the one submit is spent
    assert client.get("/v1/prompts/help", headers=auth).status_code == 200  # reads have their own budget


def test_improve_prompt_sends_one_request_and_returns_the_rewrite(
    on_google: tuple[Studio, TestClient], standin: VeoStandIn
):
    studio, client = on_google
    alice = studio.accounts.add_user("alice", ALICE_PASSWORD).id
    auth = bearer(make_token(studio, alice))
    assert client.get("/v1/prompts/help", headers=auth).json()["available"] is True
    answer = client.post("/v1/prompts/improve", json={"prompt": "  a fox in the snow.  "}, headers=auth)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "original": "  a fox in the snow.  ",
        "improved": enhance_prompt("a fox in the snow."),
        "model": studio.settings.prompt_model,
    }
    assert standin.stats().generate_content_calls == 1

    reader = make_token(studio, alice, "read")
    problem(
        client.post("/v1/prompts/improve", json={"prompt": "a fox"}, headers=bearer(reader)), 403, "insufficient-scope"
    )
    assert standin.stats().generate_content_calls == 1


@pytest.mark.parametrize(
    "prompt", ["   ", "x" * (catalog.MAX_PROMPT_CHARS + 1), "a fox\u200b"], ids=["empty", "too-long", "invisible"]
)
def test_a_bad_prompt_gets_the_pages_sentence_and_sends_nothing(
    on_google: tuple[Studio, TestClient], standin: VeoStandIn, prompt: str
):
    studio, client = on_google
    auth = bearer(make_token(studio, studio.accounts.add_user("alice", ALICE_PASSWORD).id))
    with pytest.raises(ValidationError) as page:
        catalog.clean_prompt(prompt, field_name="prompt", max_chars=catalog.MAX_PROMPT_CHARS, required=True)
    refused = problem(client.post("/v1/prompts/improve", json={"prompt": prompt}, headers=auth), 422, "validation")
    assert (refused["detail"], refused["field"]) == (str(page.value), "prompt")
    huge = client.post("/v1/prompts/improve", json={"prompt": "x" * 10_000}, headers=auth)
    assert problem(huge, 422, "validation")["field"] == "prompt"
    assert standin.stats().generate_content_calls == 0


def test_a_failing_text_model_answers_with_its_error(on_google: tuple[Studio, TestClient], standin: VeoStandIn):
    studio, client = on_google
    auth = bearer(make_token(studio, studio.accounts.add_user("alice", ALICE_PASSWORD).id))
    standin.configure(generate_content_fail=True)
    failed = problem(client.post("/v1/prompts/improve", json={"prompt": "a fox"}, headers=auth), 502, "provider")
    assert failed["detail"].startswith("Gemini answered 503 UNAVAILABLE")  # the page: "Prompt help failed: …"
    assert standin.stats().generate_content_calls == 1
