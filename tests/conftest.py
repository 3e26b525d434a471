"""Shared fixtures: no test can reach a real provider, and each test gets its own settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import Settings, get_settings
from tests.support import ROOT  # noqa: F401  (shared with the suites)


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


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings for a test: data under ``tmp_path``, fast polls, short staleness."""
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "poll_interval_seconds": 0.2,
        "poll_max_interval_seconds": 0.5,
        "stale_after_seconds": 2,
        "reconcile_interval_seconds": 1,
        "job_timeout_seconds": 60,
        "default_max_open_generations": 1000,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]
