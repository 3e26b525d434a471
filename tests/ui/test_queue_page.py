"""AppTest tests of the Queue page: admins see the real state and act through the owner's path.
(A creator gets the refusal and none of the data: tests/ui/test_accounts_ui.py, for every admin page.)"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.models import LedgerEntry
from core.status import Status
from tests.ui.support import ADMIN_PASSWORD, UiEnv, button, log_in, open_page, texts

pytestmark = pytest.mark.ui

QUEUE = "pages/admin_queue.py"


@pytest.fixture
def env(admin_env: UiEnv) -> UiEnv:
    return admin_env


def metric(at, label: str) -> str:  # type: ignore[no-untyped-def]
    values = [m.value for m in at.metric if m.label == label]
    assert values, f"no metric {label!r}; have {[m.label for m in at.metric]}"
    return str(values[0])


def test_an_admin_sees_the_queue_and_cancels_for_the_owner(env: UiEnv):
    queued = env.submit(env.alice, "a queued lighthouse")
    failed = env.submit(env.bob, "a failing kite")
    env.studio.pipeline.fail(failed.id, None, "The provider refused the request: bad prompt", code="INVALID_ARGUMENT")
    at = open_page(log_in("root", ADMIN_PASSWORD), QUEUE)
    assert not at.exception
    assert metric(at, "Queued") == "1" and metric(at, "In flight") == "0" and metric(at, "Stuck") == "0"
    assert metric(at, "Workers alive") == "0"
    shown = texts(at)
    assert "No worker is alive" in shown and "No scheduler holds the lead" in shown
    frames = {tuple(df.value.columns): df.value for df in at.dataframe}
    failures = next(v for k, v in frames.items() if "message" in k)
    assert list(failures["generation"]) == [failed.id] and list(failures["code"]) == ["INVALID_ARGUMENT"]
    assert "bad prompt" in failures["message"][0]

    at.selectbox(key="veogen_queue_cancel").select(queued.id)
    button(at, "Cancel it").click().run()
    assert "Canceled; its reservation was released." in texts(at)
    assert env.studio.generations.get_generation(env.alice.id, queued.id).status is Status.CANCELED
    with env.studio.sessions() as s:
        kinds = sorted(s.execute(select(LedgerEntry.kind).where(LedgerEntry.generation_id == queued.id)).scalars())
    assert kinds == ["release", "reserve"]


def test_an_admin_retry_is_a_new_generation_of_the_owner(env: UiEnv):
    failed = env.submit(env.bob, "a failing kite")
    env.studio.pipeline.fail(failed.id, None, "provider down", code="UNAVAILABLE")
    at = open_page(log_in("root", ADMIN_PASSWORD), QUEUE)
    at.selectbox(key="veogen_queue_retry").select(failed.id)
    button(at, "Retry it").click().run()
    assert "for its owner" in texts(at)
    page = env.studio.generations.list_generations(env.bob.id)
    retry = next(g for g in page.items if g.id != failed.id)
    assert retry.status is Status.QUEUED and retry.remix_of_id == failed.id and retry.prompt == "a failing kite"
    at.selectbox(key="veogen_queue_retry").select(failed.id)
    button(at, "Retry it").click().run()
    assert "Already retried" in texts(at)
    assert env.studio.generations.list_generations(env.bob.id).total == 2
