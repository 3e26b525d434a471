"""``/v1/movies``: a 3-shot offline film created from a storyboard document, drafted, assembled (the worker
job run in-process) and downloaded; its stream; a paid film's money equal to what the Movies page's calls
give; the budget refusal as the generation routes' problem; B never reads or changes A's film."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from api.routes import stream
from core.media import probe_video
from core.models import Movie, User
from core.services.storyboard import MovieDraft, ShotDraft
from core.studio import Studio
from tests.api.support import bearer, make_token, problem
from tests.support import VEO_MODEL, drive

OFFLINE = "offline-preview"

FILM: dict[str, Any] = {
    "title": "Dunes",
    "style": "artistic",
    "aspect_ratio": "16:9",
    "resolution": "360p",
    "target_seconds": 10,
    "shots": [
        {"prompt": "red dunes at dawn", "duration_seconds": 2, "model": OFFLINE},
        {"prompt": "a blue kite", "duration_seconds": 3, "model": OFFLINE, "join": "crossfade"},
        {"prompt": "green night", "duration_seconds": 2, "model": OFFLINE},
    ],
}

PAID_SHOTS = [("a heron lifts off", 4), ("over the misty lake", 8), ("into the sun", 4)]
"""Veo 3.1 Fast at 720p, $0.10 a second: $1.60 for the film."""


def paid_film(title: str) -> dict[str, Any]:
    return {
        "title": title,
        "style": "cinematic",
        "aspect_ratio": "16:9",
        "resolution": "720p",
        "target_seconds": 16,
        "shots": [{"prompt": p, "duration_seconds": d, "model": VEO_MODEL} for p, d in PAID_SHOTS],
    }


def take_ids(film: dict[str, Any]) -> list[str]:
    return [take["id"] for shot in film["shots"] for take in shot["takes"]]


def test_a_three_shot_offline_film_is_drafted_assembled_and_downloaded(
    client: TestClient, studio: Studio, alice_token: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    auth = bearer(alice_token)
    made = client.post("/v1/movies", json=FILM, headers=auth)
    assert made.status_code == 201, made.text
    film = made.json()
    assert made.headers["location"] == f"/v1/movies/{film['id']}"
    assert [s["prompt"] for s in film["shots"]] == ["red dunes at dawn", "a blue kite", "green night"]
    assert film["started_at"] is None and film["price_usd"] == "0.0000" and film["length_seconds"] == 7
    assert [m["id"] for m in client.get("/v1/movies", headers=auth).json()["items"]] == [film["id"]]
    problem(client.get(f"/v1/movies/{film['id']}/film", headers=auth), 404, "not-found")

    started = client.post(f"/v1/movies/{film['id']}/start", json={"draft": True}, headers=auth)
    assert started.status_code == 200, started.text
    takes = take_ids(started.json())
    assert len(takes) == 3 and started.json()["started_at"] is not None
    refused = client.post(f"/v1/movies/{film['id']}/assemble", headers=auth)
    assert "no finished take yet" in problem(refused, 422, "validation")["detail"]
    for take in takes:
        drive(studio, take)

    queued = client.post(f"/v1/movies/{film['id']}/assemble", headers=auth)
    assert queued.status_code == 202 and queued.json()["assembly_status"] == "queued"
    with studio.sessions() as s:
        seq = s.get(Movie, film["id"]).assembly_seq
    studio.movies.run_assembly(film["id"], seq)  # what the worker job does
    done = client.get(f"/v1/movies/{film['id']}", headers=auth).json()
    assert (done["assembly_status"], done["assembly_current"]) == ("done", True), done["assembly_message"]
    assert [s["chosen_id"] for s in done["shots"]] == takes
    assert all(t["status"] == "succeeded" for shot in done["shots"] for t in shot["takes"])

    film_url = f"/v1/movies/{film['id']}/film"
    with monkeypatch.context() as streamed:
        streamed.setattr(studio.store, "get_bytes", lambda key: pytest.fail("a local film is streamed, not read whole"))
        download = client.get(film_url, headers=auth)
        assert download.status_code == 200 and download.headers["content-type"] == "video/mp4"
        assert download.headers["content-disposition"] == f'attachment; filename="film-{film["id"][:8]}.mp4"'
        path = tmp_path / "film.mp4"
        path.write_bytes(download.content)
        assert probe_video(path).duration_seconds == pytest.approx(6.5, abs=0.1)  # 2 + 3 + 2 s, less a crossfade
        etag, size = download.headers["etag"], len(download.content)
        part = client.get(film_url, headers={**auth, "Range": "bytes=-1000", "If-Range": etag})
        assert part.status_code == 206 and part.content == download.content[-1000:]
        assert part.headers["content-range"] == f"bytes {size - 1000}-{size - 1}/{size}"
        head = client.head(film_url, headers=auth)
        assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == str(size)
        assert head.headers["etag"] == etag
    assert download.content == studio.movies.film_bytes(alice_id(studio), film["id"])  # what the page plays

    monkeypatch.setattr(stream, "POLL_SECONDS", 0.05)
    with client.stream("GET", f"/v1/movies/{film['id']}/stream", headers=auth) as answer:
        lines = [line for line in answer.iter_lines() if line.startswith(("id: ", "event: ", "data: "))]
    events = [line[7:] for line in lines if line.startswith("event: ")]
    assert events.count("take") == sum(len(studio.generations.timeline(alice_id(studio), t)) for t in takes)
    assert events[-2:] == ["assembly", "end"]
    assembly = json.loads(lines[-3][6:])
    assert assembly["assembly_status"] == "done"
    last_id = [line[4:] for line in lines if line.startswith("id: ")][-1]
    with client.stream("GET", f"/v1/movies/{film['id']}/stream", headers={**auth, "Last-Event-ID": last_id}) as again:
        assert [line for line in again.iter_lines() if line.startswith("event: ")] == ["event: end"]

    retake = client.post(
        f"/v1/movies/{film['id']}/shots/{film['shots'][2]['id']}/rerender",
        json={"prompt": "yellow night"},
        headers=auth,
    )
    assert retake.status_code == 200, retake.text
    new_take = retake.json()["shots"][2]["takes"][-1]["id"]
    drive(studio, new_take)
    assert client.get(f"/v1/movies/{film['id']}", headers=auth).json()["assembly_current"] is False
    chosen = client.put(
        f"/v1/movies/{film['id']}/shots/{film['shots'][2]['id']}/take", json={"generation_id": takes[2]}, headers=auth
    )
    assert chosen.status_code == 200 and chosen.json()["shots"][2]["chosen_id"] == takes[2]
    assert chosen.json()["assembly_current"] is True  # back to the takes assembled

    client.put(
        f"/v1/movies/{film['id']}/shots/{film['shots'][2]['id']}/take", json={"generation_id": new_take}, headers=auth
    )
    assert client.post(f"/v1/movies/{film['id']}/assemble", headers=auth).status_code == 202
    with studio.sessions() as s:
        seq = s.get(Movie, film["id"]).assembly_seq
    studio.movies.run_assembly(film["id"], seq)
    again = client.get(film_url, headers=auth)
    assert again.headers["etag"] != etag  # a film assembled again is another file: a resumed download starts over
    resumed = client.get(film_url, headers={**auth, "Range": "bytes=0-99", "If-Range": etag})
    assert resumed.status_code == 200 and resumed.content == again.content


def alice_id(studio: Studio) -> int:
    return studio.accounts.by_username("alice").id


def test_a_paid_films_money_is_what_the_movies_pages_calls_give(
    client: TestClient, studio: Studio, alice: int, bob: int, alice_token: str
):
    auth = bearer(alice_token)
    film = client.post("/v1/movies", json=paid_film("Heron"), headers=auth).json()
    by_page = studio.movies.create(  # the Movies page's calls, for bob
        bob,
        MovieDraft(title="Heron", style="cinematic", aspect_ratio="16:9", resolution="720p", target_seconds=16),
    )
    studio.movies.set_storyboard(bob, by_page.id, [ShotDraft(p, d, VEO_MODEL) for p, d in PAID_SHOTS])
    assert film["price_usd"] == "1.6000" == f"{studio.movies.get(bob, by_page.id).price_usd:.4f}"

    started = client.post(f"/v1/movies/{film['id']}/start", headers=auth).json()
    studio.movies.start(bob, by_page.id)
    page_view = studio.movies.get(bob, by_page.id)
    for field in ("price_usd", "committed_usd", "spent_usd", "finalise_usd"):
        assert Decimal(started[field]) == getattr(page_view, field), field
    assert Decimal(started["committed_usd"]) == Decimal("1.60")
    assert [s["price_usd"] for s in started["shots"]] == [f"{s.price_usd:.4f}" for s in page_view.shots]
    budget = client.get("/v1/me", headers=auth).json()["budget"]
    assert Decimal(budget["committed_usd"]) == Decimal("1.60")


def test_a_film_over_budget_is_refused_as_the_generation_routes_refuse(
    client: TestClient, studio: Studio, alice: int, alice_token: str
):
    with studio.engine.begin() as conn:
        conn.execute(update(User).where(User.id == alice).values(monthly_budget_usd=Decimal("1.00")))
    auth = bearer(alice_token)
    film = client.post("/v1/movies", json=paid_film("Too dear"), headers=auth).json()
    refused = problem(client.post(f"/v1/movies/{film['id']}/start", headers=auth), 403, "over-budget")
    assert "$1.60" in refused["detail"]
    assert client.get(f"/v1/movies/{film['id']}", headers=auth).json()["committed_usd"] == "0.0000"


def test_a_refused_storyboard_keeps_nothing_and_names_the_field(client: TestClient, alice_token: str):
    auth = bearer(alice_token)
    bad = {**FILM, "shots": [{**FILM["shots"][0], "duration_seconds": 1}]}
    assert problem(client.post("/v1/movies", json=bad, headers=auth), 422, "validation")["detail"]
    too_long = {**FILM, "title": "x" * 121}
    assert problem(client.post("/v1/movies", json=too_long, headers=auth), 422, "validation")["field"] == "title"
    assert client.get("/v1/movies", headers=auth).json()["items"] == []


def test_another_user_cannot_read_or_change_a_film(client: TestClient, studio: Studio, alice_token: str, bob: int):
    film = client.post("/v1/movies", json=FILM, headers=bearer(alice_token)).json()
    bobs = bearer(make_token(studio, bob))
    shot = film["shots"][0]["id"]
    for method, url in (
        ("GET", f"/v1/movies/{film['id']}"),
        ("GET", f"/v1/movies/{film['id']}/film"),
        ("GET", f"/v1/movies/{film['id']}/stream"),
        ("POST", f"/v1/movies/{film['id']}/start"),
        ("POST", f"/v1/movies/{film['id']}/assemble"),
        ("POST", f"/v1/movies/{film['id']}/shots/{shot}/rerender"),
    ):
        problem(client.request(method, url, headers=bobs), 404, "not-found")
    assert client.get("/v1/movies", headers=bobs).json()["items"] == []
    reader = bearer(make_token(studio, alice_id(studio), "read"))
    problem(client.post(f"/v1/movies/{film['id']}/start", headers=reader), 403, "insufficient-scope")
    assert client.get(f"/v1/movies/{film['id']}", headers=bearer(alice_token)).json()["started_at"] is None


def test_a_drafted_paid_film_is_finalised_shot_by_shot_at_the_pages_prices(
    client: TestClient, studio: Studio, alice: int, bob: int, alice_token: str
):
    auth = bearer(alice_token)
    film = client.post("/v1/movies", json=paid_film("Drafted"), headers=auth).json()
    drafted = client.post(f"/v1/movies/{film['id']}/start", json={"draft": True}, headers=auth).json()
    assert drafted["committed_usd"] == "0.0000" and drafted["finalise_usd"] == "1.6000"
    by_page = studio.movies.create(
        bob,
        MovieDraft(title="Drafted", style="cinematic", aspect_ratio="16:9", resolution="720p", target_seconds=16),
        [ShotDraft(p, d, VEO_MODEL) for p, d in PAID_SHOTS],
    )
    for take in [*take_ids(drafted), *(t.id for t in studio.movies.start(bob, by_page.id, draft=True))]:
        drive(studio, take)  # the free offline drafts
    page_shots = studio.movies.get(bob, by_page.id).shots

    one = client.post(
        f"/v1/movies/{film['id']}/finalise", json={"shot_ids": [drafted["shots"][1]["id"]]}, headers=auth
    ).json()
    studio.movies.finalise(bob, by_page.id, [page_shots[1].id])
    page_view = studio.movies.get(bob, by_page.id)
    assert Decimal(one["committed_usd"]) == page_view.committed_usd == Decimal("0.80")  # the 8 s shot alone
    assert Decimal(one["finalise_usd"]) == page_view.finalise_usd == Decimal("0.80")
    assert [s["final"] for s in one["shots"]] == [s.final for s in page_view.shots] == [False, True, False]

    rest = client.post(f"/v1/movies/{film['id']}/finalise", headers=auth)
    assert "still rendering" in problem(rest, 422, "validation")["detail"]  # as the page says while shot 2 renders
