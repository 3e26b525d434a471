"""Per-token rate limits: reads and submits counted apart per token (``limits``' moving window), 429 with
``Retry-After`` and a problem body over a budget, other tokens unaffected; counted in the studio's Redis by
default, in the library's memory storage when a test installs it."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from limits.storage import MemoryStorage, RedisStorage
from starlette.testclient import TestClient

from api import ratelimit
from api.app import create_app
from api.ratelimit import KEY_PREFIX, RateLimits
from core.studio import Studio
from tests.api.support import bearer, body_of, make_token, problem
from tests.support import embedded_studio, offline_form

READS, SUBMITS = 3, 2


class Clock:
    """Time as the limiter and the memory storage read it: frozen, and moved only by the test."""

    def __init__(self) -> None:
        self.start, self.offset = time.time(), 0.0

    def time(self) -> float:
        return self.start + self.offset

    def monotonic(self) -> float:
        return self.start + self.offset


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr("limits.storage.memory.time", clock)
    monkeypatch.setattr(ratelimit, "time", clock)
    return clock


@pytest.fixture
def client(studio: Studio, clock: Clock) -> Iterator[TestClient]:
    """The app with small budgets counted in the library's in-memory storage."""
    app = create_app(studio)
    ratelimit.install(app, RateLimits(MemoryStorage(), reads_per_minute=READS, submits_per_minute=SUBMITS))
    with TestClient(app) as client:
        yield client


def submit(client: TestClient, headers: dict[str, str], n: int) -> int:
    answer = client.post("/v1/generations", json=body_of(offline_form(f"A kite, take {n}")), headers=headers)
    return answer.status_code


def test_the_read_over_the_budget_answers_429_with_retry_after_and_a_problem(
    client: TestClient, clock: Clock, alice_token: str
):
    headers = bearer(alice_token)
    assert [client.get("/v1/me", headers=headers).status_code for _ in range(READS)] == [200] * READS
    clock.offset = 20  # the window frees 60 s after the first read: 40 s from now
    refused = client.get("/v1/generations", headers=headers)
    body = problem(refused, 429, "rate-limited")
    assert refused.headers["retry-after"] == "40" and body["retry_after"] == 40
    assert body["budget"] == "reads" and body["limit_per_minute"] == READS
    assert (
        f"made {READS} reads in the last minute" in body["detail"] and "VEOGEN_API_READS_PER_MINUTE" in body["detail"]
    )
    assert "Try again in 40 seconds" in body["detail"]
    clock.offset = 61
    assert client.get("/v1/me", headers=headers).status_code == 200


def test_submits_are_counted_apart_from_reads(client: TestClient, studio: Studio, alice: int, alice_token: str):
    headers = bearer(alice_token)
    for _ in range(READS):
        client.get("/v1/models", headers=headers)
    problem(client.get("/v1/models", headers=headers), 429, "rate-limited")
    assert [submit(client, headers, n) for n in range(SUBMITS)] == [201] * SUBMITS  # reads spent, submits not
    refused = client.post("/v1/generations", json=body_of(offline_form("One too many")), headers=headers)
    body = problem(refused, 429, "rate-limited")
    assert body["budget"] == "submits" and "VEOGEN_API_SUBMITS_PER_MINUTE" in body["detail"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert studio.generations.list_generations(alice).total == SUBMITS


def test_another_token_has_budgets_of_its_own(client: TestClient, studio: Studio, alice: int, bob: int):
    first, second = bearer(make_token(studio, alice)), bearer(make_token(studio, alice))
    for _ in range(READS):
        client.get("/v1/me", headers=first)
    problem(client.get("/v1/me", headers=first), 429, "rate-limited")
    assert client.get("/v1/me", headers=second).status_code == 200  # the same user's other token
    assert client.get("/v1/me", headers=bearer(make_token(studio, bob))).status_code == 200


def test_access_tokens_from_the_password_login_share_their_users_budget(client: TestClient, alice: int):
    def login() -> dict[str, str]:
        answer = client.post("/v1/token", data={"username": "alice", "password": "correct horse battery"})
        assert answer.status_code == 200, answer.text  # the login itself is not counted as a read
        return bearer(answer.json()["access_token"])

    first = login()
    for _ in range(READS):
        assert client.get("/v1/me", headers=first).status_code == 200
    problem(client.get("/v1/me", headers=login()), 429, "rate-limited")  # logging in again is no fresh budget


def test_refused_tokens_are_not_counted_and_a_refused_scope_is(client: TestClient, studio: Studio, alice: int):
    for _ in range(READS + 2):
        problem(client.get("/v1/me", headers=bearer("veogen_pat_unknown")), 401, "unauthorized")
    reader = bearer(make_token(studio, alice, "read"))
    for _ in range(SUBMITS):
        problem(client.post("/v1/generations", json={}, headers=reader), 403, "insufficient-scope")
    problem(client.post("/v1/generations", json={}, headers=reader), 429, "rate-limited")
    assert client.get("/v1/me", headers=reader).status_code == 200


def test_by_default_the_counts_live_in_the_studios_redis(tmp_path: Path):
    with embedded_studio(tmp_path, api_reads_per_minute=2, api_submits_per_minute=1) as studio:
        alice = studio.accounts.add_user("alice", "correct horse battery").id
        headers = bearer(make_token(studio, alice))
        with TestClient(create_app(studio)) as client:
            assert [client.get("/v1/me", headers=headers).status_code for _ in range(3)] == [200, 200, 429]
            assert submit(client, headers, 1) == 201 and submit(client, headers, 2) == 429
        keys = {key.decode() for key in studio.redis.keys(f"{KEY_PREFIX}:*")}
    assert any("/reads/token:" in key for key in keys) and any("/submits/token:" in key for key in keys)


def test_an_unreachable_storage_lets_requests_through_and_says_so_once(
    studio: Studio, alice_token: str, caplog: pytest.LogCaptureFixture
):
    app = create_app(studio)
    unreachable = RedisStorage("redis://127.0.0.1:9/0", wrap_exceptions=True, socket_connect_timeout=0.5)
    ratelimit.install(app, RateLimits(unreachable, reads_per_minute=1, submits_per_minute=1))
    with TestClient(app) as client, caplog.at_level(logging.WARNING, logger="veogen.api"):
        assert [client.get("/v1/me", headers=bearer(alice_token)).status_code for _ in range(3)] == [200] * 3
    warnings = [r for r in caplog.records if "rate limits are not counted" in r.getMessage()]
    assert len(warnings) == 1


def test_openapi_documents_429_on_every_route(client: TestClient):
    for path, methods in client.get("/openapi.json").json()["paths"].items():
        for method, operation in methods.items():
            assert "application/problem+json" in operation["responses"]["429"]["content"], f"{method} {path}"
