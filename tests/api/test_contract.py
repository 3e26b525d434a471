"""The API against its own OpenAPI document, with Schemathesis (issue 13, point 9).

Every operation of ``create_app(studio)`` is called with requests generated from the document
(valid and invalid ones, a few per operation, the same ones each run: ``derandomize``) and each
answer must: not be a 5xx, have a documented status code and content type, and match the schema
documented for that status. The studio is embedded (SQLite, fakeredis) and offers only the
offline model, with no Google credential and no worker: nothing generated here can cost money.
A creator's token (read and generate) calls everything outside ``/v1/admin``; an administrator's
token (read, generate and admin) calls ``/v1/admin``. The creator owns a generation, a film and a
webhook endpoint, and every other call that names one of those kinds by id names the real one, so
answers about existing things are checked as well as the 404s for made-up ids.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from api.app import create_app
from core.studio import Studio
from tests.api.support import bearer, body_of, make_token
from tests.support import embedded_studio, offline_form

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# A handful of generated requests per operation and phase keeps the run near half a minute on two cores.
CONTRACT = settings(
    max_examples=5,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# Left out: the live streams (GET …/stream). An open stream answers only when its generation or film
# ends, and in this studio no worker ever ends one, so a call that hit an existing id would hang; a
# stream's events are checked in tests/api/test_stream.py. Downloads stay in: for ids that do not
# exist (all but a few) their 404 problem is checked like any other answer.
STREAMS = r"/stream$"
ADMIN = r"^/v1/admin/"


class _ThisTestsApp:
    """An ASGI app passing each call to the app over the running test's studio.

    Schemathesis reads the document when the tests are collected, before any studio exists (its
    lazy ``schemathesis.pytest.from_fixture`` would wait for a fixture, but 4.32 sets
    ``Node._nodeid``, which pytest 9.2 no longer has). The document does not depend on the studio,
    so it is read from an app over a placeholder, and each test serves its calls from
    ``create_app`` over its own fresh studio.
    """

    def __init__(self) -> None:
        self.app: FastAPI | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "only a contract test's fixture sets the app"
        await self.app(scope, receive, send)


APP = _ThisTestsApp()
schema = schemathesis.openapi.from_dict(create_app(cast(Studio, None)).openapi())
schema.app = APP


@pytest.fixture
def contract_studio(tmp_path: Path) -> Iterator[Studio]:
    """An embedded studio with the offline renderer only (no Google credential, no worker), served to the calls.

    Its rate limits are out of reach, so every generated request gets past them to its route; the 429s
    themselves are checked in tests/api/test_rate_limits.py.
    """
    with embedded_studio(
        tmp_path,
        api_reads_per_minute=1_000_000,
        api_submits_per_minute=1_000_000,
        outgoing_webhooks_allow_private=True,  # the seeded endpoint is on loopback; nothing is delivered here
    ) as studio:
        APP.app = create_app(studio)
        try:
            yield studio
        finally:
            APP.app = None


@pytest.fixture
def creator(contract_studio: Studio) -> int:
    return contract_studio.accounts.add_user("carol", "a long creator secret").id


@pytest.fixture
def creator_headers(contract_studio: Studio, creator: int) -> dict[str, str]:
    return bearer(make_token(contract_studio, creator, "read", "generate"))


@pytest.fixture
def admin_headers(contract_studio: Studio) -> dict[str, str]:
    user = contract_studio.accounts.add_user("root", "a long admin secret", role="admin").id
    return bearer(make_token(contract_studio, user, "read", "generate", "admin"))


@pytest.fixture
def creators_things(creator_headers: dict[str, str], creator: int) -> dict[str, Any]:
    """The ids of what the creator owns, by the path parameter that names them (made through the API)."""
    assert APP.app is not None
    client = TestClient(APP.app)
    shot = {"prompt": "red dunes at dawn", "duration_seconds": 2, "model": "offline-preview"}
    film = {"title": "Contract", "style": "artistic", "target_seconds": 10, "shots": [shot]}
    made = {
        "generation_id": client.post("/v1/generations", json=body_of(offline_form()), headers=creator_headers),
        "movie_id": client.post("/v1/movies", json=film, headers=creator_headers),
        "endpoint_id": client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=creator_headers),
    }
    for name, answer in made.items():
        assert answer.status_code == 201, (name, answer.text)
    return {name: answer.json()["id"] for name, answer in made.items()} | {"user_id": creator}


TURNS = itertools.count()


def naming_real_things(case: schemathesis.Case, things: dict[str, Any]) -> schemathesis.Case:
    """Every other case that has an id of a kind in ``things`` gets the real one (the same ones each run)."""
    known = {name: value for name, value in things.items() if name in (case.path_parameters or {})}
    if known and next(TURNS) % 2 == 0:
        case.path_parameters = {**(case.path_parameters or {}), **known}
    return case


@schema.exclude(path_regex=STREAMS).exclude(path_regex=ADMIN).parametrize()
@CONTRACT
def test_creator_routes_keep_their_contract(
    case: schemathesis.Case, creator_headers: dict[str, str], creators_things: dict[str, Any]
) -> None:
    naming_real_things(case, creators_things).call_and_validate(headers=creator_headers, checks=CHECKS)


@schema.include(path_regex=ADMIN).parametrize()
@CONTRACT
def test_admin_routes_keep_their_contract(
    case: schemathesis.Case, admin_headers: dict[str, str], creators_things: dict[str, Any]
) -> None:
    naming_real_things(case, creators_things).call_and_validate(headers=admin_headers, checks=CHECKS)
