"""Shared fixtures: no test can reach a real provider, and each test gets its own settings."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from core.config import get_settings


@pytest.fixture(autouse=True)
def _no_real_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clear Google credentials so nothing can call a real (paid) provider."""
    for name in list(os.environ):
        if name.startswith(("GOOGLE_", "GEMINI_")):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
