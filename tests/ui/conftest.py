"""Fixtures for the AppTest page tests: a fresh data dir, a real Redis db, users, and login helpers.

Each test gets its own SQLite file and media folder under ``tmp_path``, Redis db
14 flushed before and after, and fresh caches (settings and the Studio), so no
state leaks between tests. No worker runs: tests that need a finished video
drive the pipeline steps in-process. ``ui_env`` has the offline renderer only;
``veo_env`` adds Veo through the real google-genai client, pointed at the local
stand-in (one per test session, reset for each test).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis import Redis
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from core.config import get_settings
from core.db import upgrade_database
from core.models import Generation
from core.services.generations import GenerationView
from core.services.users import UserView
from core.studio import Studio, build_studio
from standin import VeoStandIn
from tests.support import offline_form

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the pages import ``pages._ui`` from the repo root
    sys.path.insert(0, str(ROOT))

from pages._ui import state  # noqa: E402

APP = str(ROOT / "streamlit_app.py")
REDIS_URL = "redis://127.0.0.1:6379/14"
PASSWORDS = {"alice": "alice-password-1", "bob": "bob-password-22"}
ADMIN_PASSWORD = "root-password-for-tests"
"""The password of root, the administrator of ``admin_env``."""
STANDIN_KEY = "test-key"

# Settings a test's environment must not inherit (each fixture sets what it needs).
CLEARED_SETTINGS = (
    "DATABASE_URL",
    "VEOGEN_DATABASE_URL",
    "VEOGEN_MEDIA_URL",
    "VEOGEN_ENV",
    "VEOGEN_COOKIE_KEY",
    "VEOGEN_PROVIDER",
    "VEOGEN_GEMINI_API_KEY",
    "VEOGEN_VEO_BASE_URL",
    "VEOGEN_VERTEX_PROJECT",
    "VEOGEN_PROMPT_MODEL",
)


@dataclass
class UiEnv:
    studio: Studio
    data_dir: Path
    alice: UserView
    bob: UserView

    def submit(self, user: UserView, prompt: str, **fields: object) -> GenerationView:
        view, created = self.studio.generations.submit(user.id, offline_form(prompt, **fields))
        assert created
        return view

    def job_seq(self, generation_id: str) -> int:
        with self.studio.sessions() as session:
            row = session.get(Generation, generation_id)
            assert row is not None
            return row.job_seq

    def finish(self, generation_id: str) -> GenerationView:
        """Run the start and poll steps in-process, as a worker would, until the row is final."""
        pipeline = self.studio.pipeline
        pipeline.start(generation_id, self.job_seq(generation_id))
        for _ in range(5):
            view = self.studio.generations.get_generation(self._owner(generation_id), generation_id)
            if view.is_final:
                return view
            pipeline.poll(generation_id, self.job_seq(generation_id))
        raise AssertionError("generation did not finish")

    def _owner(self, generation_id: str) -> int:
        with self.studio.sessions() as session:
            row = session.get(Generation, generation_id)
            assert row is not None
            return row.user_id

    def count(self, user: UserView) -> int:
        return self.studio.generations.list_generations(user.id).total


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


@contextmanager
def studio_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[UiEnv]:
    """A fresh studio under ``tmp_path`` with alice and bob, configured by the environment plus ``env``."""
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    data_dir = tmp_path / "data"
    for name in CLEARED_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VEOGEN_DATA_DIR", str(data_dir))
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    monkeypatch.setenv("VEOGEN_POLL_INTERVAL_SECONDS", "0.1")
    monkeypatch.setenv("VEOGEN_PAGE_SIZE", "3")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    state.get_studio.clear()
    settings = get_settings()
    upgrade_database(settings.resolved_database_url())
    studio = build_studio(settings)
    alice = studio.accounts.add_user("alice", PASSWORDS["alice"], name="Alice")
    bob = studio.accounts.add_user("bob", PASSWORDS["bob"], name="Bob")
    try:
        yield UiEnv(studio=studio, data_dir=data_dir, alice=alice, bob=bob)
    finally:
        cached = state.get_studio()
        cached.engine.dispose()
        state.get_studio.clear()
        studio.engine.dispose()
        get_settings.cache_clear()
        redis.flushdb()
        redis.close()


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
    standin = VeoStandIn(api_key=STANDIN_KEY).start()
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


def new_app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=30)


def log_in(username: str, password: str | None = None) -> AppTest:
    """Start the app and submit the login form; returns the AppTest after the login run."""
    at = new_app().run()
    at.text_input[0].input(username)
    at.text_input[1].input(PASSWORDS.get(username, "") if password is None else password)
    at.button[0].click().run()
    if at.session_state["authentication_status"]:
        # In a browser the cookie component reruns the app once it has stored the cookie;
        # AppTest does not run components, so rerun as the browser would.
        assert "Logged in. Opening your studio…" in [s.value for s in at.success]
        at.run()
    return at


def open_page(at: AppTest, page: str, **query: str) -> AppTest:
    """Switch a logged-in AppTest to a registered page, with query parameters."""
    at.query_params.clear()
    at.query_params.update(query)
    return at.switch_page(page).run()


def button(at: AppTest, label: str, index: int = 0):  # type: ignore[no-untyped-def]
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r}; have {[b.label for b in at.button]}"
    return matches[index]


def unescape(markdown: str) -> str:
    """Undo the pages' Markdown escaping (``\\.`` → ``.``) to compare with plain text."""
    return re.sub(r"\\(.)", r"\1", markdown)


def texts(at: AppTest) -> str:
    """Every visible text of the last run, unescaped and joined, for 'appears / does not appear' checks."""
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "text", "error", "warning", "info", "success"):
        parts.extend(unescape(str(el.value)) for el in at.get(kind))
    for table in at.get("table"):
        parts.append(unescape(table.value.to_string()))
    return "\n".join(parts)
