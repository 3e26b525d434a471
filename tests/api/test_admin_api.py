"""``/v1/admin``: a creator's token is refused (403 problems), an admin's works — users made, invited,
disabled, enabled, promoted, given limits and new passwords through the Users page's calls, everyone's
tokens listed and revoked, the account events the page lists; analytics and queue health equal to what
the Analytics and Queue pages read, and the Queue page's cancel and retry; an admin demoted since their
token was made is refused. One-time secrets come in their one answer only, never cached or read again.
(The Settings page's routes: test_admin_settings_api.py.)"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from api.routes import admin as admin_routes
from core.errors import NotFoundError, ValidationError
from core.status import Status
from core.studio import Studio
from tests.api.support import bearer, body_of, make_token, problem
from tests.support import VEO_PRICE, drive, offline_form, veo_form

ADMIN_GETS = (
    "/v1/admin/users",
    "/v1/admin/analytics",
    "/v1/admin/queue",
    "/v1/admin/users/1",
    "/v1/admin/events",
    "/v1/admin/tokens",
)


def admin_posts(user_id: int, token_id: int, generation_id: str) -> list[tuple[str, dict[str, str] | None]]:
    """The Users and Queue pages' actions beyond the first ones: invite, reset, revoke, cancel, retry."""
    return [
        ("/v1/admin/invitations", {"username": "mallory"}),
        (f"/v1/admin/users/{user_id}/password-reset", None),
        (f"/v1/admin/tokens/{token_id}/revoke", None),
        (f"/v1/admin/queue/{generation_id}/cancel", None),
        (f"/v1/admin/queue/{generation_id}/retry", None),
    ]


@pytest.fixture
def root_token(studio: Studio, admin: int) -> str:
    return make_token(studio, admin, "read", "generate", "admin")


def test_a_creators_token_is_refused_with_a_problem(client: TestClient, alice_token: str, admin: int):
    auth = bearer(alice_token)
    for url in ADMIN_GETS:
        assert "admin" in problem(client.get(url, headers=auth), 403, "insufficient-scope")["detail"]
    made = client.post("/v1/admin/users", json={"username": "mallory"}, headers=auth)
    problem(made, 403, "insufficient-scope")
    problem(client.post(f"/v1/admin/users/{admin}/disable", headers=auth), 403, "insufficient-scope")


def test_the_users_and_queue_pages_actions_need_the_admin_scope(
    client: TestClient, studio: Studio, admin: int, alice: int, alice_token: str
):
    queued = studio.generations.submit(alice, offline_form("still queued"))[0].id
    admins_token = studio.tokens.create(admin, "no admin scope", ("read", "generate"), 30)
    users_before = studio.accounts.list_users(admin)
    for token in (alice_token, admins_token[1]):  # a creator's token; an administrator's without ``admin``
        for url in ADMIN_GETS[-2:]:
            assert "admin" in problem(client.get(url, headers=bearer(token)), 403, "insufficient-scope")["detail"]
        for url, body in admin_posts(alice, admins_token[0].id, queued):
            problem(client.post(url, json=body, headers=bearer(token)), 403, "insufficient-scope")
    assert studio.accounts.list_users(admin) == users_before  # nobody invited, no password reset
    assert [t.state for t in studio.tokens.list_all(admin)] == ["active", "active"]
    assert studio.generations.get_generation(alice, queued).status is Status.QUEUED
    assert client.get("/v1/me", headers=bearer(alice_token)).status_code == 200


def test_an_admin_demoted_since_the_token_was_made_is_refused(
    client: TestClient, studio: Studio, admin: int, root_token: str
):
    other = studio.accounts.add_user("second", "a long admin secret", role="admin").id
    studio.accounts.set_role(other, admin, "creator")  # the Users page's call, by the other admin
    for url in ADMIN_GETS:
        refused = problem(client.get(url, headers=bearer(root_token)), 403, "insufficient-scope")
        assert "'admin' scope" in refused["detail"]  # the token keeps it, the role no longer allows it


def test_an_admin_manages_users_through_the_users_pages_calls(
    client: TestClient, studio: Studio, admin: int, alice: int, alice_token: str, root_token: str
):
    auth = bearer(root_token)
    listed = client.get("/v1/admin/users", headers=auth).json()["items"]
    assert [(u["id"], u["username"], u["role"]) for u in listed] == [
        (v.id, v.username, v.role) for v in studio.accounts.list_users(admin)
    ]

    made = client.post("/v1/admin/users", json={"username": "carol", "email": "carol@example.org"}, headers=auth)
    assert made.status_code == 201, made.text
    carol = made.json()
    assert carol["user"]["must_change_password"] and carol["user"]["role"] == "creator"
    assert len(carol["initial_password"]) >= studio.settings.min_password_chars
    assert made.headers["location"] == f"/v1/admin/users/{carol['user']['id']}"
    again = client.post("/v1/admin/users", json={"username": "carol"}, headers=auth)
    assert problem(again, 422, "validation")["detail"]
    bad = client.post("/v1/admin/users", json={"username": "x" * 33}, headers=auth)
    assert problem(bad, 422, "validation")["field"] == "username"

    promoted = client.put(f"/v1/admin/users/{carol['user']['id']}/role", json={"role": "admin"}, headers=auth)
    assert promoted.json()["role"] == "admin" and studio.accounts.user(admin, carol["user"]["id"]).role == "admin"
    assert problem(client.put(f"/v1/admin/users/{alice}/role", json={"role": "boss"}, headers=auth), 422, "validation")

    limited = client.put(
        f"/v1/admin/users/{alice}/limits",
        json={"monthly_budget_usd": "1.50", "max_open_generations": 2},
        headers=auth,
    )
    assert limited.status_code == 200, limited.text
    assert (limited.json()["monthly_budget_usd"], limited.json()["max_open_generations"]) == ("1.5000", 2)
    me = client.get("/v1/me", headers=bearer(alice_token)).json()["budget"]
    assert (me["budget_usd"], me["max_open_generations"]) == ("1.5000", 2)
    defaults = client.put(
        f"/v1/admin/users/{alice}/limits", json={"monthly_budget_usd": None, "max_open_generations": None}, headers=auth
    )
    assert defaults.json()["monthly_budget_usd"] is None
    assert Decimal(client.get("/v1/me", headers=bearer(alice_token)).json()["budget"]["budget_usd"]) == (
        studio.limits.default_monthly_budget_usd
    )

    assert client.post(f"/v1/admin/users/{alice}/disable", headers=auth).json()["disabled"] is True
    problem(client.get("/v1/me", headers=bearer(alice_token)), 401, "unauthorized")  # disabling revokes her tokens
    assert client.post(f"/v1/admin/users/{alice}/enable", headers=auth).json()["disabled"] is False
    problem(client.get("/v1/admin/users/999999", headers=auth), 404, "not-found")
    last = client.post(f"/v1/admin/users/{carol['user']['id']}/disable", headers=auth)
    assert last.status_code == 200  # root is still an enabled admin
    assert (
        "last enabled administrator"
        in problem(client.post(f"/v1/admin/users/{admin}/disable", headers=auth), 422, "validation")["detail"]
    )


def test_analytics_and_queue_health_are_what_the_pages_read(
    client: TestClient, studio: Studio, admin: int, alice: int, alice_token: str, root_token: str
):
    auth = bearer(root_token)
    done = client.post("/v1/generations", json=body_of(offline_form("done")), headers=bearer(alice_token)).json()
    drive(studio, done["id"])
    waiting = client.post("/v1/generations", json=body_of(offline_form("waiting")), headers=bearer(alice_token)).json()

    report = client.get("/v1/admin/analytics", headers=auth)
    assert report.status_code == 200, report.text
    body = report.json()
    span = studio.analytics.default_range()
    by_page = studio.analytics.report(admin, span, span.periods[0])  # the Analytics page's call
    assert (body["start"], body["end"]) == (span.start.isoformat(), span.end.isoformat())
    assert [(c["model"], c["status"], c["count"]) for c in body["counts"]] == [
        (c.model, c.status, c.count) for c in by_page.counts
    ]
    assert ("offline-preview", "succeeded", 1) in [(c["model"], c["status"], c["count"]) for c in body["counts"]]
    assert body["budgets"]["period"] == span.periods[0]
    assert [u["username"] for u in body["budgets"]["users"]] == [u.username for u in by_page.budgets.users]
    assert body["films"]["created"] == by_page.films.created

    today = span.end
    problem(client.get("/v1/admin/analytics", params={"period": "1999-01"}, headers=auth), 422, "validation")
    too_long = {"start": (today - timedelta(days=admin_routes.MAX_RANGE_DAYS)).isoformat(), "end": today.isoformat()}
    problem(client.get("/v1/admin/analytics", params=too_long, headers=auth), 422, "validation")
    backwards = {"start": today.isoformat(), "end": (today - timedelta(days=1)).isoformat()}
    problem(client.get("/v1/admin/analytics", params=backwards, headers=auth), 422, "validation")

    queue = client.get("/v1/admin/queue", headers=auth)
    assert queue.status_code == 200, queue.text
    snapshot = studio.queue_admin.snapshot(admin)  # the Queue page's call
    assert [r["id"] for r in queue.json()["unfinished"]] == [r.id for r in snapshot.unfinished] == [waiting["id"]]
    assert queue.json()["health"]["by_status"] == snapshot.health.by_status


def secrets_absent(client: TestClient, auth: dict[str, str], secret: str, *urls: str) -> None:
    """Nothing the admin can read again carries ``secret``."""
    for url in ("/v1/admin/users", "/v1/admin/events", "/v1/admin/tokens", *urls):
        read = client.get(url, headers=auth)
        assert read.status_code == 200, read.text
        assert secret not in read.text


def test_an_invitation_link_is_shown_once_and_works_once(
    client: TestClient, studio: Studio, admin: int, root_token: str
):
    auth = bearer(root_token)
    invited = client.post("/v1/admin/invitations", json={"username": "dave", "email": "dave@example.org"}, headers=auth)
    assert invited.status_code == 201, invited.text
    assert invited.headers["cache-control"] == "no-store" and invited.headers["pragma"] == "no-cache"
    body = invited.json()
    dave = body["user"]
    assert (dave["username"], dave["role"], dave["must_change_password"]) == ("dave", "creator", True)
    assert invited.headers["location"] == f"/v1/admin/users/{dave['id']}"
    assert body["valid_hours"] == studio.settings.invite_ttl_hours
    link = urlsplit(body["invite_url"])
    assert body["invite_url"].startswith(studio.settings.public_url.rstrip("/") + "/?invite=")
    token = parse_qs(link.query)["invite"][0]

    secrets_absent(client, auth, token, f"/v1/admin/users/{dave['id']}")
    assert studio.accounts.accept_invite(token, "dave's own long password").id == dave["id"]  # the page's link
    with pytest.raises(ValidationError, match="not valid"):
        studio.accounts.accept_invite(token, "a second long password")

    again = client.post("/v1/admin/invitations", json={"username": "dave"}, headers=auth)
    with pytest.raises(ValidationError) as by_page:
        studio.accounts.invite_user(admin, "dave", "creator")  # the page's call refuses the same way
    assert problem(again, 422, "validation")["detail"] == str(by_page.value)
    refused = client.post("/v1/admin/invitations", json={"username": "eve", "role": "boss"}, headers=auth)
    assert problem(refused, 422, "validation")["field"] == "role"


def test_a_password_reset_is_shown_once_and_ends_the_users_tokens(
    client: TestClient, studio: Studio, admin: int, alice: int, alice_token: str, root_token: str
):
    auth = bearer(root_token)
    reset = client.post(f"/v1/admin/users/{alice}/password-reset", headers=auth)
    assert reset.status_code == 200, reset.text
    assert reset.headers["cache-control"] == "no-store" and reset.headers["pragma"] == "no-cache"
    password = reset.json()["password"]
    assert reset.json()["user"]["must_change_password"] is True
    assert studio.accounts.user(admin, alice).must_change_password

    problem(client.get("/v1/me", headers=bearer(alice_token)), 401, "unauthorized")  # her sessions and tokens ended
    assert studio.accounts.login("alice", "correct horse battery", "test").user_id is None
    new_login = studio.accounts.login("alice", password, "test")
    assert (new_login.user_id, new_login.must_change_password) == (alice, True)
    secrets_absent(client, auth, password, f"/v1/admin/users/{alice}")

    with pytest.raises(NotFoundError) as by_page:
        studio.accounts.reset_password(admin, 999_999)
    missing = client.post("/v1/admin/users/999999/password-reset", headers=auth)
    assert problem(missing, 404, "not-found")["detail"] == str(by_page.value)


def test_account_events_are_the_users_pages_list(
    client: TestClient, studio: Studio, admin: int, alice: int, root_token: str
):
    assert studio.accounts.login("alice", "not her password", "test").user_id is None
    client.post(f"/v1/admin/users/{alice}/password-reset", headers=bearer(root_token))
    client.post("/v1/admin/invitations", json={"username": "dave"}, headers=bearer(root_token))

    listed = client.get("/v1/admin/events", headers=bearer(root_token))
    assert listed.status_code == 200, listed.text
    by_page = studio.accounts.events(admin)  # the Users page's call
    assert [(e["username"], e["kind"], e["detail"]) for e in listed.json()["items"]] == [
        (username, kind, detail) for _, username, kind, detail in by_page
    ]
    assert [datetime.fromisoformat(e["at"]).replace(tzinfo=None) for e in listed.json()["items"]] == [
        at.replace(tzinfo=None) for at, *_ in by_page
    ]
    details = [e["detail"] for e in listed.json()["items"]]
    assert "password reset" in " ".join(details) and "invited as creator" in " ".join(details)


def test_everyones_tokens_are_listed_and_anyones_revoked(
    client: TestClient, studio: Studio, admin: int, alice: int, bob: int, alice_token: str, root_token: str
):
    auth = bearer(root_token)
    bobs_view, bobs_secret = studio.tokens.create(bob, "bob's script", ("read",), 7)
    listed = client.get("/v1/admin/tokens", headers=auth)
    assert listed.status_code == 200, listed.text
    by_page = studio.tokens.list_all(admin)  # the Users page's call
    rows = listed.json()["items"]
    assert [(t["id"], t["username"], t["name"], t["hint"], t["scopes"], t["state"]) for t in rows] == [
        (v.id, v.username, v.name, v.hint, list(v.scopes), v.state) for v in by_page
    ]
    assert {t["username"] for t in rows} == {"root", "alice", "bob"}
    for secret in (bobs_secret, alice_token, root_token):
        assert secret not in listed.text

    revoked = client.post(f"/v1/admin/tokens/{bobs_view.id}/revoke", headers=auth)
    assert revoked.status_code == 200, revoked.text
    assert (revoked.json()["state"], revoked.json()["username"]) == ("revoked", "bob")
    assert "revoked" in problem(client.get("/v1/me", headers=bearer(bobs_secret)), 401, "unauthorized")["detail"]
    assert client.get("/v1/me", headers=bearer(alice_token)).status_code == 200  # only bob's
    twice = client.post(f"/v1/admin/tokens/{bobs_view.id}/revoke", headers=auth)
    assert twice.json()["revoked_at"] == revoked.json()["revoked_at"]  # revoking again changes nothing
    events = [d for _, _, kind, d in studio.accounts.events(admin) if kind == "token"]
    assert events[0] == f'token {bobs_view.id} "bob\'s script" revoked by root'  # newest first, once
    assert sum("revoked" in detail for detail in events) == 1

    with pytest.raises(NotFoundError) as by_page_refusal:
        studio.tokens.revoke_any(admin, 999_999)
    missing = client.post("/v1/admin/tokens/999999/revoke", headers=auth)
    assert problem(missing, 404, "not-found")["detail"] == str(by_page_refusal.value)


def test_the_queue_pages_cancel_and_retry_go_through_the_owners_path(
    client: TestClient, studio: Studio, admin: int, alice: int, alice_token: str, root_token: str
):
    auth, hers = bearer(root_token), bearer(alice_token)
    queued = client.post("/v1/generations", json=body_of(veo_form()), headers=hers).json()["id"]
    assert Decimal(client.get("/v1/me", headers=hers).json()["budget"]["committed_usd"]) == VEO_PRICE

    canceled = client.post(f"/v1/admin/queue/{queued}/cancel", headers=auth)
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "canceled"
    assert studio.generations.get_generation(alice, queued).status is Status.CANCELED
    assert Decimal(client.get("/v1/me", headers=hers).json()["budget"]["committed_usd"]) == 0  # released
    timeline = client.get(f"/v1/generations/{queued}/events", headers=hers).json()["events"]
    assert timeline[-1]["detail"] == "canceled by administrator root"
    with pytest.raises(ValidationError) as by_page:
        studio.queue_admin.cancel(admin, queued)
    again = client.post(f"/v1/admin/queue/{queued}/cancel", headers=auth)
    assert problem(again, 409, "conflict")["detail"] == str(by_page.value)

    failed = studio.generations.submit(alice, offline_form("a crane at dawn"))[0].id
    studio.pipeline.fail(failed, None, "the provider was down", code="UNAVAILABLE")
    assert failed in [r.id for r in studio.queue_admin.snapshot(admin).failures]  # what the page offers
    retried = client.post(f"/v1/admin/queue/{failed}/retry", headers=auth)
    assert retried.status_code == 201, retried.text
    new = retried.json()
    assert new["id"] != failed and new["status"] == "queued" and new["prompt"] == "a crane at dawn"
    assert studio.generations.get_generation(alice, new["id"]).id == new["id"]  # a generation of its owner
    replayed = client.post(f"/v1/admin/queue/{failed}/retry", headers=auth)
    assert (replayed.status_code, replayed.json()["id"], replayed.headers["idempotent-replayed"]) == (
        200,
        new["id"],
        "true",
    )
    assert studio.queue_admin.retry(admin, failed) == (studio.generations.get_generation(alice, new["id"]), False)

    with pytest.raises(ValidationError) as refused:
        studio.queue_admin.retry(admin, new["id"])
    still_queued = client.post(f"/v1/admin/queue/{new['id']}/retry", headers=auth)
    assert problem(still_queued, 409, "conflict")["detail"] == str(refused.value)

    studio.accounts.set_limits(admin, alice, Decimal("0.10"), None)  # the owner's budget, not the admin's
    over = client.post(f"/v1/admin/queue/{queued}/retry", headers=auth)
    problem(over, 403, "over-budget")
    for action in ("cancel", "retry"):
        with pytest.raises(NotFoundError) as nothing:
            getattr(studio.queue_admin, action)(admin, "no-such-generation")
        missing = client.post(f"/v1/admin/queue/no-such-generation/{action}", headers=auth)
        assert problem(missing, 404, "not-found")["detail"] == str(nothing.value)
