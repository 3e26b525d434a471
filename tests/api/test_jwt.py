"""The OAuth2 password flow: ``POST /v1/token`` logs in as the page does (its throttle and locks) and issues a
short-lived JWT that ends with the user's sessions, expires, and holds only the scopes the role allows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from api.app import create_app
from api.security import (
    ACCESS_ENDED,
    ACCESS_EXPIRED,
    ACCESS_INVALID,
    ACCESS_TOKEN_AUDIENCE,
    Administrator,
    issue_access_token,
    signing_key,
)
from core.models import Event, utcnow
from core.services.auth import LOCKED_PREFIX, LOGIN_FAILED
from core.studio import Studio
from tests.api.support import bearer, body_of, make_token, problem
from tests.support import embedded_studio, offline_form

ALICE_PASSWORD = "correct horse battery"
ROOT_PASSWORD = "a long admin secret"
PAGE_CLIENT = "198.51.100.7"
"""The address a page login in these tests comes from (the API's test client has another)."""


@pytest.fixture
def client(studio: Studio) -> Iterator[TestClient]:
    """The app with one more route that only the ``admin`` scope may call (no admin route exists yet)."""
    app = create_app(studio)

    @app.get("/v1/test-admin-only")
    def admin_only(owner: Administrator) -> dict[str, str]:
        return {"admin": owner.user.username}

    with TestClient(app) as client:
        yield client


def log_in(client: TestClient, username: str, password: str, **form: str) -> Any:
    return client.post("/v1/token", data={"username": username, "password": password, **form})


def access_token(client: TestClient, username: str, password: str, **form: str) -> str:
    answer = log_in(client, username, password, **form)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def test_the_password_flow_issues_a_short_lived_jwt_that_reads_and_submits(
    client: TestClient, studio: Studio, alice: int
):
    answer = log_in(client, "alice", ALICE_PASSWORD)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 15 * 60 and body["scope"] == "read generate"
    claims = claims_of(body["access_token"])
    assert claims["sub"] == str(alice) and claims["username"] == "alice" and claims["scope"] == "read generate"
    assert claims["aud"] == ACCESS_TOKEN_AUDIENCE and len(claims["jti"]) >= 16
    assert claims["exp"] - claims["iat"] == pytest.approx(15 * 60)
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"

    headers = bearer(body["access_token"])
    me = client.get("/v1/me", headers=headers).json()
    assert me["user"]["username"] == "alice" and me["token"]["name"] == "password login"
    assert me["token"]["scopes"] == ["generate", "read"]
    made = client.post("/v1/generations", json=body_of(offline_form("A kite over dunes")), headers=headers)
    assert made.status_code == 201, made.text
    assert studio.generations.list_generations(alice).total == 1
    with studio.sessions() as s:  # the login is recorded as the page's is
        assert s.execute(select(func.count()).select_from(Event).where(Event.kind == "login")).scalar_one() == 1


def test_the_token_is_signed_with_a_key_derived_from_the_secret_key_and_nothing_else_passes(
    client: TestClient, studio: Studio, alice: int
):
    token = access_token(client, "alice", ALICE_PASSWORD)
    key = signing_key(studio.settings)
    assert key not in (studio.settings.resolved_secret_key().encode(), studio.settings.resolved_cookie_key().encode())
    jwt.decode(token, key, algorithms=["HS256"], audience=ACCESS_TOKEN_AUDIENCE)
    claims = claims_of(token)
    forged = [
        jwt.encode(claims, "another key of thirty-two bytes!", algorithm="HS256"),
        jwt.encode(claims, studio.settings.resolved_cookie_key(), algorithm="HS256"),
        jwt.encode(claims | {"aud": "someone-else"}, key, algorithm="HS256"),
        jwt.encode({k: v for k, v in claims.items() if k != "jti"}, key, algorithm="HS256"),
        jwt.encode(
            claims | {"scope": "read generate admin"}, "a guessed key, long enough for HS256", algorithm="HS256"
        ),
        jwt.encode(claims, None, algorithm="none"),
        token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"),
        studio.accounts.issue_cookie("alice")[0],  # the page's login cookie is a JWT too, with its own key
    ]
    for other in forged:
        assert problem(client.get("/v1/me", headers=bearer(other)), 401, "unauthorized")["detail"] == ACCESS_INVALID
    assert client.get("/v1/me", headers=bearer(token)).status_code == 200


def test_a_wrong_password_answers_the_pages_sentence_and_issues_nothing(client: TestClient, alice: int):
    for username in ("alice", "nobody"):
        refused = log_in(client, username, "not the password")
        body = problem(refused, 400, "invalid-grant")
        assert body["detail"] == LOGIN_FAILED and body["error"] == "invalid_grant"
        assert "access_token" not in body


def test_failures_over_the_api_lock_the_pages_login_too(client: TestClient, studio: Studio, alice: int):
    limit = studio.settings.login_max_failures
    for _ in range(limit - 1):
        problem(log_in(client, "alice", "not the password"), 400, "invalid-grant")
    locked = problem(log_in(client, "alice", "not the password"), 429, "login-locked")
    assert locked["detail"].startswith(LOCKED_PREFIX) and "for this account" in locked["detail"]
    # the page's login (the call its form makes), from another address, with the right password: locked too
    page = studio.accounts.login("alice", ALICE_PASSWORD, PAGE_CLIENT)
    assert page.user_id is None and (page.error or "").startswith(LOCKED_PREFIX)
    problem(log_in(client, "alice", ALICE_PASSWORD), 429, "login-locked")


def test_failures_on_the_page_lock_the_api_login_too(client: TestClient, studio: Studio, bob: int):
    for _ in range(studio.settings.login_max_failures):
        assert studio.accounts.login("bob", "not the password", PAGE_CLIENT).user_id is None
    locked = problem(log_in(client, "bob", "another long secret"), 429, "login-locked")
    assert locked["detail"].startswith(LOCKED_PREFIX) and locked["error"] == "invalid_grant"


def test_a_token_ends_when_the_password_changes_and_a_new_login_works_at_once(
    client: TestClient, studio: Studio, alice: int
):
    token = access_token(client, "alice", ALICE_PASSWORD)
    assert client.get("/v1/me", headers=bearer(token)).status_code == 200
    studio.accounts.change_password(alice, ALICE_PASSWORD, "a brand new passphrase")
    assert problem(client.get("/v1/me", headers=bearer(token)), 401, "unauthorized")["detail"] == ACCESS_ENDED
    problem(log_in(client, "alice", ALICE_PASSWORD), 400, "invalid-grant")
    fresh = access_token(client, "alice", "a brand new passphrase")  # issued after the revocation, in the same second
    assert client.get("/v1/me", headers=bearer(fresh)).status_code == 200


def test_a_token_ends_when_the_user_is_disabled_and_stays_ended_after(
    client: TestClient, studio: Studio, alice: int, admin: int
):
    token = access_token(client, "alice", ALICE_PASSWORD)
    studio.accounts.set_disabled(admin, alice, True)
    assert problem(client.get("/v1/me", headers=bearer(token)), 401, "unauthorized")["detail"] == ACCESS_ENDED
    assert "disabled" in problem(log_in(client, "alice", ALICE_PASSWORD), 400, "invalid-grant")["detail"]
    studio.accounts.set_disabled(admin, alice, False)
    problem(client.get("/v1/me", headers=bearer(token)), 401, "unauthorized")
    assert client.get("/v1/me", headers=bearer(access_token(client, "alice", ALICE_PASSWORD))).status_code == 200


def test_a_reset_or_a_logout_of_the_page_ends_the_token_but_not_a_personal_token(
    client: TestClient, studio: Studio, alice: int, admin: int
):
    pat = make_token(studio, alice)
    token = access_token(client, "alice", ALICE_PASSWORD)
    studio.accounts.logout(alice)  # the page's logout ends every session of the user
    problem(client.get("/v1/me", headers=bearer(token)), 401, "unauthorized")
    assert client.get("/v1/me", headers=bearer(pat)).status_code == 200
    token = access_token(client, "alice", ALICE_PASSWORD)
    _view, _password = studio.accounts.reset_password(admin, alice)
    assert problem(client.get("/v1/me", headers=bearer(token)), 401, "unauthorized")["detail"] == ACCESS_ENDED


def test_a_token_expires_after_the_configured_minutes(client: TestClient, studio: Studio, alice: int):
    user = studio.accounts.by_username("alice")
    minutes = studio.settings.api_jwt_minutes
    old, expired_at = issue_access_token(studio.settings, user, ["read"], now=utcnow() - timedelta(minutes=minutes + 1))
    assert expired_at < utcnow()
    assert problem(client.get("/v1/me", headers=bearer(old)), 401, "unauthorized")["detail"] == ACCESS_EXPIRED
    aging, _ = issue_access_token(studio.settings, user, ["read"], now=utcnow() - timedelta(minutes=minutes - 1))
    assert client.get("/v1/me", headers=bearer(aging)).status_code == 200


def test_the_token_lasts_as_long_as_the_setting_says(tmp_path: Path):
    with embedded_studio(tmp_path, api_jwt_minutes=2) as studio:
        studio.accounts.add_user("alice", ALICE_PASSWORD)
        with TestClient(create_app(studio)) as client:
            body = log_in(client, "alice", ALICE_PASSWORD).json()
    assert body["expires_in"] == 120
    claims = claims_of(body["access_token"])
    assert claims["exp"] - claims["iat"] == pytest.approx(120)


def test_a_creators_token_cannot_use_admin_routes_and_an_admins_can(client: TestClient, alice: int, admin: int):
    creator = access_token(client, "alice", ALICE_PASSWORD)
    refused = problem(client.get("/v1/test-admin-only", headers=bearer(creator)), 403, "insufficient-scope")
    assert "'admin' scope" in refused["detail"] and "role does not allow" in refused["detail"]
    body = log_in(client, "root", ROOT_PASSWORD).json()
    assert body["scope"] == "read generate admin"
    assert client.get("/v1/test-admin-only", headers=bearer(body["access_token"])).json() == {"admin": "root"}


def test_an_admin_token_loses_the_admin_scope_with_the_role(client: TestClient, studio: Studio, admin: int):
    studio.accounts.add_user("ops", "yet another long secret", role="admin")
    token = access_token(client, "ops", "yet another long secret")
    assert client.get("/v1/test-admin-only", headers=bearer(token)).status_code == 200
    studio.accounts.set_role(admin, studio.accounts.by_username("ops").id, "creator")
    problem(client.get("/v1/test-admin-only", headers=bearer(token)), 403, "insufficient-scope")
    assert client.get("/v1/me", headers=bearer(token)).status_code == 200


def test_the_scope_field_narrows_the_token_and_cannot_widen_it(client: TestClient, studio: Studio, alice: int):
    body = log_in(client, "alice", ALICE_PASSWORD, scope="read").json()
    assert body["scope"] == "read"
    submit = client.post("/v1/generations", json=body_of(offline_form("A kite")), headers=bearer(body["access_token"]))
    assert "Log in at /v1/token again" in problem(submit, 403, "insufficient-scope")["detail"]
    widen = problem(log_in(client, "alice", ALICE_PASSWORD, scope="admin"), 400, "invalid-scope")
    assert widen["error"] == "invalid_scope" and "does not allow 'admin'" in widen["detail"]
    unknown = problem(log_in(client, "alice", ALICE_PASSWORD, scope="read everything"), 400, "invalid-scope")
    assert unknown["field"] == "scope" and "'everything'" in unknown["detail"]
    assert studio.generations.list_generations(alice).total == 0


def test_a_password_set_by_an_administrator_must_be_changed_on_the_page_first(
    client: TestClient, studio: Studio, admin: int
):
    _view, initial = studio.accounts.create_user(admin, "carol", "creator")
    refused = problem(log_in(client, "carol", initial), 403, "password-change-required")
    assert "change it" in refused["detail"] and "access_token" not in refused


def test_over_long_fields_are_refused_before_any_login_is_counted(client: TestClient, studio: Studio, alice: int):
    for field, value in (("username", "a" * 65), ("password", "p" * 257), ("scope", "read " * 50)):
        form = {"username": "alice", "password": ALICE_PASSWORD, "scope": ""} | {field: value}
        refused = problem(client.post("/v1/token", data=form), 422, "validation")
        assert refused["field"] == field and "the limit is" in refused["detail"]
    with studio.sessions() as s:
        assert s.execute(select(func.count()).select_from(Event).where(Event.kind.like("login%"))).scalar_one() == 0
    problem(client.post("/v1/token", data={"username": "alice"}), 422, "validation")


def test_openapi_offers_the_password_login_beside_personal_tokens(client: TestClient, alice: int):
    doc = client.get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    flow = schemes["PasswordLogin"]["flows"]["password"]
    assert schemes["PasswordLogin"]["type"] == "oauth2" and flow["tokenUrl"] == "v1/token"
    assert set(flow["scopes"]) == {"read", "generate", "admin"}
    assert {"PersonalAccessToken": []} in doc["paths"]["/v1/me"]["get"]["security"]
    assert {"PasswordLogin": []} in doc["paths"]["/v1/me"]["get"]["security"]
    token_op = doc["paths"]["/v1/token"]["post"]
    assert "application/x-www-form-urlencoded" in token_op["requestBody"]["content"]
    assert {"400", "422", "429"} <= set(token_op["responses"])
    # what the docs page's Authorize dialog sends (a "password" grant, an empty scope and client id)
    form = {"grant_type": "password", "username": "alice", "password": ALICE_PASSWORD, "scope": "", "client_id": ""}
    assert client.post("/v1/token", data=form).json()["scope"] == "read generate"
