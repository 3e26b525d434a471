"""The WebhookService (part 2 §1.2) through ``client.webhooks.*``, and the signed deliveries the stand-in sends
to a tiny local receiver when jobs finish, without anybody polling (§1.4–1.6, §1.9)."""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.request

import pytest
from google.genai import types
from google.genai._gaos.lib import compat_errors

from standin import LEGACY_GEMINI_VEO, Behaviour, VeoStandIn, send_delivery, sign
from tests.standin.support import gemini_client, receiving, verify

OMNI = "gemini-omni-1.1-flash"
SECRET = re.compile(r"whsec_[A-Za-z0-9+/]{32}")


def subscribe(c, url: str, *events: str, name: str | None = None):
    return c.webhooks.create(subscribed_events=list(events or ["interaction.completed"]), uri=url, name=name)


def test_the_spec_test_vector_signs_as_standard_webhooks_says():
    body = b'{"test": 2432232314}'
    signature = sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


# --- the service -------------------------------------------------------------------------


def test_create_shows_the_secret_once(client):
    hook = subscribe(client, "https://example.com/hook", "video.generated", name="veogen")
    assert SECRET.fullmatch(hook.new_signing_secret) and len(base64.b64decode(hook.new_signing_secret[6:])) == 24
    assert re.fullmatch(r"[a-z0-9]{36}", hook.id) and (hook.state, hook.name) == ("enabled", "veogen")
    (shown,) = hook.signing_secrets
    assert shown.truncated_secret == "whsec_..." + hook.new_signing_secret[-4:] and shown.expire_time is None
    assert client.webhooks.get(id=hook.id).new_signing_secret is None
    assert client.webhooks.list().webhooks[0].new_signing_secret is None


def test_list_pages_update_and_delete(client):
    ids = [subscribe(client, f"https://example.com/{n}").id for n in range(3)]
    first = client.webhooks.list(page_size=2)
    assert [w.id for w in first.webhooks] == ids[:2] and first.next_page_token
    rest = client.webhooks.list(page_size=2, page_token=first.next_page_token)
    assert [w.id for w in rest.webhooks] == ids[2:] and rest.next_page_token is None

    updated = client.webhooks.update(ids[0], state="disabled", name="paused", update_mask="state")
    assert (updated.state, updated.name) == ("disabled", None)  # only the masked field changes
    updated = client.webhooks.update(ids[0], name="renamed", subscribed_events=["interaction.failed"])
    assert (updated.name, updated.subscribed_events) == ("renamed", ["interaction.failed"])
    with pytest.raises(compat_errors.BadRequestError, match="enabled or disabled"):
        client.webhooks.update(ids[0], state="disabled_due_to_failed_deliveries")
    with pytest.raises(compat_errors.BadRequestError, match="https"):
        client.webhooks.update(ids[0], uri="ftp://example.com/x")

    client.webhooks.delete(id=ids[0])
    with pytest.raises(compat_errors.NotFoundError):
        client.webhooks.get(id=ids[0])


def test_create_refuses_bad_events_and_plain_http(one_post, standin):
    with pytest.raises(compat_errors.BadRequestError, match=r"video\.made"):
        subscribe(one_post, "https://example.com/h", "video.made")
    with pytest.raises(compat_errors.BadRequestError, match="https"):
        subscribe(one_post, "http://example.com/h")
    express = standin.url + "/v1beta1/webhooks"  # Vertex has no WebhookService
    request = urllib.request.Request(express, data=b"{}", method="POST", headers={"x-goog-api-key": "test-key"})
    with pytest.raises(urllib.error.HTTPError) as got:
        urllib.request.urlopen(request, timeout=5)
    assert got.value.code == 404
    got.value.close()


def test_rotation_keeps_the_old_secret_24_hours_or_revokes_it_at_once(client):
    hook = subscribe(client, "https://example.com/h")
    rotated = client.webhooks.rotate_signing_secret(hook.id, revocation_behavior="revoke_previous_secrets_after_h24")
    assert SECRET.fullmatch(rotated.secret) and rotated.secret != hook.new_signing_secret
    new, old = client.webhooks.get(id=hook.id).signing_secrets
    assert new.truncated_secret.endswith(rotated.secret[-4:]) and new.expire_time is None
    assert old.expire_time.timestamp() == pytest.approx(time.time() + 24 * 3600, abs=60)

    client.webhooks.rotate_signing_secret(hook.id, revocation_behavior="revoke_previous_secrets_immediately")
    assert len(client.webhooks.get(id=hook.id).signing_secrets) == 1
    with pytest.raises(Exception, match="revoke_previous_secrets"):  # the docs' upper-case value fails in the SDK
        client.webhooks.rotate_signing_secret(hook.id, revocation_behavior="REVOKE_PREVIOUS_SECRETS_AFTER_H24")


# --- deliveries ----------------------------------------------------------------------------


def test_a_finished_interaction_is_delivered_signed_without_polling(client, standin):
    standin.configure(latency_seconds=0.2)
    with receiving() as receiver:
        hook = subscribe(client, receiver.url, "interaction.completed", "interaction.failed")
        done = client.interactions.create(model=OMNI, input="a kite", background=True)
        failed = client.interactions.create(model=OMNI, input="[[rai]] a kite", background=True)
        first, second = receiver.wait(2)
    events = {verify([hook.new_signing_secret], d.headers, d.body)["type"]: d.json() for d in (first, second)}
    assert events["interaction.completed"]["data"] == {"id": done.id}
    assert events["interaction.completed"]["version"] == "v1"
    failure = events["interaction.failed"]["data"]
    assert failure["id"] == failed.id and failure["error_message"].endswith("Support codes: 58061214")
    assert failure["error_code"].startswith("https://")
    assert standin.stats().interaction_gets == 0
    finished = standin.finished_at(done.id)
    assert finished is not None and finished <= min(first.received, second.received)
    assert {(d["event_type"], d["result"], d["status"]) for d in standin.deliveries()} == {
        ("interaction.completed", "delivered", 204),
        ("interaction.failed", "delivered", 204),
    }


def test_a_veo_operation_fires_video_generated_with_its_file():
    with VeoStandIn(behaviour=Behaviour(gemini_models=list(LEGACY_GEMINI_VEO), latency_seconds=0.1)) as server:
        c = gemini_client(server)
        with receiving() as receiver:
            hook = subscribe(c, receiver.url, "video.generated")
            op = c.models.generate_videos(
                model="veo-3.1-fast-generate-preview", source=types.GenerateVideosSource(prompt="x")
            )
            (delivery,) = receiver.wait(1)
        data = verify([hook.new_signing_secret], delivery.headers, delivery.body)["data"]
        done = c.operations.get(op)
        uri = done.response.generated_videos[0].video.uri
        assert data == {"id": op.name, "output_file_uri": uri, "file_name": "files/" + uri.split("files/")[1][:12]}
        assert c.files.download(file=data["output_file_uri"])[4:8] == b"ftyp"
        assert server.jobs()[0]["finished_at"] <= delivery.received
        c.close()


def test_during_the_grace_period_each_delivery_carries_both_signatures(client, standin):
    with receiving() as receiver:
        hook = subscribe(client, receiver.url)
        rotated = client.webhooks.rotate_signing_secret(hook.id)
        client.interactions.create(model=OMNI, input="a kite", background=True)
        (delivery,) = receiver.wait(1)
    signatures = delivery.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    verify([rotated.secret], delivery.headers, delivery.body)
    verify([hook.new_signing_secret], delivery.headers, delivery.body)


def test_failures_are_retried_with_backoff_then_the_webhook_is_disabled(client, standin):
    standin.configure(delivery_retry_seconds=0.02, delivery_max_attempts=3, disable_after_failures=4)
    with receiving(statuses=[500]) as receiver:
        hook = subscribe(client, receiver.url)
        client.interactions.create(model=OMNI, input="first", background=True)
        assert standin.wait_for_deliveries(5)
        log = standin.deliveries()
        assert [(d["attempt"], d["result"], d["status"]) for d in log] == [(n, "failed", 500) for n in (1, 2, 3)]
        assert log[1]["time"] - log[0]["time"] >= 0.02 and log[2]["time"] - log[1]["time"] >= 0.04
        assert client.webhooks.get(id=hook.id).state == "enabled"  # 3 failures so far

        client.interactions.create(model=OMNI, input="second", background=True)
        assert standin.wait_for_deliveries(5)
        assert client.webhooks.get(id=hook.id).state == "disabled_due_to_failed_deliveries"
        assert len(receiver.deliveries) == 4  # the fourth failure disabled it; its retry was abandoned
        assert standin.stats().deliveries == {"failed": 4, "abandoned": 2}

        client.interactions.create(model=OMNI, input="not sent", background=True)
        assert standin.wait_for_deliveries(5) and len(receiver.deliveries) == 4
        receiver.statuses = [200]
        assert client.webhooks.update(hook.id, state="enabled").state == "enabled"
        client.interactions.create(model=OMNI, input="sent", background=True)
        assert receiver.wait(5)[-1].json()["type"] == "interaction.completed"


def test_connection_failures_count_as_failed_attempts(client, standin):
    standin.configure(delivery_max_attempts=1)
    subscribe(client, "http://127.0.0.1:9/nobody-listens")
    client.interactions.create(model=OMNI, input="a kite", background=True)
    assert standin.wait_for_deliveries(5)
    (attempt,) = standin.deliveries()
    assert attempt["status"] is None and attempt["error"] and attempt["result"] == "failed"


def test_dropped_and_delayed_deliveries(client, standin):
    with receiving() as receiver:
        subscribe(client, receiver.url)
        standin.configure(drop_deliveries=True)
        client.interactions.create(model=OMNI, input="lost", background=True)
        assert standin.wait_for_deliveries(5) and receiver.deliveries == []
        assert standin.deliveries()[0]["result"] == "dropped"

        standin.configure(drop_deliveries=False, delivery_delay_seconds=0.3)
        made = client.interactions.create(model=OMNI, input="late", background=True)
        (delivery,) = receiver.wait(1)
        assert delivery.received - standin.finished_at(made.id) >= 0.3


def test_ping_sends_a_test_delivery_and_the_log_is_served_over_http(client, standin):
    with receiving() as receiver:
        hook = subscribe(client, receiver.url)
        assert client.webhooks.ping(id=hook.id) is not None
        (delivery,) = receiver.wait(1)
    assert verify([hook.new_signing_secret], delivery.headers, delivery.body)["type"] == "webhook.ping"
    with urllib.request.urlopen(standin.url + "/_standin/deliveries", timeout=5) as answer:
        (logged,) = json.loads(answer.read())["deliveries"]
    assert (logged["webhook_id"], logged["data_id"], logged["status"]) == (hook.id, hook.id, 204)
    assert standin.stats().posts == {"webhooks.create": 1, "webhooks.ping": 1}


def test_send_delivery_exercises_a_receiver(standin):
    secret = "whsec_" + base64.b64encode(b"k" * 24).decode()
    with receiving() as receiver:
        receiver.secrets = [secret]
        good = send_delivery(receiver.url, secret, data={"id": "op-1"})
        assert good.status == 204
        assert (
            send_delivery(
                receiver.url, secret, message_id=good.message_id, timestamp=good.timestamp, body=good.body
            ).status
            == 200
        )
        assert send_delivery(receiver.url, secret, timestamp=int(time.time()) - 301).status == 400
        assert send_delivery(receiver.url, secret, mis_sign=True).status == 400
    assert json.loads(good.body)["data"] == {"id": "op-1"}


def test_a_job_owing_polls_fires_only_when_a_poll_finishes_it(client, standin):
    standin.configure(polls_before_done=1)
    with receiving() as receiver:
        subscribe(client, receiver.url)
        made = client.interactions.create(model=OMNI, input="a kite", background=True)
        assert standin.wait_for_deliveries(5) and receiver.deliveries == []
        assert standin.finished_at(made.id) is None
        assert client.interactions.get(made.id).status == "in_progress"  # the poll owed; it finishes the job
        (delivery,) = receiver.wait(1)
    assert delivery.json()["data"] == {"id": made.id} and standin.finished_at(made.id) is not None
