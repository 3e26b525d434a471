"""Who may call the API, and how every refusal reads: RFC 9457 problems with the pages' own sentences."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient

from core.studio import Studio
from tests.api.support import bearer, make_token, problem
from tests.support import offline_form


def test_no_token_answers_401_with_a_bearer_challenge(client: TestClient):
    answer = client.get("/v1/me")
    body = problem(answer, 401, "unauthorized")
    assert answer.headers["www-authenticate"] == "Bearer"
    assert "Bearer" in body["detail"] and body["instance"] == "/v1/me"


@pytest.mark.parametrize(
    "header", ["Bearer veogen_pat_not-a-real-one", "Basic YWxpY2U6cHc=", "Bearer ", "veogen_pat_no_scheme"]
)
def test_an_unknown_or_malformed_token_answers_401(client: TestClient, alice_token: str, header: str):
    problem(client.get("/v1/me", headers={"Authorization": header}), 401, "unauthorized")


def test_a_revoked_token_answers_401_saying_so(client: TestClient, studio: Studio, alice: int):
    view, secret = studio.tokens.create(alice, "old", ["read"], 30)
    assert client.get("/v1/me", headers=bearer(secret)).status_code == 200
    studio.tokens.revoke(alice, view.id)
    assert "revoked" in problem(client.get("/v1/me", headers=bearer(secret)), 401, "unauthorized")["detail"]


def test_a_password_change_ends_the_token_over_http(client: TestClient, studio: Studio, alice: int, alice_token: str):
    assert client.get("/v1/me", headers=bearer(alice_token)).status_code == 200
    studio.accounts.change_password(alice, "correct horse battery", "a brand new passphrase")
    body = problem(client.get("/v1/me", headers=bearer(alice_token)), 401, "unauthorized")
    assert "password change or reset" in body["detail"]


def test_a_read_token_cannot_submit_and_a_generate_token_cannot_read(client: TestClient, studio: Studio, alice: int):
    reader, writer = make_token(studio, alice, "read"), make_token(studio, alice, "generate")
    refused = client.post("/v1/generations", json={"model": "offline-preview", "prompt": "x"}, headers=bearer(reader))
    body = problem(refused, 403, "insufficient-scope")
    assert "'generate' scope" in body["detail"]
    assert 'scope="generate"' in refused.headers["www-authenticate"]
    problem(client.get("/v1/generations", headers=bearer(writer)), 403, "insufficient-scope")
    assert studio.generations.list_generations(alice).total == 0


def test_another_users_generation_answers_404_like_a_missing_one(
    client: TestClient, studio: Studio, bob: int, alice_token: str
):
    theirs, _ = studio.generations.submit(bob, offline_form("Bob's secret storyboard"))
    foreign = problem(client.get(f"/v1/generations/{theirs.id}", headers=bearer(alice_token)), 404, "not-found")
    missing = problem(client.get(f"/v1/generations/{'0' * 32}", headers=bearer(alice_token)), 404, "not-found")
    assert foreign["detail"] == missing["detail"] == "No such generation."
    listed = client.get("/v1/generations", headers=bearer(alice_token)).json()
    assert listed["items"] == [] and listed["total"] == 0
    bobs = bearer(make_token(studio, bob, "read"))
    assert client.get(f"/v1/generations/{theirs.id}", headers=bobs).json()["prompt"] == "Bob's secret storyboard"


@pytest.mark.parametrize(
    ("change", "field", "detail"),
    [
        ({"duration_seconds": 1}, "duration_seconds", "1 s is not one of them"),
        ({"duration_seconds": "4"}, "duration_seconds", "duration_seconds: "),
        ({"prompt": ""}, "prompt", "Prompt is empty: describe the video you want."),
        ({"prompt": "bad\u202eprompt"}, "prompt", "invisible or control character (U+202E)"),
        ({"resolution": "8k"}, "resolution", "not 8k"),
        ({"model": "veo-2.0-generate-001"}, "model", "shut down"),
        ({"mode": "image"}, "mode", "does not offer “Image to video (first frame)”"),
        ({"colour": "red"}, "colour", "colour: "),
    ],
)
def test_invalid_requests_answer_422_with_the_field_and_the_pages_sentence(
    client: TestClient, studio: Studio, alice: int, alice_token: str, change: dict[str, object], field: str, detail: str
):
    body = {"model": "offline-preview", "prompt": "A kite over dunes", "duration_seconds": 4, "resolution": "240p"}
    answer = client.post("/v1/generations", json=body | change, headers=bearer(alice_token))
    found = problem(answer, 422, "validation")
    assert found["field"] == field and detail in found["detail"]
    assert studio.generations.list_generations(alice).total == 0


def test_an_over_long_idempotency_key_is_refused(client: TestClient, alice_token: str):
    answer = client.post(
        "/v1/generations",
        json={"model": "offline-preview", "prompt": "A kite", "duration_seconds": 2, "resolution": "240p"},
        headers=bearer(alice_token) | {"Idempotency-Key": "k" * 65},
    )
    assert problem(answer, 422, "validation")["field"] == "Idempotency-Key"


def test_unknown_paths_and_methods_are_problems_too(client: TestClient, alice_token: str):
    problem(client.get("/v1/nothing-here", headers=bearer(alice_token)), 404, None)
    problem(client.delete("/v1/models", headers=bearer(alice_token)), 405, None)


def test_an_unexpected_error_answers_500_with_an_incident_id_and_no_traceback(
    client: TestClient,
    studio: Studio,
    alice_token: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    def broken(user_id: int) -> None:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(studio.generations, "budget", broken)
    with caplog.at_level(logging.ERROR, logger="veogen.api"):
        answer = client.get("/v1/me", headers=bearer(alice_token))
    body = problem(answer, 500, "incident")
    assert body["incident"] in body["detail"] and "hunter2" not in answer.text
    assert any(body["incident"] in r.getMessage() and r.exc_info for r in caplog.records)


def test_an_oversized_body_is_refused_before_it_is_read(
    client: TestClient, studio: Studio, alice: int, alice_token: str
):
    body = {"model": "offline-preview", "prompt": "x" * 70_000}
    declared = client.post("/v1/generations", json=body, headers=bearer(alice_token))
    assert "64 KiB" in problem(declared, 413, None)["detail"]

    def chunks():  # no Content-Length: the body is counted as it streams in
        yield b'{"model": "offline-preview", "prompt": "'
        for _ in range(80):
            yield b"x" * 1024
        yield b'"}'

    streamed = client.post(
        "/v1/generations", content=chunks(), headers=bearer(alice_token) | {"Content-Type": "application/json"}
    )
    assert "64 KiB" in problem(streamed, 413, None)["detail"]
    assert studio.generations.list_generations(alice).total == 0
