"""Cancel, retry, delete and the timeline over the API: the gallery's buttons, with the same rules and money."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from api.app import create_app
from core.models import Generation, LedgerEntry
from core.status import Status
from core.studio import Studio
from standin import VeoStandIn
from tests.api.support import bearer, body_of, make_token, problem
from tests.support import VEO_PRICE, drive, embedded_studio, offline_form, veo_form

OMNI = "gemini-omni-1.1-flash"


def ledger_kinds(studio: Studio, generation_id: str) -> list[tuple[str, Decimal]]:
    with studio.sessions() as s:
        rows = s.execute(
            select(LedgerEntry.kind, LedgerEntry.amount_usd)
            .where(LedgerEntry.generation_id == generation_id)
            .order_by(LedgerEntry.id)
        ).all()
    return [(kind, Decimal(amount)) for kind, amount in rows]


def test_another_users_token_finds_nothing_to_cancel_retry_delete_or_read(
    client: TestClient, studio: Studio, alice: int, bob: int, alice_token: str
):
    queued = client.post("/v1/generations", json=body_of(veo_form()), headers=bearer(alice_token)).json()["id"]
    failed = studio.generations.submit(alice, offline_form("a crane at dawn"))[0].id
    studio.pipeline.fail(failed, None, "the provider was down", code="UNAVAILABLE")
    bobs = bearer(make_token(studio, bob))
    for method, path in (
        ("POST", f"/v1/generations/{queued}/cancel"),
        ("POST", f"/v1/generations/{failed}/retry"),
        ("DELETE", f"/v1/generations/{failed}"),
        ("GET", f"/v1/generations/{queued}/events"),
    ):
        answer = client.request(method, path, headers=bobs)
        assert problem(answer, 404, "not-found")["detail"] == "No such generation.", (method, path)
    unknown = client.post(f"/v1/generations/{'0' * 32}/cancel", headers=bobs)
    assert problem(unknown, 404, "not-found")["detail"] == "No such generation."  # the same as not yours
    assert studio.generations.get_generation(alice, queued).status is Status.QUEUED
    assert studio.generations.get_generation(alice, failed).status is Status.FAILED
    assert studio.generations.list_generations(alice).total == 2 and studio.generations.list_generations(bob).total == 0


def test_cancel_releases_the_reservation_and_a_sent_one_answers_409(
    client: TestClient, studio: Studio, alice: int, alice_token: str
):
    made = client.post("/v1/generations", json=body_of(veo_form()), headers=bearer(alice_token)).json()
    assert studio.generations.budget(alice).committed_usd == VEO_PRICE
    canceled = client.post(f"/v1/generations/{made['id']}/cancel", headers=bearer(alice_token))
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "canceled"
    assert ledger_kinds(studio, made["id"]) == [("reserve", VEO_PRICE), ("release", -VEO_PRICE)]
    budget = studio.generations.budget(alice)
    assert budget.committed_usd == 0 and budget.open_generations == 0
    again = client.post(f"/v1/generations/{made['id']}/cancel", headers=bearer(alice_token))
    assert problem(again, 409, "conflict")["detail"] == (
        "Only a queued generation can be canceled; this one is canceled."
    )
    assert len(ledger_kinds(studio, made["id"])) == 2  # released once


def test_a_read_only_token_may_read_the_timeline_but_not_cancel(
    client: TestClient, studio: Studio, alice: int, alice_token: str
):
    made = client.post("/v1/generations", json=body_of(veo_form()), headers=bearer(alice_token)).json()
    reader = bearer(make_token(studio, alice, "read"))
    refused = client.post(f"/v1/generations/{made['id']}/cancel", headers=reader)
    assert "'generate' scope" in problem(refused, 403, "insufficient-scope")["detail"]
    assert problem(client.delete(f"/v1/generations/{made['id']}", headers=reader), 403, "insufficient-scope")
    assert client.get(f"/v1/generations/{made['id']}/events", headers=reader).status_code == 200
    assert studio.generations.get_generation(alice, made["id"]).status is Status.QUEUED


def test_the_timeline_is_the_generation_pages(client: TestClient, studio: Studio, alice: int, alice_token: str):
    made = client.post("/v1/generations", json=body_of(veo_form()), headers=bearer(alice_token)).json()
    client.post(f"/v1/generations/{made['id']}/cancel", headers=bearer(alice_token))
    events = client.get(f"/v1/generations/{made['id']}/events", headers=bearer(alice_token)).json()["events"]
    page = studio.generations.timeline(alice, made["id"])  # what the Generation page shows
    assert [(e["kind"], e["from_status"], e["to_status"], e["detail"]) for e in events] == [
        (e.kind, e.from_status, e.to_status, e.detail) for e in page
    ]
    assert [(e["from_status"], e["to_status"]) for e in events] == [(None, "queued"), ("queued", "canceled")]
    assert events[0]["detail"] == "submitted; price $0.40" and events[1]["detail"] == "canceled by its owner"


def test_retry_makes_one_new_generation_and_refuses_what_the_page_refuses(
    client: TestClient, studio: Studio, alice: int, alice_token: str
):
    failed = studio.generations.submit(alice, veo_form("a crane at dawn", seed=7))[0].id
    studio.pipeline.fail(failed, None, "the provider was down", code="UNAVAILABLE")
    first = client.post(f"/v1/generations/{failed}/retry", headers=bearer(alice_token))
    assert first.status_code == 201, first.text
    new = first.json()
    assert first.headers["location"] == f"/v1/generations/{new['id']}"
    assert (new["status"], new["remix_of_id"], new["prompt"], new["seed"]) == ("queued", failed, "a crane at dawn", 7)
    assert ledger_kinds(studio, new["id"]) == [("reserve", VEO_PRICE)]
    again = client.post(f"/v1/generations/{failed}/retry", headers=bearer(alice_token))
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == new["id"]
    assert studio.generations.list_generations(alice).total == 2

    queued = client.post(f"/v1/generations/{new['id']}/retry", headers=bearer(alice_token))
    refusal = studio.generations.get_generation(alice, new["id"]).retry_refusal()
    assert refusal and problem(queued, 409, "conflict")["detail"] == refusal
    lost = studio.generations.submit(alice, veo_form("lost answer"))[0].id
    studio.pipeline.fail(lost, None, "no answer", code="SUBMIT_OUTCOME_UNKNOWN", release=False)
    could_pay_twice = client.post(f"/v1/generations/{lost}/retry", headers=bearer(alice_token))
    assert "could pay twice" in problem(could_pay_twice, 409, "conflict")["detail"]
    assert studio.generations.list_generations(alice).total == 3


def test_delete_removes_the_row_and_its_files_but_not_an_unfinished_one(
    client: TestClient, studio: Studio, alice: int, alice_token: str
):
    made = studio.generations.submit(alice, offline_form("A kite over a beach"))[0].id
    drive(studio, made)
    video = studio.generations.get_generation(alice, made).videos[0]
    keys = (video.storage_key, video.thumbnail_key, video.poster_key)
    assert all(studio.store.exists(key) for key in keys)
    queued = client.post("/v1/generations", json=body_of(veo_form()), headers=bearer(alice_token)).json()["id"]
    busy = client.delete(f"/v1/generations/{queued}", headers=bearer(alice_token))
    assert "still in progress" in problem(busy, 409, "conflict")["detail"]

    deleted = client.delete(f"/v1/generations/{made}", headers=bearer(alice_token))
    assert deleted.status_code == 204 and deleted.content == b""
    assert not any(studio.store.exists(key) for key in keys)
    assert problem(client.get(f"/v1/generations/{made}", headers=bearer(alice_token)), 404, "not-found")
    assert problem(client.delete(f"/v1/generations/{made}", headers=bearer(alice_token)), 404, "not-found")
    with studio.sessions() as s:
        assert s.get(Generation, made) is None
        assert s.get(Generation, queued) is not None


@pytest.fixture
def omni_studio(tmp_path: Path) -> Iterator[tuple[Studio, TestClient]]:
    """A studio whose Gemini key reaches the stand-in (Google's December 2026 lineup: Omni, no Veo)."""
    with (
        VeoStandIn(api_key="test-key") as standin,
        embedded_studio(tmp_path, gemini_api_key="test-key", veo_base_url=standin.url) as studio,
        TestClient(create_app(studio)) as client,
    ):
        yield studio, client


@pytest.mark.parametrize(("code", "retry_helps"), [("29310472", False), ("56562880", True)])
def test_a_filtered_generation_is_retried_exactly_when_the_page_offers_retry(
    omni_studio: tuple[Studio, TestClient], code: str, retry_helps: bool
):
    studio, client = omni_studio
    alice = studio.accounts.add_user("alice", "correct horse battery").id
    headers = bearer(make_token(studio, alice))
    body = {"model": OMNI, "prompt": f"a scene [[rai:{code}]]", "duration_seconds": 4, "resolution": "720p"}
    made = client.post("/v1/generations", json=body, headers=headers).json()
    drive(studio, made["id"])
    view = studio.generations.get_generation(alice, made["id"])
    assert view.status is Status.FILTERED
    answer = client.post(f"/v1/generations/{made['id']}/retry", headers=headers)
    if retry_helps:
        assert view.retry_refusal() is None
        assert answer.status_code == 201 and answer.json()["status"] == "queued"
    else:
        refusal = view.retry_refusal()  # why the page shows no Retry button
        assert refusal and "would be blocked again" in refusal
        assert problem(answer, 409, "conflict")["detail"] == refusal
        assert studio.generations.list_generations(alice).total == 1
