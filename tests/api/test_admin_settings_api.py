"""``/v1/admin`` for the Settings page: the team's Google credentials, written and shown by their last four only,
refused with the page's sentences, and each credential's model list, read again from Google (the stand-in) on
request — each the Settings page's own call. Tokens without the ``admin`` scope are refused and change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from core.errors import ValidationError
from core.studio import Studio
from standin import VeoStandIn
from tests.api.support import bearer, make_token, problem
from tests.support import embedded_studio

VERTEX_PROJECT = "veogen-render-farm-7431"
"""A Vertex project id to store (long enough for its last four to be shown)."""


@pytest.fixture
def root_token(studio: Studio, admin: int) -> str:
    return make_token(studio, admin, "read", "generate", "admin")


def views_of(studio: Studio, admin: int) -> list[dict[str, Any]]:
    """The credentials as the Settings page reads them."""
    return [{"name": v.name, "is_set": v.is_set, "last4": v.last4} for v in studio.accounts.team_credentials(admin)]


def test_the_settings_pages_calls_need_the_admin_scope(
    client: TestClient, studio: Studio, admin: int, alice_token: str
):
    before = views_of(studio, admin)
    for token in (alice_token, make_token(studio, admin, "read", "generate")):
        auth = bearer(token)
        for answer in (
            client.get("/v1/admin/credentials", headers=auth),
            client.put("/v1/admin/credentials/vertex_project", json={"value": VERTEX_PROJECT}, headers=auth),
            client.delete("/v1/admin/credentials/vertex_project", headers=auth),
            client.get("/v1/admin/models", headers=auth),
            client.post("/v1/admin/models/refresh", headers=auth),
        ):
            assert "'admin' scope" in problem(answer, 403, "insufficient-scope")["detail"]
    assert views_of(studio, admin) == before
    assert not any(kind == "credentials" for _, _, kind, _ in studio.accounts.events(admin))


def test_a_credential_is_written_and_read_back_by_its_last_four_only(
    client: TestClient, studio: Studio, admin: int, root_token: str
):
    auth = bearer(root_token)
    listed = client.get("/v1/admin/credentials", headers=auth)
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"] == views_of(studio, admin)
    assert [c["is_set"] for c in listed.json()["items"]] == [False, False, False]

    saved = client.put("/v1/admin/credentials/vertex_project", json={"value": f"  {VERTEX_PROJECT} "}, headers=auth)
    assert saved.status_code == 200, saved.text
    assert saved.json() == {"name": "vertex_project", "is_set": True, "last4": VERTEX_PROJECT[-4:]}
    short = client.put("/v1/admin/credentials/vertex_location", json={"value": "eu"}, headers=auth).json()
    assert short == {"name": "vertex_location", "is_set": True, "last4": ""}  # too short to show any of it
    reread = client.get("/v1/admin/credentials", headers=auth)
    assert reread.json()["items"] == views_of(studio, admin)
    assert [(c["name"], c["is_set"], c["last4"]) for c in reread.json()["items"]] == [
        ("gemini_api_key", False, ""),
        ("vertex_project", True, VERTEX_PROJECT[-4:]),
        ("vertex_location", True, ""),
    ]
    for url in ("/v1/admin/credentials", "/v1/admin/events", "/v1/admin/users", f"/v1/admin/users/{admin}"):
        read = client.get(url, headers=auth)
        assert read.status_code == 200 and VERTEX_PROJECT not in read.text and VERTEX_PROJECT[:-4] not in read.text
    assert VERTEX_PROJECT not in saved.text

    removed = client.delete("/v1/admin/credentials/vertex_location", headers=auth)
    assert removed.json() == {"name": "vertex_location", "is_set": False, "last4": ""}
    assert views_of(studio, admin)[2] == removed.json()
    events = [(who, detail) for _, who, kind, detail in studio.accounts.events(admin) if kind == "credentials"]
    assert events == [
        ("root", "vertex_location removed"),
        ("root", "vertex_location set"),
        ("root", "vertex_project set"),
    ]
    assert [e["detail"] for e in client.get("/v1/admin/events", headers=auth).json()["items"][:3]] == [
        detail for _, detail in events
    ]


def test_a_refused_credential_gets_the_settings_pages_sentence_and_nothing_is_stored(
    client: TestClient, studio: Studio, admin: int, root_token: str
):
    auth = bearer(root_token)
    before, refusals = views_of(studio, admin), []
    for name, value in (
        ("api_key", VERTEX_PROJECT),  # an unknown credential
        ("vertex_project", "x" * 300),  # over the page's limit
        ("vertex_project", "veogen\u200bproject"),  # an invisible character pasted along
    ):
        with pytest.raises(ValidationError) as by_page:
            studio.accounts.set_team_credential(admin, name, value)  # the Settings page's call
        answer = client.put(f"/v1/admin/credentials/{name}", json={"value": value}, headers=auth)
        assert problem(answer, 422, "validation")["detail"] == str(by_page.value)
        refusals.append(str(by_page.value))
    assert refusals[0] == "Unknown credential." and "300 characters long" in refusals[1]
    unknown = client.delete("/v1/admin/credentials/api_key", headers=auth)
    assert problem(unknown, 422, "validation")["field"] == "name"

    huge = client.put("/v1/admin/credentials/vertex_project", json={"value": "x" * 5000}, headers=auth)
    assert problem(huge, 422, "validation")["field"] == "value"  # refused before core reads it
    empty = client.put("/v1/admin/credentials/vertex_project", json={"value": ""}, headers=auth)
    assert problem(empty, 422, "validation")["field"] == "value"  # removing is DELETE, never an empty save
    spaces = client.put("/v1/admin/credentials/vertex_project", json={"value": "   "}, headers=auth)
    assert "send DELETE" in problem(spaces, 422, "validation")["detail"]  # nor spaces, which core would strip
    assert views_of(studio, admin) == before


@pytest.fixture
def google(tmp_path: Path) -> Iterator[tuple[VeoStandIn, Studio, TestClient]]:
    """A studio whose team Gemini key reaches the stand-in, whose model list is read from it (never cached first)."""
    with (
        VeoStandIn(api_key="test-key") as standin,
        embedded_studio(tmp_path, gemini_api_key="test-key", veo_base_url=standin.url) as studio,
        TestClient(create_app(studio)) as client,
    ):
        yield standin, studio, client


def listings_of(studio: Studio, admin: int) -> list[dict[str, Any]]:
    """The model lists as the Settings page reads them, in the API's shape."""
    return [
        {
            "credential": m.credential,
            "surface_label": m.surface_label,
            "offered": m.offered,
            "read_at": m.read_at.isoformat().replace("+00:00", "Z") if m.read_at else None,
            "error": m.error,
        }
        for m in studio.generations.model_lists(admin)
    ]


def test_model_lists_are_the_settings_pages_and_are_read_again_on_request(
    google: tuple[VeoStandIn, Studio, TestClient],
):
    standin, studio, client = google
    admin = studio.accounts.add_user("root", "a long admin secret", role="admin").id
    auth = bearer(make_token(studio, admin, "read", "generate", "admin"))

    first = client.get("/v1/admin/models", headers=auth)
    assert first.status_code == 200, first.text
    assert first.json()["items"] == listings_of(studio, admin)
    (listing,) = first.json()["items"]
    assert listing["offered"] and listing["error"] == "" and listing["read_at"]

    standin.configure(gemini_models=[])  # Google stops listing them
    assert client.get("/v1/admin/models", headers=auth).json() == first.json()  # the shared list, until re-read
    refreshed = client.post("/v1/admin/models/refresh", headers=auth)
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["read"] == 1
    assert refreshed.json()["items"] == listings_of(studio, admin)
    assert refreshed.json()["items"][0]["offered"] == []
    assert refreshed.json()["items"][0]["read_at"] >= listing["read_at"]
    assert "test-key" not in first.text + refreshed.text


def test_without_a_google_credential_there_is_no_model_list(tmp_path: Path):
    with embedded_studio(tmp_path) as studio, TestClient(create_app(studio)) as client:
        admin = studio.accounts.add_user("root", "a long admin secret", role="admin").id
        auth = bearer(make_token(studio, admin, "read", "generate", "admin"))
        assert studio.generations.model_lists(admin) == []
        assert client.get("/v1/admin/models", headers=auth).json() == {"items": []}
        assert client.post("/v1/admin/models/refresh", headers=auth).json() == {"read": 0, "items": []}
