"""Fixtures for the AppTest page tests: a fresh data dir, a real Redis db, users, and login helpers.

Each test gets its own SQLite file and media folder under ``tmp_path``, Redis db
14 flushed before and after, and fresh caches (settings and the Studio), so no
state leaks between tests. No worker runs: tests that need a finished video
drive the pipeline steps in-process. ``ui_env`` has the offline renderer only;
``veo_env`` adds Veo through the real google-genai client, pointed at the local
stand-in (one per test session, reset for each test); ``omni_env`` has Google's lineup of
December 2026 on the Gemini API (Omni and a text model) through another stand-in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.runtime.pages_manager import PagesManager

from standin import LEGACY_GEMINI_VEO, Behaviour, VeoStandIn
from tests.ui.support import ADMIN_PASSWORD, STANDIN_KEY, UiEnv, studio_env


@pytest.fixture(autouse=True)
def _entry_always_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every AppTest run go through ``streamlit_app.py``, as the live server does.

    AppTest resets ``PagesManager.uses_pages_directory`` before each run, and with a
    ``pages/`` folder beside the entry that flips Streamlit into the old pages-folder
    mode: a rerun on a page would execute ``pages/x.py`` directly and skip the login
    gate. A running server leaves that mode for good at the entry's first
    ``st.navigation`` call, so the tests pin it off.
    """
    original = PagesManager.__init__

    def init(self: PagesManager, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture
def admin_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[UiEnv]:
    """``ui_env`` with an administrator, root (``ADMIN_PASSWORD``); metrics not served."""
    with studio_env(tmp_path, monkeypatch, VEOGEN_WEB_METRICS_PORT="0") as env:
        env.studio.accounts.add_user("root", ADMIN_PASSWORD, role="admin", name="Root")
        yield env


@pytest.fixture
def ui_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[UiEnv]:
    """A studio with the offline renderer only (no Veo key, so no prompt help either)."""
    with studio_env(tmp_path, monkeypatch) as env:
        yield env


@pytest.fixture(scope="session")
def veo_standin() -> Iterator[VeoStandIn]:
    standin = VeoStandIn(api_key=STANDIN_KEY, behaviour=Behaviour(gemini_models=list(LEGACY_GEMINI_VEO))).start()
    try:
        yield standin
    finally:
        standin.stop()


@pytest.fixture
def veo_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, veo_standin: VeoStandIn) -> Iterator[UiEnv]:
    """A studio with Veo (and prompt help) through the local stand-in, besides the offline renderer."""
    veo_standin.reset()
    with studio_env(
        tmp_path, monkeypatch, VEOGEN_GEMINI_API_KEY=STANDIN_KEY, VEOGEN_VEO_BASE_URL=veo_standin.url
    ) as env:
        yield env


@pytest.fixture(scope="session")
def google_today() -> Iterator[VeoStandIn]:
    standin = VeoStandIn(api_key=STANDIN_KEY).start()  # the default lineup: Omni, no Veo, on the Gemini API
    try:
        yield standin
    finally:
        standin.stop()


@pytest.fixture
def omni_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, google_today: VeoStandIn) -> Iterator[UiEnv]:
    """A studio with Google's lineup of December 2026 on the Gemini API (Omni, text model) through the stand-in."""
    google_today.reset()
    with studio_env(
        tmp_path, monkeypatch, VEOGEN_GEMINI_API_KEY=STANDIN_KEY, VEOGEN_VEO_BASE_URL=google_today.url
    ) as env:
        env.studio.accounts.add_user("root", ADMIN_PASSWORD, role="admin", name="Root")
        yield env
