"""``/v1/admin``: a creator's token is refused (403 problems), an admin's works — users made, disabled,
enabled, promoted and given limits through the Users page's calls; analytics and queue health equal to
what the Analytics and Queue pages read; an admin demoted since their token was made is refused."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from starlette.testclient import TestClient

from api.routes import admin as admin_routes
from core.studio import Studio
from tests.api.support import bearer, body_of, make_token, problem
from tests.support import drive, offline_form

ADMIN_GETS = ("/v1/admin/users", "/v1/admin/analytics", "/v1/admin/queue", "/v1/admin/users/1")


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
