"""Downloads over the API: the video, thumbnail and poster the pages show, streamed, with Range and ETag."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from api.ranges import Unsatisfiable, byte_range
from core.generations import download_name
from core.studio import Studio
from tests.api.support import bearer, make_token, problem
from tests.support import drive, embedded_studio, offline_form


def finished(studio: Studio, user_id: int, prompt: str = "A kite over a beach") -> str:
    """An offline generation of ``user_id``, rendered to a stored MP4 with its thumbnail and poster."""
    generation_id = studio.generations.submit(user_id, offline_form(prompt))[0].id
    drive(studio, generation_id)
    return generation_id


def test_the_whole_video_is_the_stored_one_named_as_the_page_names_it(
    client: TestClient, studio: Studio, alice: int, alice_token: str, monkeypatch: pytest.MonkeyPatch
):
    made = finished(studio, alice)
    stored = studio.generations.media_bytes(alice, made, 0)  # what the Generation page plays

    def never(key: str) -> bytes:
        raise AssertionError("a local video is streamed from its file, not read whole")

    monkeypatch.setattr(studio.store, "get_bytes", never)
    answer = client.get(f"/v1/generations/{made}/videos/0", headers=bearer(alice_token))
    assert answer.status_code == 200 and answer.content == stored
    video = studio.generations.get_generation(alice, made).videos[0]
    assert answer.headers["content-type"] == "video/mp4"
    assert answer.headers["content-length"] == str(len(stored)) == str(video.size_bytes)
    assert answer.headers["accept-ranges"] == "bytes"
    assert answer.headers["etag"] == f'"{video.sha256}"' == f'"{hashlib.sha256(stored).hexdigest()}"'
    assert answer.headers["content-disposition"] == f'attachment; filename="{download_name(made, 0)}"'
    assert download_name(made, 0) == f"veogen-{made[:8]}-1.mp4"


def test_ranges_first_bytes_a_suffix_an_open_one_and_past_the_end(
    client: TestClient, studio: Studio, alice: int, alice_token: str
):
    made = finished(studio, alice)
    data = studio.generations.media_bytes(alice, made, 0)
    size = len(data)
    url, headers = f"/v1/generations/{made}/videos/0", bearer(alice_token)
    for asked, first, last in (
        ("bytes=0-99", 0, 99),
        ("bytes=-100", size - 100, size - 1),
        ("bytes=100-", 100, size - 1),
        ("bytes=10-999999999", 10, size - 1),  # a last byte past the end is the end
        ("bytes=-999999999", 0, size - 1),
    ):
        part = client.get(url, headers=headers | {"Range": asked})
        assert part.status_code == 206, (asked, part.text)
        assert part.headers["content-range"] == f"bytes {first}-{last}/{size}", asked
        assert part.content == data[first : last + 1] and part.headers["content-length"] == str(last - first + 1)
        assert part.headers["content-type"] == "video/mp4" and part.headers["etag"]
    for asked in (f"bytes={size}-", f"bytes={size + 5}-{size + 10}", "bytes=-0"):
        refused = client.get(url, headers=headers | {"Range": asked})
        assert "bytes long" in problem(refused, 416, "range-not-satisfiable")["detail"], asked
        assert refused.headers["content-range"] == f"bytes */{size}"
    for ignored in ("bytes=0-1,5-6", "items=0-5", "bytes=9-3", "bytes=x-", "bytes=5"):
        whole = client.get(url, headers=headers | {"Range": ignored})
        assert whole.status_code == 200 and whole.content == data, ignored


def test_the_etag_answers_304_and_if_range_sends_the_whole_file_when_it_changed(
    client: TestClient, studio: Studio, alice: int, alice_token: str
):
    made = finished(studio, alice)
    url, headers = f"/v1/generations/{made}/videos/0", bearer(alice_token)
    first = client.get(url, headers=headers)
    etag = first.headers["etag"]
    for held in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        unchanged = client.get(url, headers=headers | {"If-None-Match": held})
        assert unchanged.status_code == 304 and unchanged.content == b"", held
        assert unchanged.headers["etag"] == etag
    assert client.get(url, headers=headers | {"If-None-Match": '"other"'}).status_code == 200
    same = client.get(url, headers=headers | {"Range": "bytes=0-9", "If-Range": etag})
    assert same.status_code == 206 and same.content == first.content[:10]
    changed = client.get(url, headers=headers | {"Range": "bytes=0-9", "If-Range": '"an older one"'})
    assert changed.status_code == 200 and changed.content == first.content


def test_head_answers_the_headers_of_the_get_and_no_body(
    client: TestClient, studio: Studio, alice: int, alice_token: str, monkeypatch: pytest.MonkeyPatch
):
    made = finished(studio, alice)
    url, headers = f"/v1/generations/{made}/videos/0", bearer(alice_token)
    whole = client.get(url, headers=headers)
    monkeypatch.setattr("api.ranges._chunks", lambda *args: pytest.fail("HEAD reads nothing"))
    head = client.head(url, headers=headers)
    assert head.status_code == 200 and head.content == b""
    for name in ("content-length", "content-type", "etag", "accept-ranges", "content-disposition"):
        assert head.headers[name] == whole.headers[name], name
    part = client.head(url, headers=headers | {"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.headers["content-range"] == f"bytes 0-9/{len(whole.content)}"
    assert part.headers["content-length"] == "10" and part.content == b""
    poster = client.head(f"{url}/poster", headers=headers)
    assert poster.status_code == 200 and poster.headers["content-type"] == "image/jpeg"
    assert client.head(f"/v1/generations/{uuid.uuid4().hex}/videos/0", headers=headers).status_code == 404


def test_thumbnail_and_poster_are_the_pages_jpegs(client: TestClient, studio: Studio, alice: int, alice_token: str):
    made = finished(studio, alice)
    sha = studio.generations.get_generation(alice, made).videos[0].sha256
    for picture in ("thumbnail", "poster"):
        stored = studio.generations.media_bytes(alice, made, 0, picture)
        answer = client.get(f"/v1/generations/{made}/videos/0/{picture}", headers=bearer(alice_token))
        assert answer.status_code == 200 and answer.content == stored and stored.startswith(b"\xff\xd8\xff")
        assert answer.headers["content-type"] == "image/jpeg"
        assert answer.headers["etag"] == f'"{sha}-{picture}"'
        assert answer.headers["content-disposition"] == f'inline; filename="veogen-{made[:8]}-1-{picture}.jpg"'
        head = client.get(
            f"/v1/generations/{made}/videos/0/{picture}", headers=bearer(alice_token) | {"Range": "bytes=0-2"}
        )
        assert head.status_code == 206 and head.content == b"\xff\xd8\xff"
    other = client.get(f"/v1/generations/{made}/videos/0/frame", headers=bearer(alice_token))
    assert problem(other, 422, "validation")["field"] == "picture"


def test_another_users_token_downloads_nothing(
    client: TestClient, studio: Studio, alice: int, bob: int, alice_token: str
):
    made = finished(studio, alice)
    bobs = bearer(make_token(studio, bob, "read"))
    for path in ("videos/0", "videos/0/thumbnail", "videos/0/poster"):
        answer = client.get(f"/v1/generations/{made}/{path}", headers=bobs | {"Range": "bytes=0-9"})
        assert problem(answer, 404, "not-found")["detail"] == "No such generation.", path
        assert "etag" not in answer.headers
    missing = client.get(f"/v1/generations/{made}/videos/1", headers=bearer(alice_token))
    assert problem(missing, 404, "not-found")["detail"] == "No such video."
    assert problem(client.get(f"/v1/generations/{made}/videos/0"), 401, "unauthorized")
    reader = bearer(make_token(studio, alice, "read"))
    assert client.get(f"/v1/generations/{made}/videos/0", headers=reader).status_code == 200


def test_a_file_missing_from_storage_says_so_as_the_page_does(
    client: TestClient, studio: Studio, alice: int, alice_token: str
):
    made = finished(studio, alice)
    video = studio.generations.get_generation(alice, made).videos[0]
    studio.store.delete(video.thumbnail_key)
    gone = client.get(f"/v1/generations/{made}/videos/0/thumbnail", headers=bearer(alice_token))
    assert problem(gone, 503, "storage")["detail"] == "This thumbnail is missing from storage."
    assert client.get(f"/v1/generations/{made}/videos/0", headers=bearer(alice_token)).status_code == 200


def test_object_storage_serves_the_same_bytes_and_ranges(tmp_path: Path):
    media_url = f"memory://veogen-{uuid.uuid4().hex}"  # fsspec's in-memory filesystem: not a local path
    with embedded_studio(tmp_path, media_url=media_url) as studio:
        assert not studio.store.is_local
        alice = studio.accounts.add_user("alice", "correct horse battery").id
        made = finished(studio, alice)
        data = studio.generations.media_bytes(alice, made, 0)
        headers = bearer(make_token(studio, alice, "read"))
        with TestClient(create_app(studio)) as client:
            whole = client.get(f"/v1/generations/{made}/videos/0", headers=headers)
            assert whole.status_code == 200 and whole.content == data
            tail = client.get(f"/v1/generations/{made}/videos/0", headers=headers | {"Range": "bytes=-64"})
            assert tail.status_code == 206 and tail.content == data[-64:]
            assert tail.headers["content-range"] == f"bytes {len(data) - 64}-{len(data) - 1}/{len(data)}"


def test_byte_range_reads_one_well_formed_range():
    assert byte_range(None, 10) is None and byte_range("", 10) is None
    assert byte_range("bytes=2-4", 10) == (2, 4) and byte_range(" BYTES = 2 - 4 ", 10) == (2, 4)
    assert byte_range("bytes=-3", 10) == (7, 9) and byte_range("bytes=7-", 10) == (7, 9)
    assert byte_range("bytes=²-3", 10) is None  # digits are ASCII digits only
    for unsatisfiable in ("bytes=10-", "bytes=-0", "bytes=0-"):
        with pytest.raises(Unsatisfiable):
            byte_range(unsatisfiable, 10 if unsatisfiable != "bytes=0-" else 0)
