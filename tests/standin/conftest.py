"""Fixtures of the stand-in's tests: a stand-in with December 2026's defaults, and clients of both surfaces."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from google import genai
from google.genai import types
from google.oauth2.credentials import Credentials

from standin import VeoStandIn
from tests.standin.support import ONE_POST, gemini_client


@pytest.fixture(autouse=True)
def _no_google_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GENAI_USE_ENTERPRISE", "GOOGLE_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[VeoStandIn]:
    with VeoStandIn(gcs_root=tmp_path / "gcs") as server:
        yield server


@pytest.fixture
def client(standin: VeoStandIn) -> Iterator[genai.Client]:
    c = gemini_client(standin)
    yield c
    c.close()


@pytest.fixture
def one_post(standin: VeoStandIn) -> Iterator[genai.Client]:
    """A client whose ``interactions``/``webhooks`` calls send exactly one POST (part 2 §2.7)."""
    c = gemini_client(standin, ONE_POST)
    yield c
    c.close()


@pytest.fixture
def vertex_global(standin: VeoStandIn) -> Iterator[genai.Client]:
    c = genai.Client(
        vertexai=True,
        project="p",
        location="global",
        credentials=Credentials(token="fake-token"),  # a token and no expiry: the SDK never refreshes or asks ADC
        http_options=types.HttpOptions(base_url=standin.url),
    )
    yield c
    c.close()
