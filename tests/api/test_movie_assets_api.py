"""``/v1/movies`` assets over HTTP, each equal to what the Movies page's call gives: a storyboard proposed from a
script (by the text model through the stand-in, by sentences without a key, with a note when the text model
fails) and put into a film; a character whose reference images go with the shot that names it; a start image a
shot starts from; the soundtrack set and cleared. Refusals carry the page's sentences; another user's film is
404; a multipart body over its route's limit is 413, and only these routes take more than 64 KiB."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from api import problems
from api.app import create_app
from api.schemas_movie_assets import MAX_SCRIPT_READ_CHARS
from core.errors import NotFoundError, StorageError, ValidationError
from core.models import CharacterImage, Generation, LedgerEntry, Movie, MovieImage
from core.movies import MAX_SCRIPT_CHARS, SENTENCE_SPLIT
from core.services import film as film_service
from core.services.generations import UploadedImage
from core.services.storyboard import MovieDraft, ShotDraft
from core.studio import Studio
from standin import VeoStandIn
from tests.api.support import bearer, make_token, problem
from tests.api.test_uploads import multipart, png
from tests.support import drive, embedded_studio, wav

OFFLINE = "offline-preview"
OMNI = "gemini-omni-1.1-flash"
SCRIPT = "A boat leaves the harbour. Gulls follow it!  The sun sets behind the old stone lighthouse on the cliff."
PROPOSALS = "/v1/movies/storyboard-proposals"


@pytest.fixture
def keyless(tmp_path: Path) -> Iterator[tuple[Studio, TestClient]]:
    """A studio without any Google credential: no text model, the offline renderer only."""
    with embedded_studio(tmp_path) as studio, TestClient(create_app(studio)) as client:
        yield studio, client


def users(studio: Studio) -> tuple[int, int]:
    """Alice (calls the API) and Bob (whose film gets the page's call, to compare with)."""
    return (
        studio.accounts.add_user("alice", "correct horse battery").id,
        studio.accounts.add_user("bob", "another long secret").id,
    )


def new_film(client: TestClient, headers: dict[str, str], model: str = OFFLINE, seconds: int = 2) -> str:
    body = {
        "title": "Harbour",
        "style": "cinematic",
        "resolution": "720p" if model != OFFLINE else "360p",
        "target_seconds": 30,
        "shots": [{"prompt": "a quiet harbour", "duration_seconds": seconds, "model": model}],
    }
    made = client.post("/v1/movies", json=body, headers=headers)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def page_film(studio: Studio, user: int, model: str = OFFLINE, seconds: int = 2) -> str:
    """The same film made by the Movies page's calls."""
    draft = MovieDraft(
        title="Harbour",
        style="cinematic",
        aspect_ratio="16:9",
        resolution="720p" if model != OFFLINE else "360p",
        target_seconds=30,
    )
    return studio.movies.create(user, draft, [ShotDraft("a quiet harbour", seconds, model)]).id


def shot_json(shot: ShotDraft) -> dict[str, Any]:
    return asdict(shot) | {"characters": list(shot.characters)}


def page_refusal(call: Any, *args: Any, **kwargs: Any) -> ValidationError:
    """The ValidationError the page's ``call(*args, **kwargs)`` raises (its sentence is what the page shows)."""
    with pytest.raises(ValidationError) as refused:
        call(*args, **kwargs)
    return refused.value


def assert_refused_like_the_page(answer: Any, expected: ValidationError) -> None:
    body = problem(answer, 422, "validation")
    assert (body["detail"], body["field"]) == (str(expected), expected.field)


def nothing_paid(studio: Studio) -> bool:
    with studio.sessions() as s:
        return all(s.execute(select(func.count()).select_from(m)).scalar_one() == 0 for m in (Generation, LedgerEntry))


# --- a storyboard proposed from a script -------------------------------------------------------------


def test_the_text_model_proposes_the_pages_storyboard_which_is_put_into_a_film(
    on_google: tuple[Studio, TestClient], standin: VeoStandIn
):
    studio, client = on_google
    alice, _ = users(studio)
    headers = bearer(make_token(studio, alice))
    answer = client.post(PROPOSALS, json={"script": SCRIPT, "model": OMNI, "duration_seconds": 5}, headers=headers)
    assert answer.status_code == 200, answer.text
    board = studio.movies.propose_storyboard(SCRIPT, model=OMNI, duration_seconds=5)  # the page's call
    assert board.source == studio.settings.prompt_model and board.note is None
    assert answer.json() == {
        "shots": [shot_json(s) for s in board.shots],
        "source": board.source,
        "note": None,
        "unavailable": None,
    }
    assert standin.stats().posts.get("generateContent", 0) == 2  # one request each, never retried
    assert nothing_paid(studio)

    movie_id = new_film(client, headers, OMNI, 4)
    put = client.put(f"/v1/movies/{movie_id}/storyboard", json={"shots": answer.json()["shots"]}, headers=headers)
    assert put.status_code == 200, put.text
    assert [(s["prompt"], s["duration_seconds"], s["model"]) for s in put.json()["shots"]] == [
        (s.prompt, s.duration_seconds, s.model) for s in board.shots
    ]
    assert nothing_paid(studio)


def test_without_a_text_model_the_script_is_split_by_sentences_and_the_page_says_why(
    keyless: tuple[Studio, TestClient],
):
    studio, client = keyless
    alice, _ = users(studio)
    headers = bearer(make_token(studio, alice))
    answer = client.post(PROPOSALS, json={"script": SCRIPT, "model": OFFLINE, "duration_seconds": 2}, headers=headers)
    board = studio.movies.propose_storyboard(SCRIPT, model=OFFLINE, duration_seconds=2)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "shots": [shot_json(s) for s in board.shots],
        "source": SENTENCE_SPLIT,
        "note": None,
        "unavailable": studio.movies.storyboard_help(),
    }
    assert "Gemini API key" in answer.json()["unavailable"]
    # The longest script core takes, in an alphabet JSON escapes (6 bytes a character): well over 64 KiB of body.
    script = ("船が港を出る。 " * MAX_SCRIPT_CHARS)[:MAX_SCRIPT_CHARS]
    body = json.dumps({"script": script, "model": OFFLINE, "duration_seconds": 2}).encode()
    assert len(body) > problems.MAX_BODY_BYTES
    long = client.post(PROPOSALS, content=body, headers={**headers, "content-type": "application/json"})
    assert long.status_code == 200, long.text
    page = studio.movies.propose_storyboard(script, model=OFFLINE, duration_seconds=2)
    assert long.json()["shots"] == [shot_json(s) for s in page.shots]


def test_a_failing_text_model_gives_the_pages_split_with_its_note(client: TestClient, studio: Studio, alice: int):
    # The conftest studio's Gemini key points at a closed port: the text model fails, the page's fallback answers.
    headers = bearer(make_token(studio, alice))
    answer = client.post(PROPOSALS, json={"script": SCRIPT, "model": OMNI, "duration_seconds": 5}, headers=headers)
    board = studio.movies.propose_storyboard(SCRIPT, model=OMNI, duration_seconds=5)
    assert answer.status_code == 200, answer.text
    assert board.note is not None and "could not propose shots" in board.note
    assert answer.json() == {
        "shots": [shot_json(s) for s in board.shots],
        "source": SENTENCE_SPLIT,
        "note": board.note,
        "unavailable": None,
    }


def test_a_script_the_page_refuses_is_refused_with_its_sentence(keyless: tuple[Studio, TestClient]):
    studio, client = keyless
    alice, _ = users(studio)
    headers = bearer(make_token(studio, alice))
    too_long = "A cat naps. " * 2000
    assert MAX_SCRIPT_CHARS < len(too_long.strip()) <= MAX_SCRIPT_READ_CHARS
    for script, model in ((too_long, OFFLINE), ("  \n ", OFFLINE), (SCRIPT, "no-such-model")):
        answer = client.post(PROPOSALS, json={"script": script, "model": model, "duration_seconds": 2}, headers=headers)
        expected = page_refusal(studio.movies.propose_storyboard, script, model=model, duration_seconds=2)
        assert_refused_like_the_page(answer, expected)
    over = client.post(
        PROPOSALS,
        json={"script": "a" * (MAX_SCRIPT_READ_CHARS + 1), "model": OFFLINE, "duration_seconds": 2},
        headers=headers,
    )
    assert problem(over, 422, "validation")["field"] == "script"
    huge = {"script": "船" * MAX_SCRIPT_READ_CHARS, "model": OFFLINE, "duration_seconds": 2}
    body = json.dumps(huge).encode() + b" " * problems.MAX_SCRIPT_BODY_BYTES
    refused = client.post(PROPOSALS, content=body, headers={**headers, "content-type": "application/json"})
    assert "320 KiB" in problem(refused, 413, None)["detail"]
    reader = bearer(make_token(studio, alice, "read"))
    scoped = client.post(PROPOSALS, json={"script": SCRIPT, "model": OFFLINE, "duration_seconds": 2}, headers=reader)
    assert problem(scoped, 403, "insufficient-scope")


# --- characters ----------------------------------------------------------------------------------------


def character_images(studio: Studio, character_id: str) -> list[tuple[Any, ...]]:
    """Each stored reference image: its index, type, size, checksum and bytes."""
    with studio.sessions() as s:
        rows = s.execute(
            select(CharacterImage).where(CharacterImage.character_id == character_id).order_by(CharacterImage.index)
        ).scalars()
        found = [(r.index, r.mime_type, r.width, r.height, r.sha256, r.storage_key) for r in rows]
    return [(*row[:5], studio.store.get_bytes(row[5])) for row in found]


def test_a_characters_images_are_stored_as_the_page_stores_them_and_go_with_the_shot_that_names_it(
    on_google: tuple[Studio, TestClient], standin: VeoStandIn
):
    studio, client = on_google
    alice, bob = users(studio)
    headers = bearer(make_token(studio, alice))
    movie_id = new_film(client, headers, OMNI, 4)
    gold, navy = png(), png(noise=False)
    assert len(gold) > problems.MAX_BODY_BYTES  # only a multipart upload may be this large
    about = {"name": "Ada", "description": "a sailor in a yellow coat"}
    added = client.post(
        f"/v1/movies/{movie_id}/characters",
        **multipart(about, ("reference", "a.png", gold), ("reference", "b.png", navy)),
        headers=headers,
    )
    assert added.status_code == 201, added.text
    (ada,) = added.json()["characters"]
    assert (ada["name"], ada["description"], ada["images"]) == ("Ada", "a sailor in a yellow coat", 2)
    page = studio.movies.add_character(  # the page's call, with the images its uploader gives
        bob,
        page_film(studio, bob, OMNI, 4),
        "Ada",
        "a sailor in a yellow coat",
        (UploadedImage("reference", "a.png", gold), UploadedImage("reference", "b.png", navy)),
    )
    assert character_images(studio, ada["id"]) == character_images(studio, page.characters[0].id)
    assert client.get(f"/v1/movies/{movie_id}", headers=headers).json()["characters"] == [ada]

    shots = [
        {"prompt": "Ada waves from the deck", "duration_seconds": 4, "model": OMNI, "characters": [ada["id"]]},
        {"prompt": "the open sea", "duration_seconds": 4, "model": OMNI},
    ]
    assert client.put(f"/v1/movies/{movie_id}/storyboard", json={"shots": shots}, headers=headers).status_code == 200
    started = client.post(f"/v1/movies/{movie_id}/start", headers=headers)
    assert started.status_code == 200, started.text
    takes = [shot["takes"][0] for shot in started.json()["shots"]]
    assert [t["mode"] for t in takes] == ["reference", "text"]
    for take in takes:
        drive(studio, take["id"])
    with_ada, sea = standin.jobs()
    assert [i["type"] for i in with_ada["inputs"]].count("image") == 2
    assert with_ada["prompt"].startswith("<IMAGE_REF_0> <IMAGE_REF_1> Ada waves from the deck")
    assert not any(i["type"] == "image" for i in sea["inputs"])


def test_a_character_the_page_refuses_is_refused_with_its_sentence_and_nothing_is_stored(
    client: TestClient, studio: Studio, alice: int, bob: int
):
    headers = bearer(make_token(studio, alice))
    movie_id = new_film(client, headers)
    url = f"/v1/movies/{movie_id}/characters"
    mine = page_film(studio, alice)
    gif = b"GIF89a" + bytes(200)
    cases: list[tuple[str, list[tuple[str, str, bytes]]]] = [
        ("Ada", [("reference", f"{n}.png", png(noise=False)) for n in range(4)]),  # one too many
        ("Ada", [("reference", "ada.gif", gif)]),  # not a picture the page takes
        ("Ada", [("reference", "tiny.png", png(16, 16))]),
        ("Ada", []),  # none
        ("  ", [("reference", "a.png", png(noise=False))]),  # no name
    ]
    for name, images in cases:
        answer = client.post(url, **multipart({"name": name}, *images), headers=headers)
        pictures = tuple(UploadedImage(role, n, data) for role, n, data in images)
        expected = page_refusal(studio.movies.add_character, alice, mine, name, "", pictures)
        assert_refused_like_the_page(answer, expected)
    assert client.post(url, json={"name": "Ada"}, headers=headers).json()["detail"] == (
        "Give a character 1 to 3 reference images, not 0."
    )
    first = client.post(url, **multipart({"name": "Ada"}, ("reference", "a.png", png(noise=False))), headers=headers)
    assert first.status_code == 201, first.text
    again = client.post(url, **multipart({"name": "ada"}, ("reference", "b.png", png(noise=False))), headers=headers)
    assert problem(again, 422, "validation")["detail"] == "This film already has a character called Ada."
    stray = client.post(url, **multipart({"name": "Bo"}, ("first_frame", "a.png", png(noise=False))), headers=headers)
    assert problem(stray, 422, "validation")["field"] == "first_frame"
    others = bearer(make_token(studio, bob))
    theirs = client.post(url, **multipart({"name": "Bo"}, ("reference", "a.png", png(noise=False))), headers=others)
    with pytest.raises(NotFoundError) as on_page:
        studio.movies.add_character(bob, movie_id, "Bo", "", (UploadedImage("reference", "a.png", png()),))
    assert problem(theirs, 404, "not-found")["detail"] == str(on_page.value)
    assert [c.name for c in studio.movies.get(alice, movie_id).characters] == ["Ada"]


# --- start images --------------------------------------------------------------------------------------


def start_image_of(studio: Studio, image_id: str) -> tuple[Any, ...]:
    with studio.sessions() as s:
        row = s.get(MovieImage, image_id)
        assert row is not None
        found = (row.name, row.mime_type, row.width, row.height, row.sha256, row.storage_key)
    return (*found[:5], studio.store.get_bytes(found[5]))


def test_a_start_image_is_stored_as_the_page_stores_it_and_a_shot_starts_from_it(
    on_google: tuple[Studio, TestClient], standin: VeoStandIn
):
    studio, client = on_google
    alice, bob = users(studio)
    headers = bearer(make_token(studio, alice))
    movie_id = new_film(client, headers, OMNI, 4)
    picture = png()
    added = client.post(
        f"/v1/movies/{movie_id}/start-images",
        **multipart({"name": "sunrise"}, ("first_frame", "s.png", picture)),
        headers=headers,
    )
    assert added.status_code == 201, added.text
    (sunrise,) = added.json()["start_images"]
    assert {k: sunrise[k] for k in ("name", "width", "height")} == {"name": "sunrise", "width": 320, "height": 180}
    page = studio.movies.add_start_image(
        bob, page_film(studio, bob, OMNI, 4), "sunrise", UploadedImage("first_frame", "s.png", picture)
    )
    assert start_image_of(studio, sunrise["id"]) == start_image_of(studio, page.start_images[0].id)

    # Attaching it to a shot and matching colours are the storyboard's own fields (PUT …/storyboard).
    shots = [
        {"prompt": "the sun rises", "duration_seconds": 4, "model": OMNI, "start_image_id": sunrise["id"]},
        {
            "prompt": "again",
            "duration_seconds": 4,
            "model": OMNI,
            "start_image_id": sunrise["id"],
            "match_colours": True,
        },
    ]
    put = client.put(f"/v1/movies/{movie_id}/storyboard", json={"shots": shots}, headers=headers)
    assert put.status_code == 200, put.text
    assert [(s["start_image_id"], s["match_colours"]) for s in put.json()["shots"]] == [
        (sunrise["id"], False),
        (sunrise["id"], True),
    ]
    started = client.post(f"/v1/movies/{movie_id}/start", headers=headers)
    assert started.status_code == 200, started.text
    first = started.json()["shots"][0]["takes"][0]
    assert first["mode"] == "image"
    drive(studio, first["id"])
    (job,) = standin.jobs()
    assert [i["type"] for i in job["inputs"]].count("image") == 1


def test_a_start_image_the_page_refuses_is_refused_with_its_sentence(
    client: TestClient, studio: Studio, alice: int, bob: int
):
    headers = bearer(make_token(studio, alice))
    movie_id = new_film(client, headers)
    url = f"/v1/movies/{movie_id}/start-images"
    mine = page_film(studio, alice)
    for name, picture in (("sketch", b"GIF89a" * 20), ("sketch", png(16, 16)), ("", png(noise=False))):
        answer = client.post(url, **multipart({"name": name}, ("first_frame", "s.gif", picture)), headers=headers)
        image = UploadedImage("first_frame", "s.gif", picture)
        expected = page_refusal(studio.movies.add_start_image, alice, mine, name, image)
        assert_refused_like_the_page(answer, expected)
    two = multipart({"name": "a"}, ("first_frame", "a.png", png(noise=False)), ("first_frame", "b.png", png()))
    assert problem(client.post(url, **two, headers=headers), 422, "validation")["field"] == "first_frame"
    assert problem(client.post(url, json={"name": "a"}, headers=headers), 422, "validation")["field"] == "first_frame"
    reference = multipart({"name": "a"}, ("reference", "a.png", png(noise=False)))
    assert problem(client.post(url, **reference, headers=headers), 422, "validation")["field"] == "reference"
    theirs = client.post(
        url,
        **multipart({"name": "a"}, ("first_frame", "a.png", png(noise=False))),
        headers=bearer(make_token(studio, bob)),
    )
    problem(theirs, 404, "not-found")
    assert studio.movies.get(alice, movie_id).start_images == []


# --- the soundtrack ------------------------------------------------------------------------------------


def soundtrack_of(studio: Studio, movie_id: str) -> tuple[Any, ...]:
    with studio.sessions() as s:
        movie = s.get(Movie, movie_id)
        assert movie is not None
        found = (movie.soundtrack_key, movie.soundtrack_name, movie.soundtrack_mode, movie.soundtrack_level)
    return found


def music(name: str, data: bytes, **fields: str) -> dict[str, Any]:
    """``client.put`` arguments for a soundtrack form: the file and how it sounds."""
    return {"files": {"soundtrack": (name, data, "application/octet-stream")}, "data": fields}


def test_a_soundtrack_is_set_and_cleared_as_the_page_does_it(client: TestClient, studio: Studio, alice: int, bob: int):
    headers = bearer(make_token(studio, alice))
    movie_id = new_film(client, headers)
    url = f"/v1/movies/{movie_id}/soundtrack"
    tone = wav(1)
    assert len(tone) > problems.MAX_BODY_BYTES
    answer = client.put(url, **music("tone.wav", tone, mode="replace", level="0.8"), headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["soundtrack"] == {"name": "tone.wav", "mode": "replace", "level": 0.8}
    assert answer.json()["soundtrack_name"] == "tone.wav"
    theirs = page_film(studio, bob)
    studio.movies.set_soundtrack(bob, theirs, "tone.wav", tone, "replace", 0.8)  # the page's call
    key, *rest = soundtrack_of(studio, movie_id)
    page_key, *page_rest = soundtrack_of(studio, theirs)
    assert rest == page_rest and key.rsplit(".", 1)[1] == page_key.rsplit(".", 1)[1] == "wav"
    assert studio.store.get_bytes(key) == tone == studio.store.get_bytes(page_key)
    default = client.put(url, **music("tone.wav", tone), headers=headers)
    assert default.json()["soundtrack"] == {"name": "tone.wav", "mode": "mix", "level": 0.5}  # the page's defaults

    cleared = client.delete(url, headers=headers)
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["soundtrack"], cleared.json()["soundtrack_name"]) == (None, None)
    studio.movies.clear_soundtrack(bob, theirs)
    assert soundtrack_of(studio, movie_id)[:2] == soundtrack_of(studio, theirs)[:2] == (None, None)
    with pytest.raises(StorageError):
        studio.store.get_bytes(key)


def test_a_soundtrack_the_page_refuses_is_refused_with_its_sentence_and_nothing_changes(
    client: TestClient, studio: Studio, alice: int, bob: int, monkeypatch: pytest.MonkeyPatch
):
    headers = bearer(make_token(studio, alice))
    movie_id = new_film(client, headers)
    url = f"/v1/movies/{movie_id}/soundtrack"
    assert client.put(url, **music("tone.wav", wav(1)), headers=headers).status_code == 200
    before = soundtrack_of(studio, movie_id)
    mine = page_film(studio, alice)
    monkeypatch.setattr(film_service, "MAX_SOUNDTRACK_BYTES", 2**20)  # the page's limit, made small to reach
    cases = (
        ("notes.txt", b"just some words, not music", "mix", 0.5),
        ("song.gif", b"GIF89a" + bytes(64), "mix", 0.5),
        ("long.wav", wav(25), "mix", 0.5),  # about 2.1 MiB: over the (patched) limit
        ("empty.wav", b"", "mix", 0.5),
        ("tone.wav", wav(1), "louder", 0.5),
        ("tone.wav", wav(1), "mix", 1.5),
    )
    for name, data, mode, level in cases:
        answer = client.put(url, **music(name, data, mode=mode, level=str(level)), headers=headers)
        expected = page_refusal(studio.movies.set_soundtrack, alice, mine, name, data, mode, level)
        assert_refused_like_the_page(answer, expected)
    long = client.put(url, **music("long.wav", wav(25)), headers=headers)
    assert problem(long, 422, "validation")["detail"] == "long.wav is 2.2 MiB; a soundtrack is at most 1 MiB."
    others = bearer(make_token(studio, bob))
    problem(client.put(url, **music("tone.wav", wav(1)), headers=others), 404, "not-found")
    problem(client.delete(url, headers=others), 404, "not-found")
    assert soundtrack_of(studio, movie_id) == before


# --- body sizes ----------------------------------------------------------------------------------------


def test_a_multipart_body_over_its_routes_limit_is_413_and_only_these_routes_take_more_than_64_kib(
    client: TestClient, studio: Studio, alice: int, monkeypatch: pytest.MonkeyPatch
):
    headers = bearer(make_token(studio, alice))
    movie_id = new_film(client, headers)
    monkeypatch.setattr(problems, "MAX_UPLOAD_BODY_BYTES", 2 * 1024 * 1024)
    monkeypatch.setattr(problems, "MAX_SOUNDTRACK_BODY_BYTES", 1024 * 1024)
    big = png(1200, 800)  # about 2.7 MiB of noise
    for route, role in (("characters", "reference"), ("start-images", "first_frame")):
        over = client.post(
            f"/v1/movies/{movie_id}/{route}", **multipart({"name": "Ada"}, (role, "big.png", big)), headers=headers
        )
        assert "2 MiB" in problem(over, 413, None)["detail"], route
    loud = client.put(f"/v1/movies/{movie_id}/soundtrack", **music("long.wav", wav(15)), headers=headers)
    assert "1 MiB" in problem(loud, 413, None)["detail"]
    as_json = client.put(
        f"/v1/movies/{movie_id}/soundtrack",
        content=json.dumps({"soundtrack": "x" * problems.MAX_BODY_BYTES}).encode(),
        headers={**headers, "content-type": "application/json"},
    )
    assert "64 KiB" in problem(as_json, 413, None)["detail"]  # only multipart music may be larger
    elsewhere = client.post(
        f"/v1/movies/{movie_id}/assemble", **multipart({}, ("reference", "a.png", png())), headers=headers
    )
    assert "64 KiB" in problem(elsewhere, 413, None)["detail"]
    film = studio.movies.get(alice, movie_id)
    assert (film.characters, film.start_images, film.soundtrack_name) == ([], [], None)


def test_the_openapi_document_offers_the_multipart_bodies(client: TestClient):
    paths = client.get("/openapi.json").json()["paths"]
    for path, schema, part in (
        ("/v1/movies/{movie_id}/characters", "CharacterIn", "reference"),
        ("/v1/movies/{movie_id}/start-images", "StartImageIn", "first_frame"),
    ):
        content = paths[path]["post"]["requestBody"]["content"]
        assert content["application/json"]["schema"] == {"$ref": f"#/components/schemas/{schema}"}
        form = content["multipart/form-data"]["schema"]
        assert form["properties"]["request"] == {"$ref": f"#/components/schemas/{schema}"}
        assert part in form["properties"]
    assert "multipart/form-data" in paths["/v1/movies/{movie_id}/soundtrack"]["put"]["requestBody"]["content"]
