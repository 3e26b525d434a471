"""AppTest of the Analytics page: an admin sees the history's real figures in charts, tables and CSV files;
a creator (or a role forged in the session) gets the refusal and none of the data."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from core.status import Status
from pages._ui import state
from pages._ui.guards import ADMIN_ONLY
from tests.ui.support import ROOT, UiEnv, log_in, open_page, studio_env, texts
from tests.unit.test_analytics import FAST, FULL, Past, write_history

pytestmark = pytest.mark.ui

PAGE = "pages/admin_analytics.py"
ADMIN_PASSWORD = "root-password-for-tests"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[UiEnv]:
    with studio_env(tmp_path, monkeypatch) as env:
        env.studio.accounts.add_user("root", ADMIN_PASSWORD, role="admin", name="Root")
        yield env


@pytest.fixture
def csv_files(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """The files the page hands to the browser's download buttons, by file name (a spy; they are still served)."""
    files: dict[str, bytes] = {}
    original = MediaFileManager.add

    def add(
        self: MediaFileManager,
        path_or_data: Any,
        mimetype: str,
        coordinates: str,
        file_name: str | None = None,
        is_for_static_download: bool = False,
    ) -> str:
        if file_name and isinstance(path_or_data, bytes):
            files[file_name] = path_or_data
        return original(self, path_or_data, mimetype, coordinates, file_name, is_for_static_download)

    monkeypatch.setattr(MediaFileManager, "add", add)
    return files


YESTERDAY = (datetime.now(UTC) - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
"""The history's day, inside the default range (the last 30 days)."""


def recent_history(env: UiEnv) -> None:
    """Four generations yesterday: 3 ended, 2 settled (alice $0.80, bob $2.40), 1 canceled."""
    alice, bob = env.alice.id, env.bob.id
    write_history(
        env.studio,
        [
            Past(alice, FAST, Status.SUCCEEDED, YESTERDAY + timedelta(hours=9), 2, 40, price="0.80", cost="0.80"),
            Past(bob, FULL, Status.SUCCEEDED, YESTERDAY + timedelta(hours=10), 10, 120, price="3.20", cost="2.40"),
            Past(bob, FAST, Status.FILTERED, YESTERDAY + timedelta(hours=11), 3, 30),
            Past(alice, FAST, Status.CANCELED, YESTERDAY + timedelta(hours=12)),
        ],
    )


def figures(at: AppTest) -> dict[str, dict[str, Any]]:
    """The page's Plotly figures by title, as the JSON the browser gets."""
    found = {}
    for element in at.get("plotly_chart"):
        spec = json.loads(element.proto.spec)
        found[spec["layout"]["title"]["text"]] = spec
    return found


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_an_admin_sees_the_real_figures_and_can_download_them(env: UiEnv, csv_files: dict[str, bytes]) -> None:
    recent_history(env)
    at = open_page(log_in("root", ADMIN_PASSWORD), PAGE)
    month = YESTERDAY.strftime("%Y-%m")
    at.selectbox(key="analytics_period").select(month).run()
    assert not at.exception and not at.error
    assert [t.value for t in at.title] == ["Analytics"]
    assert metrics(at) == {
        "Generations": "4",
        "Succeeded": "66.7%",
        "Safety-filtered": "33.3%",
        "Failed": "0.0%",
        "Settled": "$3.20",
    }
    shown = figures(at)
    assert list(shown) == [
        "Generations per day, by status",
        "Time in queue (seconds)",
        "Time at the provider (seconds)",
        "Spend per day, by model (USD)",
        "Spend per user (USD)",
        "Committed spend against budget (USD)",
    ]
    day = YESTERDAY.date().isoformat()
    per_status = {t["name"]: (t["x"], t["y"]) for t in shown["Generations per day, by status"]["data"]}
    assert per_status == {
        "Done": ([day], [2]),
        "Blocked by the safety filter": ([day], [1]),
        "Canceled": ([day], [1]),
    }
    queue = {t["name"]: dict(zip(t["x"], t["y"], strict=True)) for t in shown["Time in queue (seconds)"]["data"]}
    assert queue["p50"]["Veo 3.1"] == pytest.approx(10, rel=0.02)
    assert queue["p50"]["Veo 3.1 Fast"] == pytest.approx(2.5, rel=0.02)
    per_user = shown["Spend per user (USD)"]["data"][0]
    assert (per_user["y"], per_user["x"]) == (["bob", "alice"], [2.4, 0.8])
    burn = {t["name"]: t["y"] for t in shown["Committed spend against budget (USD)"]["data"]}
    assert burn["alice"][-1] == 0.8 and burn["bob"][-1] == 2.4 and burn["alice budget"] == [50.0, 50.0]

    buttons = [b for b in at.get("download_button")]
    assert len(buttons) == 7 and {b.label for b in buttons} == {"Download CSV"}
    by_name = {name.split("-20")[0]: pd.read_csv(io.BytesIO(data)) for name, data in csv_files.items()}
    assert set(by_name) == {
        "veogen-generations-per-day",
        "veogen-rates-by-model",
        "veogen-times-by-model",
        "veogen-spend-per-user",
        "veogen-spend-per-day",
        "veogen-budgets",
        "veogen-burn-down",
    }
    assert by_name["veogen-generations-per-day"]["generations"].sum() == 4
    rates = by_name["veogen-rates-by-model"].set_index("model")
    assert rates.loc["all models", "success_rate_pct"] == 66.7 and rates.loc[FAST, "canceled"] == 1
    users = by_name["veogen-spend-per-user"]
    assert dict(zip(users["user"], users["spend_usd"], strict=True)) == {"bob": 2.4, "alice": 0.8}
    times = by_name["veogen-times-by-model"]
    assert set(zip(times["model"], times["stage"], times["generations"], strict=True)) == {
        (FAST, "queue", 2),
        (FAST, "provider", 2),
        (FULL, "queue", 1),
        (FULL, "provider", 1),
    }
    budgets = by_name["veogen-budgets"].set_index("user")
    assert list(budgets.index) == ["alice", "bob", "root"]
    assert budgets.loc["bob", "committed_usd"] == 2.4 and budgets.loc["bob", "remaining_usd"] == 47.6
    assert budgets.loc["alice", "budget_usd"] == 50 and bool(budgets.loc["alice", "default_budget"])
    assert budgets.loc["bob", "used_pct"] == 4.8


def test_the_page_says_plainly_when_the_history_is_empty(env: UiEnv) -> None:
    at = open_page(log_in("root", ADMIN_PASSWORD), PAGE)
    assert not at.exception
    assert "Nothing happened from" in texts(at)
    assert "Nobody committed any spend in" in texts(at)
    assert not at.get("plotly_chart") and not at.metric
    frame = next(df.value for df in at.dataframe)
    assert sorted(frame["user"]) == ["alice", "bob", "root"] and set(frame["committed_usd"]) == {0.0}


def test_a_range_ending_before_it_starts_is_refused(env: UiEnv) -> None:
    at = open_page(log_in("root", ADMIN_PASSWORD), PAGE)
    today = datetime.now(UTC).date()
    at.date_input(key="analytics_dates").set_value((today, today - timedelta(days=3))).run()
    assert [e.value for e in at.error] == ["The start date is after the end date\\."]


def run_page_as(user: state.CurrentUser) -> AppTest:
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=30)
    at.session_state["authentication_status"] = True
    at.session_state[state.CURRENT_USER] = user
    return at.run()


@pytest.mark.parametrize("role", ["creator", "admin"])  # "admin": a role forged in the session, not in the database
def test_a_creator_gets_the_refusal_and_no_data(env: UiEnv, role: str) -> None:
    recent_history(env)
    alice = env.alice
    at = run_page_as(state.CurrentUser(id=alice.id, username="alice", role=role, name="Alice"))
    assert [e.value for e in at.error] == [ADMIN_ONLY]
    assert not at.get("plotly_chart") and not at.metric and not at.dataframe and not at.get("download_button")
    assert "bob" not in texts(at) and "Generations" not in texts(at)
