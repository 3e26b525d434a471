"""AppTest tests of the error boundary: an unexpected error never shows a traceback in production.

A page (or a fragment of one) that raises shows a plain message with an incident id, and
the same id is logged with the exception; Streamlit's own error details are turned off
in production. In development the details are shown under the same message.
"""

from __future__ import annotations

import ast
import logging
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from streamlit import config
from streamlit.testing.v1 import AppTest

from core.config import get_settings
from core.generations import Generations
from pages._ui import state
from tests.ui.support import ROOT, UiEnv, log_in, open_page, studio_env, texts

pytestmark = pytest.mark.ui

GALLERY = "pages/gallery.py"
INCIDENT = re.compile(r"incident ([0-9a-f]{12})")
LEAK = "(sqlite3.OperationalError) LIKE or GLOB pattern too complex [SQL: SELECT count(*) FROM generations] /srv/veogen"
"""What the failure carries: SQL, a server path; none of it may reach the page in production."""


@pytest.fixture(autouse=True)
def _error_details_restored() -> Iterator[None]:
    """The entry sets Streamlit's ``client.showErrorDetails`` for the process; give it back after each test."""
    before = config.get_option("client.showErrorDetails")
    yield
    config.set_option("client.showErrorDetails", before)


@pytest.fixture
def prod_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[UiEnv]:
    """A studio configured for production, every secret set."""
    with studio_env(
        tmp_path,
        monkeypatch,
        VEOGEN_ENV="production",
        VEOGEN_COOKIE_KEY=secrets.token_urlsafe(48),
        VEOGEN_SECRET_KEY=Fernet.generate_key().decode(),
        VEOGEN_DASHBOARD_PASSWORD=secrets.token_urlsafe(18),
        VEOGEN_WEB_METRICS_PORT="0",
    ) as env:
        yield env


def break_listing(monkeypatch: pytest.MonkeyPatch, *, from_call: int = 1) -> None:
    """Make ``Generations.list_generations`` raise like a database error, from its ``from_call``-th call on."""
    original = Generations.list_generations
    calls = {"n": 0}

    def failing(self: Generations, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] >= from_call:
            raise RuntimeError(LEAK)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Generations, "list_generations", failing)


def incident_of(shown: str) -> str:
    found = INCIDENT.search(shown)
    assert found, f"no incident id in {shown!r}"
    return found.group(1)


def assert_logged(caplog: pytest.LogCaptureFixture, incident: str) -> None:
    lines = [r for r in caplog.records if incident in r.getMessage()]
    assert lines, "the incident id is not in the log"
    assert all(getattr(r, "incident_id", None) == incident for r in lines)
    assert any(r.exc_info and LEAK in str(r.exc_info[1]) for r in lines), "the exception is not logged with the id"


def test_in_production_a_failing_page_shows_an_incident_id_and_no_traceback(
    prod_env: UiEnv, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    at = log_in("alice")
    break_listing(monkeypatch)
    at = open_page(at, GALLERY)
    assert not at.exception
    shown = texts(at)
    incident = incident_of(shown)
    for leak in ("SELECT", "sqlite", "/srv/veogen", "Traceback", "RuntimeError"):
        assert leak not in shown
    assert config.get_option("client.showErrorDetails") == "none"
    assert_logged(caplog, incident)


def test_in_production_a_failing_fragment_is_caught_by_the_boundary(
    prod_env: UiEnv, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    prod_env.submit(prod_env.alice, "a queued lighthouse")  # in progress: the gallery's grid is a live fragment
    at = log_in("alice")
    break_listing(monkeypatch, from_call=2)  # the page's own listing works; the fragment's fails
    at = open_page(at, GALLERY)
    assert not at.exception
    shown = texts(at)
    assert "SELECT" not in shown and "Traceback" not in shown
    assert "Page 1 of 1 · 1 generation" in shown  # the rest of the page is still drawn
    assert_logged(caplog, incident_of(shown))


def test_in_development_the_details_are_shown_under_the_same_message(
    ui_env: UiEnv, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    at = log_in("alice")
    break_listing(monkeypatch)
    at = open_page(at, GALLERY)
    incident = incident_of(texts(at))
    assert [LEAK in str(e.value) for e in at.exception] == [True]
    assert config.get_option("client.showErrorDetails") != "none"
    assert_logged(caplog, incident)


PAGE_FILES = ["streamlit_app.py", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").rglob("*.py"))]


@pytest.mark.parametrize("path", PAGE_FILES)
def test_fragments_and_dialogs_go_through_the_boundary(path: str) -> None:
    """A fragment's or dialog's error is handled inside it, beyond the page's boundary: wrap each one."""
    if path == "pages/_ui/boundary.py":
        return
    tree = ast.parse((ROOT / path).read_text(), filename=path)
    direct = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in ("fragment", "dialog")
        and isinstance(node.value, ast.Name)
        and node.value.id == "st"
    ]
    assert not direct, f"{path}: st.fragment/st.dialog at lines {direct}; use boundary.fragment/boundary.dialog"


def test_in_production_a_missing_secret_stops_the_web_process_with_a_plain_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The web process refuses to start like the others do: the variable named, no traceback."""
    with studio_env(tmp_path, monkeypatch):
        monkeypatch.setenv("VEOGEN_ENV", "production")
        monkeypatch.setenv("VEOGEN_COOKIE_KEY", secrets.token_urlsafe(48))
        monkeypatch.delenv("VEOGEN_SECRET_KEY", raising=False)
        get_settings.cache_clear()
        state.get_studio.clear()
        at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=30).run()
        shown = texts(at)
        assert "VEOGEN_SECRET_KEY must be set" in shown
        assert "Traceback" not in shown and not at.exception
        assert not at.get("text_input")  # no login form: nothing runs on a refused configuration
        monkeypatch.setenv("VEOGEN_ENV", "development")
        get_settings.cache_clear()
