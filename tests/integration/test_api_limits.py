"""API rate limits in a real Redis: two API apps (two processes' worth) share one token's budget, the 429's
``Retry-After`` is the window's, and the counts expire by themselves."""

from __future__ import annotations

import dataclasses
import time

import pytest
from starlette.testclient import TestClient

from api import ratelimit
from api.app import create_app
from api.ratelimit import KEY_PREFIX, RateLimits
from core.studio import Studio
from tests.api.support import bearer, make_token, problem

pytestmark = pytest.mark.integration


def test_two_api_processes_share_a_tokens_budget_in_redis(studio: Studio):
    small = dataclasses.replace(
        studio, settings=studio.settings.model_copy(update={"api_reads_per_minute": 3, "api_submits_per_minute": 1})
    )
    alice = studio.accounts.add_user("alice", "correct horse battery").id
    headers = bearer(make_token(studio, alice))
    apps = [create_app(studio), create_app(studio)]
    for app in apps:
        ratelimit.install(app, RateLimits.for_studio(small))  # what each process builds from its settings
    with TestClient(apps[0]) as one, TestClient(apps[1]) as other:
        assert one.get("/v1/me", headers=headers).status_code == 200
        assert other.get("/v1/me", headers=headers).status_code == 200
        assert one.get("/v1/me", headers=headers).status_code == 200
        started = time.time()
        refused = other.get("/v1/me", headers=headers)
        body = problem(refused, 429, "rate-limited")
        assert 55 <= int(refused.headers["retry-after"]) <= 60 and body["budget"] == "reads"
        assert other.get("/v1/me", headers=bearer(make_token(studio, alice))).status_code == 200
    keys = studio.redis.keys(f"{KEY_PREFIX}:*")
    assert keys and all(0 < studio.redis.ttl(key) <= 61 for key in keys)
    assert time.time() - started < 5
