"""MCP at /mcp through the SDK's own client (streamable HTTP on loopback): the same tokens, services and money."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import anyio
import httpx2
import pytest
from sqlalchemy import update

from core.models import User
from core.studio import Studio
from tests.api.loopback import served, working
from tests.api.mcp_client import call, session
from tests.api.support import make_token
from tests.support import VEO_MODEL, VEO_PRICE

OFFLINE = {"model": "offline-preview", "prompt": "A paper boat on a pond", "duration_seconds": 2, "resolution": "240p"}
VEO = {"model": VEO_MODEL, "prompt": "A heron over a misty lake", "duration_seconds": 4, "resolution": "720p"}


@pytest.fixture
def base_url(studio: Studio) -> Iterator[str]:
    with served(studio) as url:
        yield url


def test_the_tools_are_listed(base_url: str, alice_token: str):
    async def names() -> set[str]:
        async with session(base_url, alice_token) as client:
            return {tool.name for tool in (await client.list_tools()).tools}

    assert anyio.run(names) >= {"list_models", "price", "generate", "status", "fetch"}


def test_models_and_a_price_are_the_create_pages(base_url: str, studio: Studio, alice: int, alice_token: str):
    models, price = call(base_url, alice_token, ("list_models", {}), ("price", {"request": VEO}))
    assert {m["id"] for m in models["models"]} == {o.spec.id for o in studio.generations.offers(alice)}
    assert Decimal(price["price_usd"]) == VEO_PRICE


def test_generate_within_budget_then_status_and_fetch(base_url: str, studio: Studio, alice: int, alice_token: str):
    (made,) = call(base_url, alice_token, ("generate", {"request": OFFLINE, "idempotency_key": "agent-1"}))
    generation_id = made["generation"]["id"]
    assert made["created"] and made["generation"]["status"] == "queued"
    (again,) = call(base_url, alice_token, ("generate", {"request": OFFLINE, "idempotency_key": "agent-1"}))
    assert again["generation"]["id"] == generation_id and not again["created"]  # the key: never paid twice
    assert studio.generations.list_generations(alice).total == 1
    with working(studio):
        for _ in range(100):
            (state,) = call(base_url, alice_token, ("status", {"generation_id": generation_id}))
            if state["status"] == "succeeded":
                break
            anyio.run(anyio.sleep, 0.1)
    assert state["status"] == "succeeded"
    (where,) = call(base_url, alice_token, ("fetch", {"generation_id": generation_id}))
    assert where["url"] == f"{base_url}/v1/generations/{generation_id}/videos/0"
    video = httpx2.get(where["url"], headers={"Authorization": f"Bearer {alice_token}"})
    assert video.status_code == 200 and len(video.content) == where["video"]["size_bytes"]


def test_over_budget_is_refused_with_the_plain_sentence(base_url: str, studio: Studio, alice: int, alice_token: str):
    with studio.engine.begin() as conn:
        conn.execute(update(User).where(User.id == alice).values(monthly_budget_usd=Decimal("0.30")))
    (refused,) = call(base_url, alice_token, ("generate", {"request": VEO, "idempotency_key": "too-dear"}))
    assert refused[0] == "error" and "budget" in refused[1]
    assert studio.generations.list_generations(alice).total == 0
    assert studio.generations.budget(alice).committed_usd == 0


def test_another_users_token_cannot_read_the_status(base_url: str, studio: Studio, alice_token: str, bob: int):
    (made,) = call(base_url, alice_token, ("generate", {"request": OFFLINE}))
    bob_token = make_token(studio, bob)
    (status, fetched) = call(
        base_url,
        bob_token,
        ("status", {"generation_id": made["generation"]["id"]}),
        ("fetch", {"generation_id": made["generation"]["id"]}),
    )
    assert status[0] == "error" and fetched[0] == "error"
    assert made["generation"]["prompt"] not in status[1]


def test_a_read_only_token_cannot_generate(base_url: str, studio: Studio, alice: int):
    (refused,) = call(base_url, make_token(studio, alice, "read"), ("generate", {"request": OFFLINE}))
    assert refused[0] == "error" and "'generate' scope" in refused[1]
    assert studio.generations.list_generations(alice).total == 0


def test_no_token_or_a_wrong_one_is_a_401_problem(base_url: str):
    for headers in ({}, {"Authorization": "Bearer veogen_pat_nonsense"}):
        answer = httpx2.post(
            f"{base_url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers=headers
        )
        assert answer.status_code == 401
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_generate_counts_as_a_submission_against_the_tokens_rate_limit(studio: Studio, alice_token: str):
    from limits.storage import MemoryStorage

    from api import ratelimit
    from api.app import create_app

    app = create_app(studio)
    ratelimit.install(app, ratelimit.RateLimits(MemoryStorage(), reads_per_minute=100, submits_per_minute=1))
    with served(studio, app) as url:
        first, second = call(
            url,
            alice_token,
            ("generate", {"request": OFFLINE, "idempotency_key": "one"}),
            ("generate", {"request": OFFLINE, "idempotency_key": "two"}),
        )
    assert first["created"]
    assert second[0] == "error" and "submissions in the last minute" in second[1]
