"""Helpers of the AppTest page tests: the studio a test runs against, and how a test logs in and reads a page.

Fixtures live in ``conftest.py``; tests import these helpers from here.
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
from streamlit.testing.v1 import AppTest

from core.config import get_settings
from core.db import upgrade_database
from core.models import Generation
from core.services.generations import GenerationView
from core.services.users import UserView
from core.studio import Studio, build_studio
from pages._ui import state
from tests.support import offline_form

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the pages import ``pages._ui`` from the repo root
    sys.path.insert(0, str(ROOT))


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
