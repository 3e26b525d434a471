"""Outgoing webhooks on PostgreSQL + Redis with a worker and the scheduler as real processes: a generation that
ends in a worker is announced to a loopback receiver, a 503 is retried after its backoff by the scheduler's
delayed job, and a delivery whose job Redis lost is found by the scheduler's sweep and delivered."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from core.config import Settings
from core.models import WebhookDelivery
from core.studio import Studio
from tests.support import REDIS_URL, Processes, make_settings, offline_form, wait_until
from tests.unit.test_outgoing_webhooks import serving

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(tmp_path: Path, pg_url: str) -> Settings:
    """The integration settings, with private targets allowed (the receiver is on loopback)."""
    return make_settings(tmp_path, database_url=pg_url, redis_url=REDIS_URL, outgoing_webhooks_allow_private=True)


def delivery_rows(studio: Studio) -> list[WebhookDelivery]:
    with studio.sessions() as s:
        return list(s.execute(select(WebhookDelivery).order_by(WebhookDelivery.id)).scalars())


def test_an_end_in_a_worker_is_delivered_and_a_503_retried_after_its_backoff(studio: Studio, processes: Processes):
    with serving() as receiver:
        receiver.answers = [503]
        user = studio.accounts.add_user("carol", "correct horse battery").id
        _, secret = studio.outgoing.create(user, receiver.url)
        processes.worker()
        processes.scheduler()
        view, _ = studio.generations.submit(user, offline_form())
        assert wait_until(lambda: len(receiver.received) >= 2, timeout=90), delivery_rows(studio)
        assert wait_until(lambda: delivery_rows(studio)[0].status == "delivered", timeout=10)
    (row,) = delivery_rows(studio)
    assert row.attempts == 2 and row.last_status_code == 204 and row.event_type == "generation.succeeded"
    assert [h["webhook-id"] for h, _ in receiver.received] == [row.event_id] * 2
    for headers, body in receiver.received:
        assert Webhook(secret).verify(body, headers)["data"]["id"] == view.id


def test_a_delivery_whose_job_was_lost_is_swept_up(studio: Studio, processes: Processes):
    with serving() as receiver:
        user = studio.accounts.add_user("carol", "correct horse battery").id
        studio.outgoing.create(user, receiver.url)
        view, _ = studio.generations.submit(user, offline_form())
        studio.generations.cancel(user, view.id)  # ends here, in this process: its delivery is queued
        assert [r.status for r in delivery_rows(studio)] == ["pending"]
        studio.redis.flushdb()  # and Redis loses the job
        processes.worker()
        processes.scheduler()
        assert wait_until(lambda: len(receiver.received) == 1, timeout=90), delivery_rows(studio)
    assert wait_until(lambda: delivery_rows(studio)[0].status == "delivered", timeout=10)
    assert delivery_rows(studio)[0].event_type == "generation.canceled"
