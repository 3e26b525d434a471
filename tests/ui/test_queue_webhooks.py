"""AppTest tests of the Queue page's Webhooks section: what an admin sees without webhooks, with a healthy
webhook (state, slower polls, deliveries by outcome) and with one Google switched off."""

from __future__ import annotations

import json

import pytest

from core.db import transaction
from core.models import utcnow
from core.services import webhooks as stored
from core.services.webhooks import Registration, SigningSecret
from core.studio import Studio
from core.webhooks import EVENTS_KEY, STATE_KEY
from tests.ui.support import ADMIN_PASSWORD, UiEnv, log_in, open_page, texts

pytestmark = pytest.mark.ui

QUEUE = "pages/admin_queue.py"


@pytest.fixture
def env(admin_env: UiEnv) -> UiEnv:
    return admin_env


def metric(at, label: str) -> str:  # type: ignore[no-untyped-def]
    values = [m.value for m in at.metric if m.label == label]
    assert values, f"no metric {label!r}; have {[m.label for m in at.metric]}"
    return str(values[0])


def registered(studio: Studio, state: str) -> None:
    registration = Registration(
        "hook-7", "https://studio.example.com/webhooks/google", (SigningSecret("whsec_c2VjcmV0c2VjcmV0"),), utcnow()
    )
    with transaction(studio.sessions) as session:
        stored.save_registration(session=session, vault=studio.webhooks.vault, registration=registration)
    studio.redis.set(STATE_KEY, json.dumps({"state": state, "checked_at": utcnow().isoformat()}))
    studio.webhooks.mark_receiver_alive()
    studio.redis.hset(EVENTS_KEY, mapping={"accepted": 4, "forged": 2, "last:accepted": utcnow().isoformat()})


def test_without_webhooks_the_page_says_polling_alone(env: UiEnv):
    at = open_page(log_in("root", ADMIN_PASSWORD), QUEUE)
    assert not at.exception
    assert "Not registered: finished videos are found by polling alone" in texts(at)
    assert metric(at, "State") == "unregistered" and metric(at, "Polling") == "normal"


def test_a_healthy_webhook_shows_its_state_slower_polls_and_deliveries(env: UiEnv):
    registered(env.studio, "enabled")
    at = open_page(log_in("root", ADMIN_PASSWORD), QUEUE)
    assert not at.exception
    assert metric(at, "State") == "enabled"
    assert metric(at, "Polling") == f"every {env.studio.settings.webhook_safety_poll_seconds:.0f} s"
    assert metric(at, "Receiver") == "running"
    frame = next(df.value for df in at.dataframe if "accepted" in df.value.columns)
    assert frame["accepted"][0] == 4 and frame["forged"][0] == 2 and frame["no_secret"][0] == 0
    shown = texts(at)
    assert "hook-7" in shown and "whsec_c2Vj" not in shown


def test_a_webhook_google_switched_off_is_an_error_on_the_page(env: UiEnv):
    registered(env.studio, "disabled_due_to_failed_deliveries")
    at = open_page(log_in("root", ADMIN_PASSWORD), QUEUE)
    assert not at.exception
    assert any("Google reports the webhook as disabled_due_to_failed_deliveries" in e.value for e in at.error)
    assert metric(at, "Polling") == "normal"
