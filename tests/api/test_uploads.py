"""Image modes, extend and edit over the API: the rows, inputs and messages of the Create page."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select
from starlette.testclient import TestClient

from api import problems
from api.app import create_app
from core.models import GenerationInput
from core.services.generations import UploadedImage
from core.studio import Studio
from pages._ui.create_form import check_upload
from standin import VeoStandIn
from tests.api.support import bearer, body_of, make_token, problem
from tests.api.test_generations import row_and_ledger
from tests.support import drive, embedded_studio, veo_form


def png(width: int = 320, height: int = 180, *, noise: bool = True) -> bytes:
    """A PNG; with ``noise`` it does not compress, so it is larger than the API's 64 KiB JSON limit."""
    pixels = os.urandom(width * height * 3) if noise else bytes(width * height * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), pixels).save(out, "PNG")
    return out.getvalue()


def inputs_of(studio: Studio, generation_id: str) -> list[tuple[Any, ...]]:
    with studio.sessions() as s:
        rows = s.execute(
            select(
                GenerationInput.index,
                GenerationInput.role,
                GenerationInput.mime_type,
                GenerationInput.width,
                GenerationInput.height,
                GenerationInput.sha256,
            )
            .where(GenerationInput.generation_id == generation_id)
            .order_by(GenerationInput.index)
        ).all()
    return [tuple(row) for row in rows]


def multipart(body: dict[str, Any], *images: tuple[str, str, bytes]) -> dict[str, Any]:
    """``client.post`` arguments for a multipart request: the JSON ``request`` part and (role, name, data) images."""
    files: list[tuple[str, tuple[str | None, bytes, str]]] = [
        ("request", (None, json.dumps(body).encode(), "application/json"))
    ]
    files += [(role, (name, data, "application/octet-stream")) for role, name, data in images]
    return {"files": files}


def test_image_to_video_over_multipart_makes_the_pages_row_and_inputs(
    client: TestClient, studio: Studio, alice: int, bob: int, alice_token: str
):
    first, last = png(), png(noise=False)
    assert len(first) > problems.MAX_BODY_BYTES  # only a multipart upload may be this large
    cases = (
        (veo_form("The kite lifts off", mode="image"), [("first_frame", "kite.png", first)]),
        (
            veo_form("From dawn to dusk", mode="frames"),
            [("first_frame", "a.png", first), ("last_frame", "b.png", last)],
        ),
        (
            veo_form("The same kite, the same girl", mode="reference", duration_seconds=8),
            [("reference", "kite.png", first), ("reference", "girl.png", last)],
        ),
    )
    for form, images in cases:
        answer = client.post("/v1/generations", **multipart(body_of(form), *images), headers=bearer(alice_token))
        assert answer.status_code == 201, answer.text
        made = answer.json()
        page_form = replace(form, images=tuple(UploadedImage(role=r, name=n, data=d) for r, n, d in images))
        by_page, created = studio.generations.submit(bob, page_form)  # the Create page's call
        assert created
        assert row_and_ledger(studio, made["id"]) == row_and_ledger(studio, by_page.id)
        assert inputs_of(studio, made["id"]) == inputs_of(studio, by_page.id)
        assert [row[1] for row in inputs_of(studio, made["id"])] == [role for role, _n, _d in images]
        assert studio.generations.get_generation(alice, made["id"]).input_roles == [r for r, _n, _d in images]
        assert studio.generations.input_bytes(alice, made["id"], 0) == studio.generations.input_bytes(
            bob, by_page.id, 0
        )


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("animation.gif", b"GIF89a" + bytes(200)),
        ("notes.png", b"just some words, not pixels"),
        ("tiny.png", None),  # 16 x 16 pixels: too small
        ("empty.png", b""),
    ],
)
def test_a_bad_image_gets_the_pages_message_and_nothing_is_made(
    client: TestClient, studio: Studio, alice: int, alice_token: str, name: str, data: bytes | None
):
    data = png(16, 16) if data is None else data
    body = body_of(veo_form("The kite lifts off", mode="image"))
    answer = client.post("/v1/generations", **multipart(body, ("first_frame", name, data)), headers=bearer(alice_token))
    found = problem(answer, 422, "validation")
    on_page = check_upload(data, name=name, role="first_frame")  # what the Create page shows under its uploader
    assert isinstance(on_page, str) and found["detail"] == on_page and found["field"] == "first_frame"
    assert studio.generations.list_generations(alice).total == 0


def test_a_multipart_request_is_read_like_a_json_one(client: TestClient, studio: Studio, alice: int, alice_token: str):
    headers = bearer(alice_token)
    text = client.post("/v1/generations", **multipart(body_of(veo_form("Just words"))), headers=headers)
    assert text.status_code == 201 and text.json()["mode"] == "text"
    missing = client.post("/v1/generations", files=[("first_frame", ("a.png", png(), "image/png"))], headers=headers)
    assert "named 'request'" in problem(missing, 422, "validation")["detail"]
    stray = client.post(
        "/v1/generations", **multipart(body_of(veo_form(mode="image")), ("image", "a.png", png())), headers=headers
    )
    assert problem(stray, 422, "validation")["field"] == "image"
    invalid = client.post("/v1/generations", **multipart({"model": "offline-preview", "prompt": 5}), headers=headers)
    assert problem(invalid, 422, "validation")["field"] == "prompt"
    no_image = client.post("/v1/generations", json=body_of(veo_form(mode="image")), headers=headers)
    assert problem(no_image, 422, "validation")["detail"] == "Upload a first-frame image."
    assert studio.generations.list_generations(alice).total == 1


def test_only_an_upload_route_takes_a_body_over_64_kib_and_up_to_its_own_limit(
    client: TestClient, studio: Studio, alice: int, alice_token: str, monkeypatch: pytest.MonkeyPatch
):
    headers = bearer(alice_token)
    made = client.post("/v1/generations", json=body_of(veo_form()), headers=headers).json()["id"]
    elsewhere = client.post(
        f"/v1/generations/{made}/cancel", **multipart({}, ("first_frame", "a.png", png())), headers=headers
    )
    assert "64 KiB" in problem(elsewhere, 413, None)["detail"]
    monkeypatch.setattr(problems, "MAX_UPLOAD_BODY_BYTES", 2 * 1024 * 1024)
    big = png(1200, 800)  # about 2.7 MiB of noise
    over = client.post(
        "/v1/generations",
        **multipart(body_of(veo_form(mode="image")), ("first_frame", "big.png", big)),
        headers=headers,
    )
    assert "2 MiB" in problem(over, 413, None)["detail"]
    assert studio.generations.list_generations(alice).total == 1
    assert (
        problems.too_large(problems.MAX_UPLOAD_BODY_BYTES) == "The request body is larger than 2 MiB; nothing was read."
    )


def test_the_openapi_document_offers_json_and_multipart_bodies(client: TestClient):
    operation = client.get("/openapi.json").json()["paths"]["/v1/generations"]["post"]
    content = operation["requestBody"]["content"]
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/GenerationIn"}
    form = content["multipart/form-data"]
    assert form["schema"]["properties"]["request"] == {"$ref": "#/components/schemas/GenerationIn"}
    assert {"first_frame", "last_frame", "reference"} <= set(form["schema"]["properties"])


@pytest.fixture
def omni(tmp_path: Path) -> Iterator[tuple[Studio, TestClient, int]]:
    with (
        VeoStandIn(api_key="test-key") as standin,
        embedded_studio(tmp_path, gemini_api_key="test-key", veo_base_url=standin.url) as studio,
        TestClient(create_app(studio)) as client,
    ):
        yield studio, client, studio.accounts.add_user("alice", "correct horse battery").id


def test_extend_and_edit_name_the_video_and_keep_the_pages_rules(omni: tuple[Studio, TestClient, int]):
    studio, client, alice = omni
    headers = bearer(make_token(studio, alice))
    base = {"model": "gemini-omni-1.1-flash", "resolution": "720p"}
    source = client.post(
        "/v1/generations", json=base | {"prompt": "A paper boat", "duration_seconds": 8}, headers=headers
    )
    drive(studio, source.json()["id"])
    extend = base | {"mode": "extend", "prompt": "it reaches a river", "extend_of_id": source.json()["id"]}
    longer = client.post("/v1/generations", json=extend | {"duration_seconds": 6}, headers=headers)
    assert longer.status_code == 201, longer.text
    assert (longer.json()["mode"], longer.json()["extend_of_id"]) == ("extend", source.json()["id"])
    edit = extend | {"mode": "edit", "prompt": "make it dusk", "duration_seconds": 4}
    refused = client.post("/v1/generations", json=edit, headers=headers)
    assert problem(refused, 422, "validation")["detail"] == "An edit keeps the video's length: 8 s."
    others = bearer(make_token(studio, studio.accounts.add_user("bob", "another long secret").id))
    theirs = client.post("/v1/generations", json=extend | {"duration_seconds": 6}, headers=others)
    assert problem(theirs, 404, "not-found")["detail"] == "No such generation."


def test_a_body_the_framework_cannot_read_is_answered_in_plain_words(client: TestClient, alice_token: str):
    headers = bearer(alice_token)
    broken = client.post(
        "/v1/generations", content=b'{"model": "offline', headers={**headers, "content-type": "application/json"}
    )
    body = problem(broken, 422, "validation")
    assert (body["field"], body["detail"]) == ("body", "body: The request body is not valid JSON.")
    text_reference = client.post(
        "/v1/generations",
        data={"request": json.dumps(body_of(veo_form(mode="reference"))), "reference": "not a file"},
        files=[("first_frame", ("a.png", png(), "image/png"))],
        headers=headers,
    )
    detail = problem(text_reference, 400, None)["detail"]
    assert detail.startswith("A multipart request has one text part, named request (the JSON); images go in")
