"""API fixtures: the app over an embedded studio (SQLite, fakeredis) offering the offline model and Veo 3.1 Fast."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette 1.x would rather drive its TestClient with httpx2; httpx (which the project already has)
    # still works, and one more client library only for the tests is not worth it yet.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from api.app import create_app
from core.studio import Studio
from standin import VeoStandIn
from tests.api.support import make_token
from tests.support import LISTED_MODELS, embedded_studio
from tests.ui.conftest import _entry_always_runs  # noqa: F401  (AppTest runs go through the login gate)
from tests.ui.support import ADMIN_PASSWORD, UiEnv, studio_env


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[Studio]:
    with embedded_studio(
        tmp_path, listed=LISTED_MODELS, gemini_api_key="unused-key", veo_base_url="http://127.0.0.1:9"
    ) as studio:
        yield studio


@pytest.fixture
def client(studio: Studio) -> Iterator[TestClient]:
    with TestClient(create_app(studio)) as client:
        yield client


@pytest.fixture
def standin() -> Iterator[VeoStandIn]:
    """The local stand-in for Google, which the real google-genai client reaches."""
    with VeoStandIn(api_key="test-key") as server:
        yield server


@pytest.fixture
def on_google(tmp_path: Path, standin: VeoStandIn) -> Iterator[tuple[Studio, TestClient]]:
    """A studio whose Gemini key reaches the stand-in (its text model answers, Omni renders), and the API over it."""
    with (
        embedded_studio(tmp_path, gemini_api_key="test-key", veo_base_url=standin.url) as studio,
        TestClient(create_app(studio)) as client,
    ):
        yield studio, client


@pytest.fixture
def alice(studio: Studio) -> int:
    return studio.accounts.add_user("alice", "correct horse battery").id


@pytest.fixture
def bob(studio: Studio) -> int:
    return studio.accounts.add_user("bob", "another long secret").id


@pytest.fixture
def admin(studio: Studio) -> int:
    return studio.accounts.add_user("root", "a long admin secret", role="admin").id


@pytest.fixture
def alice_token(studio: Studio, alice: int) -> str:
    return make_token(studio, alice)


@pytest.fixture
def page_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[UiEnv]:
    """The page tests' studio (alice and bob, on Redis db 14) with an administrator, root (``ADMIN_PASSWORD``)."""
    with studio_env(tmp_path, monkeypatch, VEOGEN_WEB_METRICS_PORT="0") as env:
        env.studio.accounts.add_user("root", ADMIN_PASSWORD, role="admin", name="Root")
        yield env
