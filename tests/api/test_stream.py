"""Live updates over Server-Sent Events: a generation driven to completion by the offline renderer in a
thread while the stream is read, resuming after ``Last-Event-ID`` without repeats, the end when final, a
heartbeat on a quiet stream, and another user's generation or film answering 404 before anything streams."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.routes import stream
from core.services.storyboard import MovieDraft
from core.studio import Studio
from tests.api.support import bearer, body_of, make_token, problem
from tests.support import drive, offline_form


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream, "POLL_SECONDS", 0.05)


def read(client: TestClient, url: str, token: str, **headers: str) -> list[dict[str, Any]]:
    """Every message of a stream until it closes: ``{"id", "event", "data"}`` (a comment as ``event`` ":")."""
    messages: list[dict[str, Any]] = []
    with client.stream("GET", url, headers={**bearer(token), **headers}) as answer:
        assert answer.status_code == 200, answer.read()
        assert answer.headers["content-type"].startswith("text/event-stream")
        current: dict[str, Any] = {}
        for line in answer.iter_lines():
            if line.startswith(":"):
                messages.append({"event": ":", "data": line})
            elif line.startswith(("id: ", "event: ")):
                key, value = line.split(": ", 1)
                current[key] = value
            elif line.startswith("data: "):
                current["data"] = json.loads(line[6:])
            elif not line and current:
                messages.append(current)
                current = {}
    return messages


def submit(client: TestClient, token: str) -> str:
    answer = client.post("/v1/generations", json=body_of(offline_form()), headers=bearer(token))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def test_a_generation_streams_its_status_changes_until_final_then_resumes_without_repeats(
    client: TestClient, studio: Studio, alice_token: str
):
    generation_id = submit(client, alice_token)

    def worker() -> None:
        time.sleep(0.3)  # the stream is open and has sent the first event by now
        drive(studio, generation_id)

    driving = threading.Thread(target=worker)
    driving.start()
    try:
        messages = read(client, f"/v1/generations/{generation_id}/stream", alice_token)
    finally:
        driving.join()

    statuses = [m["data"]["to_status"] for m in messages if m["event"] == "status"]
    timeline = [e.to_status for e in studio.generations.timeline(studio_user(studio, "alice"), generation_id)]
    assert statuses == timeline and statuses[0] == "queued" and statuses[-1] == "succeeded"
    assert "running" in statuses
    assert messages[-1] == {"event": "end", "data": {"status": "succeeded"}}
    ids = [int(m["id"]) for m in messages if m["event"] == "status"]
    assert ids == sorted(set(ids))

    resumed = read(client, f"/v1/generations/{generation_id}/stream", alice_token, **{"Last-Event-ID": str(ids[1])})
    assert [int(m["id"]) for m in resumed if m["event"] == "status"] == ids[2:]  # nothing twice, nothing missed
    assert resumed[-1]["event"] == "end"

    everything_seen = read(
        client, f"/v1/generations/{generation_id}/stream", alice_token, **{"Last-Event-ID": str(ids[-1])}
    )
    assert [m["event"] for m in everything_seen] == ["end"]


def studio_user(studio: Studio, username: str) -> int:
    return studio.accounts.by_username(username).id


def test_a_quiet_stream_sends_heartbeats_and_closes_after_its_longest_time(
    client: TestClient, alice_token: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(stream, "HEARTBEAT_SECONDS", 0.1)
    monkeypatch.setattr(stream, "MAX_STREAM_SECONDS", 0.5)
    generation_id = submit(client, alice_token)  # never driven: it stays queued
    messages = read(client, f"/v1/generations/{generation_id}/stream", alice_token)
    assert [m["data"]["to_status"] for m in messages if m["event"] == "status"] == ["queued"]
    assert any(m["event"] == ":" for m in messages)
    assert "end" not in [m["event"] for m in messages]  # the client reconnects with Last-Event-ID


def test_another_users_generation_or_film_answers_404_before_streaming(
    client: TestClient, studio: Studio, alice_token: str, bob: int
):
    generation_id = submit(client, alice_token)
    alice = studio_user(studio, "alice")
    movie = studio.movies.create(
        alice, MovieDraft(title="Dunes", style="artistic", aspect_ratio="16:9", resolution="360p", target_seconds=8)
    )
    bobs = make_token(studio, bob)
    problem(client.get(f"/v1/generations/{generation_id}/stream", headers=bearer(bobs)), 404, "not-found")
    problem(client.get(f"/v1/movies/{movie.id}/stream", headers=bearer(bobs)), 404, "not-found")
    problem(client.get("/v1/generations/nope/stream", headers=bearer(alice_token)), 404, "not-found")
    bad = client.get(f"/v1/generations/{generation_id}/stream", headers={**bearer(alice_token), "Last-Event-ID": "x"})
    assert problem(bad, 422, "validation")["field"] == "Last-Event-ID"


def test_a_films_stream_follows_its_takes_while_they_render(client: TestClient, studio: Studio, alice_token: str):
    shots = [{"prompt": f"shot {n}", "duration_seconds": 2, "model": "offline-preview"} for n in range(3)]
    film = {"title": "Live", "style": "realistic", "resolution": "360p", "target_seconds": 8, "shots": shots}
    made = client.post("/v1/movies", json=film, headers=bearer(alice_token)).json()
    started = client.post(f"/v1/movies/{made['id']}/start", headers=bearer(alice_token)).json()
    takes = [take["id"] for shot in started["shots"] for take in shot["takes"]]

    def worker() -> None:
        time.sleep(0.3)
        for take in takes:
            drive(studio, take)

    driving = threading.Thread(target=worker)
    driving.start()
    try:
        messages = read(client, f"/v1/movies/{made['id']}/stream", alice_token)
    finally:
        driving.join()

    alice = studio_user(studio, "alice")
    sent = [(m["data"]["generation_id"], m["data"]["to_status"]) for m in messages if m["event"] == "take"]
    recorded = [(t, e.to_status) for t in takes for e in studio.generations.timeline(alice, t)]
    assert sorted(sent) == sorted(recorded) and len(sent) == len(set(m["id"] for m in messages if "id" in m))
    assert [m["data"]["shot"] for m in messages if m["event"] == "take"][:3] == [1, 2, 3]  # each queued at start
    assert messages[-1] == {"event": "end", "data": {"assembly_status": "none"}}


@pytest.mark.parametrize("ended_by", ["revoking the token", "a password change"])
def test_an_open_stream_ends_when_its_token_stops_counting(
    client: TestClient, studio: Studio, alice: int, monkeypatch: pytest.MonkeyPatch, ended_by: str
):
    monkeypatch.setattr(stream, "RECHECK_SECONDS", 0.1)
    view, token = studio.tokens.create(alice, "streaming", ["read", "generate"], 30)
    generation_id = submit(client, token)  # never driven: only the token's end closes the stream

    def end_it() -> None:
        time.sleep(0.5)  # the stream is open and has sent the first event by now
        if ended_by == "revoking the token":
            studio.tokens.revoke(alice, view.id)
        else:
            studio.accounts.change_password(alice, "correct horse battery", "another horse battery")

    ending = threading.Thread(target=end_it)
    ending.start()
    try:
        messages = read(client, f"/v1/generations/{generation_id}/stream", token)
    finally:
        ending.join()
    assert [m["event"] for m in messages if m["event"] != ":"] == ["status", "unauthorized"]
    assert "revoked" in messages[-1]["data"]["detail"]
    refused = client.get(f"/v1/generations/{generation_id}/stream", headers=bearer(token))
    assert problem(refused, 401, "unauthorized")["detail"] == messages[-1]["data"]["detail"]
