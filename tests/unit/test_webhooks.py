"""Webhook deliveries through the real receiver (the Starlette app on Uvicorn, on a free port): Standard Webhooks
signatures with one secret or two during a rotation, the 300 s window, replays, unknown events, bad bodies,
oversized ones; what each changes (a queued job or nothing) and how it is counted; ``healthy``; the stored
secret. SQLite and fakeredis; Google is never called here (tests/integration/test_webhooks.py does that)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from redis.exceptions import ConnectionError as RedisConnectionError
from rq.job import Job
from rq.serializers import JSONSerializer
from standardwebhooks import Webhook

from core import metrics
from core.db import transaction
from core.errors import ProviderUnavailableError, ValidationError
from core.models import AppSecret, utcnow
from core.services import webhooks as stored
from core.services.webhooks import Registration, SigningSecret
from core.studio import Studio
from core.webhook_events import Outcome, check_public_url
from core.webhook_receiver import MAX_BODY_BYTES, PATH, bind, build_app
from core.webhooks import EVENT_JOB, EVENTS_KEY, RECEIVER_ALIVE_KEY, STATE_KEY
from tests.support import embedded_studio

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_" + "b2xkIHNlY3JldCBvbGQgc2VjcmV0IG9sZA=="
OPERATION = "models/veo-3.1-fast-generate-001/operations/abc123def456"


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[Studio]:
    with embedded_studio(tmp_path) as studio:
        yield studio


@pytest.fixture
def client(studio: Studio) -> Iterator[httpx.Client]:
    """The receiver's app served by Uvicorn in a thread, and an HTTP client pointed at it."""
    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(build_app(studio.webhooks), lifespan="off", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}", timeout=10) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def register(studio: Studio, *secrets: SigningSecret) -> None:
    registration = Registration("hook-1", "https://studio.example.com/webhooks/google", secrets, utcnow())
    with transaction(studio.sessions) as session:
        stored.save_registration(session=session, vault=studio.webhooks.vault, registration=registration)
    studio.webhooks._secrets = None  # the receiver rereads them within seconds; a test does not wait


def event(kind: str = "video.generated", data_id: str = OPERATION) -> bytes:
    data = {"id": data_id, "file_name": "files/f1", "output_file_uri": "https://example.invalid/files/f1"}
    return json.dumps({"type": kind, "version": "v1", "timestamp": "2026-12-06T12:00:00Z", "data": data}).encode()


def signed(body: bytes, *secrets: str, msg_id: str = "", at: float | None = None) -> dict[str, str]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    stamp = int(time.time() if at is None else at)
    moment = datetime.fromtimestamp(stamp, tz=UTC)
    signature = " ".join(Webhook(s).sign(msg_id, moment, body) for s in secrets)
    return {"webhook-id": msg_id, "webhook-timestamp": str(stamp), "webhook-signature": signature}


def post(client: httpx.Client, body: bytes, headers: dict[str, str]) -> int:
    return client.post(PATH, content=body, headers={"content-type": "application/json", **headers}).status_code


def queued(studio: Studio) -> list[list[object]]:
    """The arguments of every job on the queue that a delivery enqueued."""
    jobs = [Job.fetch(j, connection=studio.redis, serializer=JSONSerializer) for j in studio.queue.queue.job_ids]
    return [list(job.args) for job in jobs if job.func_name == EVENT_JOB]


def counted(studio: Studio) -> dict[str, int]:
    raw = studio.redis.hgetall(EVENTS_KEY)
    return {k.decode(): int(v) for k, v in raw.items() if not k.startswith(b"last:")}


def test_a_signed_event_is_accepted_and_queues_the_poll(studio: Studio, client: httpx.Client):
    register(studio, SigningSecret(SECRET))
    before = metrics.WEBHOOK_EVENTS.labels("accepted")._value.get()
    body = event()
    assert post(client, body, signed(body, SECRET)) == 204
    assert queued(studio) == [[OPERATION]]
    assert counted(studio) == {"accepted": 1}
    assert metrics.WEBHOOK_EVENTS.labels("accepted")._value.get() == before + 1


def test_interaction_events_queue_their_interaction_id(studio: Studio, client: httpx.Client):
    register(studio, SigningSecret(SECRET))
    for kind in ("interaction.completed", "interaction.failed"):
        body = event(kind, data_id=f"v1_{kind}")
        assert post(client, body, signed(body, SECRET)) == 204
    assert queued(studio) == [["v1_interaction.completed"], ["v1_interaction.failed"]]


def test_the_spec_vector_verifies():
    """Standard Webhooks' own test vector, through the package the receiver uses."""
    body = b'{"test": 2432232314}'
    moment = datetime.fromtimestamp(1614265330, tz=UTC)
    assert (
        Webhook(SECRET).sign("msg_p5jXN8AQM9LWM0D4loKWxJek", moment, body)
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_during_a_rotation_the_old_and_the_new_secret_both_verify(studio: Studio, client: httpx.Client):
    register(studio, SigningSecret(SECRET), SigningSecret(OLD_SECRET, utcnow() + timedelta(hours=23)))
    for secrets in ((OLD_SECRET,), (SECRET,), (OLD_SECRET, SECRET)):
        body = event(data_id=f"op-{len(secrets)}-{secrets[0][-4:]}")
        assert post(client, body, signed(body, *secrets)) == 204
    assert len(queued(studio)) == 3
    assert counted(studio) == {"accepted": 3}


def test_an_expired_old_secret_no_longer_verifies(studio: Studio, client: httpx.Client):
    register(studio, SigningSecret(SECRET), SigningSecret(OLD_SECRET, utcnow() - timedelta(seconds=1)))
    body = event()
    assert post(client, body, signed(body, OLD_SECRET)) == 400
    assert queued(studio) == []
    assert counted(studio) == {"forged": 1}


def test_a_body_changed_after_signing_is_forged(studio: Studio, client: httpx.Client):
    register(studio, SigningSecret(SECRET))
    headers = signed(event(data_id="their-operation"), SECRET)
    assert post(client, event(data_id=OPERATION), headers) == 400
    assert post(client, event(data_id="their-operation") + b" ", headers) == 400  # one byte more
    assert queued(studio) == []
    assert counted(studio) == {"forged": 2}


def test_a_wrong_secret_is_forged(studio: Studio, client: httpx.Client):
    register(studio, SigningSecret(SECRET))
    body = event()
    assert post(client, body, signed(body, OLD_SECRET)) == 400
    assert post(client, body, {**signed(body, SECRET), "webhook-signature": "v1,AAAA"}) == 400
    assert queued(studio) == []
    assert counted(studio) == {"forged": 2}


@pytest.mark.parametrize("offset", [-301, 301])
def test_a_timestamp_more_than_300_s_off_is_stale(studio: Studio, client: httpx.Client, offset: int):
    register(studio, SigningSecret(SECRET))
    body = event()
    assert post(client, body, signed(body, SECRET, at=time.time() + offset)) == 400
    assert queued(studio) == []
    assert counted(studio) == {"stale": 1}


def test_a_timestamp_within_the_window_is_accepted(studio: Studio, client: httpx.Client):
    register(studio, SigningSecret(SECRET))
    body = event()
    assert post(client, body, signed(body, SECRET, at=time.time() - 295)) == 204


def test_a_replayed_delivery_is_a_duplicate_and_queues_nothing_more(studio: Studio, client: httpx.Client):
    register(studio, SigningSecret(SECRET))
    body = event()
    headers = signed(body, SECRET, msg_id="msg_once")
    assert post(client, body, headers) == 204
    assert post(client, body, headers) == 204  # Google delivers at least once: taken, not acted on twice
    assert post(client, body, signed(body, SECRET, msg_id="msg_once")) == 204  # re-signed later, same id
    assert queued(studio) == [[OPERATION]]
    assert counted(studio) == {"accepted": 1, "duplicate": 2}
    ttl = studio.redis.ttl(next(iter(studio.redis.scan_iter("veogen:webhook:seen:*"))))
    assert 24 * 3600 < ttl <= 48 * 3600  # remembered past Google's 24 h of redeliveries


def test_an_unknown_event_type_is_taken_and_changes_nothing(studio: Studio, client: httpx.Client):
    register(studio, SigningSecret(SECRET))
    for kind in ("batch.succeeded", "webhook.ping"):
        body = event(kind)
        assert post(client, body, signed(body, SECRET)) == 204
    assert queued(studio) == []
    assert counted(studio) == {"unknown_type": 2}


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        json.dumps({"type": "video.generated", "data": {}}).encode(),
        json.dumps({"type": "video.generated", "data": {"id": "x" * 600}}).encode(),
        json.dumps({"data": {"id": OPERATION}}).encode(),
        b"[" * 5000 + b"]" * 5000,
    ],
    ids=["not-json", "not-an-object", "no-id", "id-too-long", "no-type", "deeply-nested"],
)
def test_a_signed_body_that_is_not_an_event_is_malformed(studio: Studio, client: httpx.Client, body: bytes):
    register(studio, SigningSecret(SECRET))
    assert post(client, body, signed(body, SECRET)) == 400
    assert queued(studio) == []
    assert counted(studio) == {"malformed": 1}


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_malformed(studio: Studio, client: httpx.Client, missing: str):
    register(studio, SigningSecret(SECRET))
    body = event()
    headers = signed(body, SECRET)
    del headers[missing]
    assert post(client, body, headers) == 400
    assert counted(studio) == {"malformed": 1}


@pytest.mark.parametrize("stamp", ["soon", "1e9", "-5", "1614265330.5", "99999999999999"])
def test_a_timestamp_that_is_not_unix_seconds_is_malformed(studio: Studio, client: httpx.Client, stamp: str):
    register(studio, SigningSecret(SECRET))
    body = event()
    assert post(client, body, {**signed(body, SECRET), "webhook-timestamp": stamp}) == 400
    assert counted(studio) == {"malformed": 1}


def test_an_oversized_body_is_refused_before_it_is_read(studio: Studio, client: httpx.Client):
    register(studio, SigningSecret(SECRET))
    body = b'{"type": "video.generated", "pad": "' + b"x" * MAX_BODY_BYTES + b'"}'
    assert post(client, body, signed(body, SECRET)) == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the receiver stops reading at the cap
        for _ in range(100):
            yield b"x" * 4096

    assert client.post(PATH, content=chunks(), headers=signed(b"", SECRET)).status_code == 413
    assert queued(studio) == []
    assert counted(studio) == {"malformed": 2}


def test_without_a_stored_secret_the_receiver_asks_google_to_deliver_again(studio: Studio, client: httpx.Client):
    body = event()
    assert post(client, body, signed(body, SECRET)) == 503
    assert queued(studio) == []
    assert counted(studio) == {"no_secret": 1}


def test_when_the_queue_fails_the_delivery_is_not_remembered(studio: Studio, client: httpx.Client, monkeypatch):
    register(studio, SigningSecret(SECRET))
    body = event()
    headers = signed(body, SECRET)

    def down(*_args: object, **_kwargs: object) -> None:
        raise RedisConnectionError("Redis went away")

    monkeypatch.setattr(studio.queue.queue, "enqueue", down)
    assert post(client, body, headers) == 503
    monkeypatch.undo()
    assert post(client, body, headers) == 204  # Google's redelivery is taken
    assert queued(studio) == [[OPERATION]]


def test_the_receiver_answers_within_a_second(studio: Studio, client: httpx.Client):
    register(studio, SigningSecret(SECRET))
    started = time.monotonic()
    for n in range(20):
        body = event(data_id=f"op{n}")
        assert post(client, body, signed(body, SECRET)) == 204
    assert (time.monotonic() - started) / 20 < 1.0


def test_healthz_and_nothing_else(client: httpx.Client):
    assert client.get("/healthz").json() == {"ok": True}
    assert client.get(PATH).status_code == 405
    assert client.post("/webhooks/other", content=b"{}").status_code == 404


def test_the_secret_is_stored_encrypted(studio: Studio):
    register(studio, SigningSecret(SECRET))
    with studio.sessions() as session:
        row = session.get(AppSecret, stored.WEBHOOK_ROW)
        assert row is not None
        assert SECRET not in row.ciphertext and "MfKQ9r8" not in row.ciphertext
        loaded = stored.load_registration(session=session, vault=studio.webhooks.vault)
    assert loaded is not None and loaded.live_secrets(utcnow()) == [SECRET]


def test_a_rotation_keeps_the_previous_secret_24_hours():
    now = utcnow()
    first = Registration("hook-1", "https://x/webhooks/google", (SigningSecret(OLD_SECRET),), now)
    rotated = stored.with_new_secret(first, SECRET, now=now)
    assert rotated.live_secrets(now) == [SECRET, OLD_SECRET]
    assert rotated.secrets[1].expires_at == now + timedelta(hours=24)
    assert rotated.live_secrets(now + timedelta(hours=24, seconds=1)) == [SECRET]
    again = stored.with_new_secret(
        rotated, "whsec_" + "dGhpcmQgc2VjcmV0IHRoaXJkIHNlY3JldA==", now=now + timedelta(hours=1)
    )
    assert len(again.secrets) == 3 and again.secrets[2].expires_at == now + timedelta(hours=24)  # not extended


def test_healthy_needs_registration_an_enabled_state_a_recent_check_and_a_receiver(studio: Studio):
    webhooks = studio.webhooks
    assert not webhooks.healthy()
    assert webhooks.state() == "unregistered"
    register(studio, SigningSecret(SECRET))
    assert webhooks.state() == "unknown"
    fresh = {"state": "enabled", "checked_at": utcnow().isoformat()}
    studio.redis.set(STATE_KEY, json.dumps(fresh))
    assert not webhooks.healthy()  # no receiver running
    webhooks.mark_receiver_alive()
    assert webhooks.healthy()
    assert webhooks.state() == "enabled"
    old = utcnow() - timedelta(seconds=3 * studio.settings.webhook_status_interval_seconds + 1)
    studio.redis.set(STATE_KEY, json.dumps({"state": "enabled", "checked_at": old.isoformat()}))
    assert not webhooks.healthy()
    for state in ("disabled", "disabled_due_to_failed_deliveries", "missing"):
        studio.redis.set(STATE_KEY, json.dumps({**fresh, "state": state}))
        assert not webhooks.healthy()
        assert webhooks.state() == state
    studio.redis.set(STATE_KEY, json.dumps(fresh))
    studio.redis.delete(RECEIVER_ALIVE_KEY)
    assert not webhooks.healthy()
    studio.redis.set(STATE_KEY, b"not json")
    assert not webhooks.healthy()


def test_the_overview_shows_state_counts_and_truncated_secrets(studio: Studio, client: httpx.Client):
    admin = studio.accounts.add_user("root", "a long enough password", role="admin").id
    creator = studio.accounts.add_user("cleo", "a long enough password").id
    register(studio, SigningSecret(SECRET), SigningSecret(OLD_SECRET, utcnow() + timedelta(hours=2)))
    body = event()
    assert post(client, body, signed(body, SECRET)) == 204
    assert post(client, body, signed(body, "whsec_" + "d3Jvbmcgd3Jvbmcgd3Jvbmc=")) == 400
    seen = studio.webhooks.overview(admin)
    assert seen.registered and seen.webhook_id == "hook-1" and seen.state == "unknown"
    assert seen.events["accepted"] == 1 and seen.events["forged"] == 1 and seen.events["stale"] == 0
    assert seen.last_accepted_at is not None and seen.last_event_at is not None
    assert [s.truncated for s in seen.secrets] == ["whsec_...LaSw", "whsec_...ZA=="]
    assert SECRET not in repr(seen)
    from core.errors import PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        studio.webhooks.overview(creator)


def test_registering_refuses_a_studio_on_vertex_only(tmp_path: Path):
    with embedded_studio(tmp_path, vertex_project="my-project") as studio:
        with pytest.raises(ProviderUnavailableError, match="Vertex"):
            studio.webhooks.register("https://studio.example.com/webhooks/google")
        assert studio.webhooks.status().state == "unregistered"  # nothing to ask Google about
    with embedded_studio(tmp_path / "none") as studio, pytest.raises(ProviderUnavailableError, match="API key"):
        studio.webhooks.register("https://studio.example.com/webhooks/google")


@pytest.mark.parametrize(
    "url",
    ["http://studio.example.com/webhooks/google", "ftp://x/y", "https://user:pw@x.example/hook", "https:///nohost", ""],
)
def test_the_public_url_must_be_https(url: str):
    with pytest.raises(ValidationError):
        check_public_url(url)


def test_the_public_url_may_be_plain_http_on_this_machine():
    assert check_public_url(" http://127.0.0.1:9650/webhooks/google ") == "http://127.0.0.1:9650/webhooks/google"
    assert check_public_url("https://studio.example.com/webhooks/google")


def test_the_event_job_exists_and_every_outcome_has_an_answer():
    import importlib

    from core.webhook_receiver import STATUS

    module, name = EVENT_JOB.rsplit(".", 1)
    assert callable(getattr(importlib.import_module(module), name))
    assert set(STATUS) == set(Outcome)
    assert tuple(o.value for o in Outcome) == metrics.WEBHOOK_OUTCOMES


def test_the_exporter_reports_the_webhook_state(studio: Studio):
    from prometheus_client import generate_latest

    from core.exporter import build_registry

    def gauge() -> dict[str, float]:
        text = generate_latest(build_registry(studio)).decode()
        return {
            line.split('state="', 1)[1].split('"', 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("veogen_webhook_state{")
        }

    assert gauge() == {
        "enabled": 0,
        "disabled": 0,
        "disabled_due_to_failed_deliveries": 0,
        "missing": 0,
        "unregistered": 1,
        "unknown": 0,
    }
    register(studio, SigningSecret(SECRET))
    studio.redis.set(STATE_KEY, json.dumps({"state": "disabled_due_to_failed_deliveries"}))
    values = gauge()
    assert values["disabled_due_to_failed_deliveries"] == 1 and sum(values.values()) == 1
