"""``/v1/generations`` and friends: the same rows, money and rules as the Create page and the gallery."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from starlette.testclient import TestClient

from api.app import create_app
from core import catalog
from core.models import Generation, LedgerEntry, User
from core.studio import Studio
from tests.api.support import bearer, body_of, make_token, problem
from tests.support import VEO_MODEL, VEO_PRICE, embedded_studio, offline_form, veo_form

ROW_FACTS = (
    "status",
    "provider",
    "surface",
    "model",
    "prompt",
    "negative_prompt",
    "duration_seconds",
    "aspect_ratio",
    "resolution",
    "seed",
    "sample_count",
    "mode",
    "price_usd",
    "request_hash",
)
"""What a submitted row says about the request (ids, owners, keys and times aside)."""


def row_and_ledger(studio: Studio, generation_id: str) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    with studio.sessions() as s:
        row = s.get(Generation, generation_id)
        assert row is not None
        entries = s.execute(
            select(LedgerEntry.kind, LedgerEntry.amount_usd, LedgerEntry.period, LedgerEntry.model).where(
                LedgerEntry.generation_id == generation_id
            )
        ).all()
        return {name: getattr(row, name) for name in ROW_FACTS}, [tuple(e) for e in entries]


def test_the_api_and_the_create_page_make_the_same_row_and_ledger_entry(
    client: TestClient, studio: Studio, alice: int, bob: int, alice_token: str
):
    for form in (offline_form("A lighthouse in a storm"), veo_form("A heron over a misty lake")):
        answer = client.post("/v1/generations", json=body_of(form), headers=bearer(alice_token))
        assert answer.status_code == 201, answer.text
        made = answer.json()
        assert answer.headers["location"] == f"/v1/generations/{made['id']}"
        by_page, created = studio.generations.submit(bob, form)  # the Create page's call
        assert created
        assert row_and_ledger(studio, made["id"]) == row_and_ledger(studio, by_page.id)
        assert made["status"] == "queued" and Decimal(made["price_usd"]) == by_page.price_usd
    _row, ledger = row_and_ledger(studio, made["id"])
    assert ledger == [("reserve", VEO_PRICE, ledger[0][2], VEO_MODEL)]


def test_the_same_idempotency_key_twice_makes_one_generation(
    client: TestClient, studio: Studio, alice: int, alice_token: str
):
    headers = bearer(alice_token) | {"Idempotency-Key": "nightly-build-42"}
    body = body_of(veo_form())
    first = client.post("/v1/generations", json=body, headers=headers)
    again = client.post("/v1/generations", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["idempotent-replayed"] == "true"
    assert first.json()["id"] == again.json()["id"]
    with studio.sessions() as s:
        assert len(s.execute(select(Generation.id)).all()) == 1
        assert len(s.execute(select(LedgerEntry.id)).all()) == 1


def test_a_repeat_answers_409_naming_the_price_and_a_confirmed_one_goes_through(
    client: TestClient, studio: Studio, alice: int, alice_token: str
):
    body = body_of(veo_form("The same heron, again"))
    first = client.post("/v1/generations", json=body, headers=bearer(alice_token))
    assert first.status_code == 201
    repeat = client.post("/v1/generations", json=body, headers=bearer(alice_token) | {"Idempotency-Key": "second"})
    found = problem(repeat, 409, "confirm-repeat")
    assert found["detail"].startswith("You made exactly this request moments ago.")
    assert f"${VEO_PRICE:.2f}" in found["detail"] and '"confirm_repeat": true' in found["detail"]
    assert found["existing_id"] == first.json()["id"] and Decimal(found["price_usd"]) == VEO_PRICE
    confirmed = client.post(
        "/v1/generations",
        json=body | {"confirm_repeat": True},
        headers=bearer(alice_token) | {"Idempotency-Key": "second"},
    )
    assert confirmed.status_code == 201 and confirmed.json()["id"] != first.json()["id"]
    assert studio.generations.budget(alice).committed_usd == 2 * VEO_PRICE


def test_over_budget_answers_403_with_the_pages_sentence(
    client: TestClient, studio: Studio, alice: int, alice_token: str
):
    with studio.engine.begin() as conn:
        conn.execute(update(User).where(User.id == alice).values(monthly_budget_usd=Decimal("0.30")))
    answer = client.post("/v1/generations", json=body_of(veo_form()), headers=bearer(alice_token))
    assert "budget" in problem(answer, 403, "over-budget")["detail"]
    assert studio.generations.list_generations(alice).total == 0


def test_get_a_generation_and_me_read_what_the_pages_read(
    client: TestClient, studio: Studio, alice: int, alice_token: str
):
    made = client.post("/v1/generations", json=body_of(veo_form()), headers=bearer(alice_token)).json()
    view = studio.generations.get_generation(alice, made["id"])
    got = client.get(f"/v1/generations/{made['id']}", headers=bearer(alice_token)).json()
    assert got == made and made["price_usd"] == "0.4000" and made["cost_usd"] is None
    assert (got["model"], got["model_label"], got["backend"]) == (view.model, view.model_label, view.provider)
    me = client.get("/v1/me", headers=bearer(alice_token)).json()
    budget = studio.generations.budget(alice)
    assert me["user"]["username"] == "alice" and me["token"]["scopes"] == ["generate", "read"]
    assert Decimal(me["budget"]["committed_usd"]) == budget.committed_usd == VEO_PRICE
    assert Decimal(me["budget"]["remaining_usd"]) == budget.remaining_usd
    assert me["budget"]["open_generations"] == budget.open_generations == 1


def test_models_are_the_callers_offers_with_limits_prices_and_credentials(
    client: TestClient, studio: Studio, alice: int, alice_token: str
):
    listed = client.get("/v1/models", headers=bearer(alice_token)).json()
    offers = studio.generations.offers(alice)
    assert [m["id"] for m in listed["models"]] == [o.spec.id for o in offers]
    by_id = {m["id"]: m for m in listed["models"]}
    offline = by_id[catalog.OFFLINE_MODEL]
    assert offline["surface"] == "local" and offline["credential"] == "this machine"
    veo = by_id[VEO_MODEL]
    spec = catalog.MODELS[VEO_MODEL]
    assert {res: Decimal(price) for res, price in veo["usd_per_second"].items()} == spec.usd_per_second
    assert all(len(price.split(".")[1]) == 4 for price in veo["usd_per_second"].values())
    assert veo["durations"] == list(spec.durations) and veo["surface"] == "gemini"
    assert listed["unavailable"] == []


def test_listing_pages_by_cursor_filters_and_searches(tmp_path: Path):
    with embedded_studio(tmp_path, page_size=2) as studio:
        alice = studio.accounts.add_user("alice", "correct horse battery").id
        bob = studio.accounts.add_user("bob", "another long secret").id
        made = [studio.generations.submit(alice, offline_form(f"Scene {n} with a fox"))[0].id for n in range(5)]
        studio.generations.submit(alice, offline_form("A quiet harbour"))
        studio.generations.submit(bob, offline_form("Bob's fox"))
        studio.generations.cancel(alice, made[0])
        headers = bearer(make_token(studio, alice, "read"))
        with TestClient(create_app(studio)) as client:
            seen: list[str] = []
            cursor = None
            for _ in range(5):
                params: dict[str, Any] = {"search": "FOX"} | ({"cursor": cursor} if cursor else {})
                page = client.get("/v1/generations", params=params, headers=headers).json()
                assert page["total"] == 5
                seen += [item["id"] for item in page["items"]]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert seen == list(reversed(made))  # newest first, each once, none of Bob's
            queued = client.get("/v1/generations", params={"status": "canceled"}, headers=headers).json()
            assert [item["id"] for item in queued["items"]] == [made[0]]
            by_model = client.get("/v1/generations", params={"model": VEO_MODEL}, headers=headers).json()
            assert by_model["total"] == 0
            first = client.get("/v1/generations", params={"search": "fox"}, headers=headers).json()
            other = client.get(
                "/v1/generations", params={"search": "harbour", "cursor": first["next_cursor"]}, headers=headers
            )
            assert problem(other, 422, "validation")["field"] == "cursor"
            damaged = client.get("/v1/generations", params={"cursor": "not a cursor"}, headers=headers)
            assert problem(damaged, 422, "validation")["field"] == "cursor"
            unknown = client.get("/v1/generations", params={"status": "lost"}, headers=headers)
            assert problem(unknown, 422, "validation")["field"] == "status"
            long = client.get("/v1/generations", params={"search": "x" * 201}, headers=headers)
            assert "the limit is 200" in problem(long, 422, "validation")["detail"]


def test_the_openapi_document_is_served_and_describes_every_route(client: TestClient):
    app_doc = client.app.openapi()  # type: ignore[attr-defined]
    served = client.get("/openapi.json").json()
    assert served == app_doc and served["openapi"].startswith("3.")
    assert {"/v1/models", "/v1/me", "/v1/generations", "/v1/generations/{generation_id}"} <= set(served["paths"])
    assert "PersonalAccessToken" in served["components"]["securitySchemes"]
    for path, methods in served["paths"].items():
        for method, operation in methods.items():
            if (method, path) == ("post", "/v1/token"):  # the password login: how one gets a token
                continue
            assert operation.get("security"), f"{method} {path} is not behind a token"
            problems = {code: r for code, r in operation["responses"].items() if code.startswith(("4", "5"))}
            assert "401" in problems and all("application/problem+json" in r["content"] for r in problems.values())
    schemas = served["components"]["schemas"]
    for name in ("GenerationIn", "GenerationOut", "ModelOut", "MeOut", "GenerationList"):
        assert schemas[name].get("examples"), f"{name} has no example"
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert client.get("/healthz").json() == {"ok": True}
