"""Outgoing webhooks: a generation's or film's end becomes one signed delivery per active endpoint, made in the
same transaction; delivered to a real loopback receiver, retried with backoff, given up, replayed with the same
id; targets inside the network refused at registration and again at delivery (DNS rebinding)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from standardwebhooks import Webhook

from core.errors import NotFoundError, TransitionError, ValidationError
from core.models import Generation, Movie, WebhookDelivery, WebhookEndpoint, utcnow
from core.outgoing import DELIVER_JOB, job_name
from core.services import outgoing
from core.status import Status
from core.studio import Studio
from tests.support import drive, embedded_studio, offline_form


@dataclass
class Receiver:
    """A tiny HTTP server on loopback that keeps every request and answers the statuses it is given, in turn."""

    url: str
    answers: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@contextmanager
def serving() -> Iterator[Receiver]:
    """Run a ``Receiver`` on a free loopback port for the block."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(state.answers.pop(0) if state.answers else 204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/veogen"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving() as state:
        yield state


@pytest.fixture
def open_studio(tmp_path: Path) -> Iterator[Studio]:
    """A studio whose admin allows private targets (the receiver is on loopback)."""
    with embedded_studio(tmp_path, outgoing_webhooks_allow_private=True) as studio:
        yield studio


@pytest.fixture
def carol(open_studio: Studio) -> int:
    return open_studio.accounts.add_user("carol", "correct horse battery").id


def deliveries(studio: Studio) -> list[WebhookDelivery]:
    with studio.sessions() as s:
        return list(s.execute(select(WebhookDelivery).order_by(WebhookDelivery.id)).scalars())


def make_due(studio: Studio) -> None:
    """Let the backoff pass: every pending delivery is due now."""
    with studio.sessions() as s, s.begin():
        s.execute(update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))


def finish_one(studio: Studio, user_id: int) -> str:
    view, _ = studio.generations.submit(user_id, offline_form())
    row = drive(studio, view.id)
    assert row.status == Status.SUCCEEDED.value
    return view.id


def test_a_finished_generation_is_delivered_signed_to_each_active_endpoint(
    open_studio: Studio, carol: int, receiver: Receiver
):
    endpoint, secret = open_studio.outgoing.create(carol, receiver.url, "my CI")
    assert secret.startswith("whsec_") and endpoint.active and endpoint.description == "my CI"
    with open_studio.sessions() as s:
        sealed = s.execute(select(WebhookEndpoint.secret_sealed)).scalar_one()
    assert secret not in sealed  # stored sealed with the Vault, never in clear
    paused, _ = open_studio.outgoing.create(carol, receiver.url + "?second")
    open_studio.outgoing.set_active(carol, paused.id, False)
    gid = finish_one(open_studio, carol)

    made = deliveries(open_studio)
    assert [(d.endpoint_id, d.event_type, d.status) for d in made] == [(endpoint.id, "generation.succeeded", "pending")]
    queued = open_studio.queue.queue.get_job_ids()
    assert job_name(made[0].id, 0) in queued  # queued once the status change committed
    assert open_studio.queue.queue.fetch_job(job_name(made[0].id, 0)).func_name == DELIVER_JOB

    assert open_studio.outgoing.deliver(made[0].id) == "delivered"
    ((headers, body),) = receiver.received
    payload = Webhook(secret).verify(body, headers)  # the receiver's check: signature and timestamp
    assert payload["type"] == "generation.succeeded" and payload["data"]["id"] == gid
    assert payload["data"]["status"] == "succeeded" and headers["webhook-id"] == made[0].event_id
    assert headers["content-type"] == "application/json"
    with pytest.raises(Exception):  # noqa: B017  (another secret does not verify)
        Webhook(outgoing.new_secret()).verify(body, headers)
    log = open_studio.outgoing.deliveries(carol)
    assert log[0].status == "delivered" and log[0].attempts == 1 and log[0].last_status_code == 204
    assert open_studio.outgoing.deliver(made[0].id) == "skipped"  # a job run twice sends nothing more
    assert len(receiver.received) == 1


def test_the_event_is_made_in_the_status_changes_transaction(open_studio: Studio, carol: int, receiver: Receiver):
    """One delivery per active endpoint exactly when the generation ends; none if that change rolls back."""
    open_studio.outgoing.create(carol, receiver.url)
    open_studio.outgoing.create(carol, receiver.url + "/two")
    view, _ = open_studio.generations.submit(carol, offline_form())
    assert deliveries(open_studio) == []  # queued is not an end
    with pytest.raises(RuntimeError), open_studio.sessions() as s, s.begin():
        row = s.get(Generation, view.id)
        assert row is not None
        from core.services.lifecycle import transition

        transition(session=s, generation=row, to=Status.CANCELED, detail="test")
        assert s.execute(select(func.count()).select_from(WebhookDelivery)).scalar_one() == 2
        raise RuntimeError("the status change fails after all")
    assert deliveries(open_studio) == []  # rolled back together
    assert open_studio.queue.queue.get_job_ids() == []  # and nothing was queued
    open_studio.generations.cancel(carol, view.id)
    made = deliveries(open_studio)
    assert [d.event_type for d in made] == ["generation.canceled"] * 2
    assert made[0].event_id == made[1].event_id  # one event, one id, each endpoint its own delivery


def test_a_500_is_retried_with_backoff_then_delivered(open_studio: Studio, carol: int, receiver: Receiver):
    _, secret = open_studio.outgoing.create(carol, receiver.url)
    finish_one(open_studio, carol)
    receiver.answers = [500]
    (delivery,) = deliveries(open_studio)
    assert open_studio.outgoing.deliver(delivery.id) == "retry"
    (after,) = deliveries(open_studio)
    assert after.status == "pending" and after.attempts == 1 and after.last_status_code == 500
    assert after.last_error == "HTTP 500 Internal Server Error"
    wait = (after.next_attempt_at - after.updated_at).total_seconds()
    first = outgoing.RETRY_SCHEDULE_SECONDS[0]
    assert first * (1 - outgoing.JITTER) <= wait <= first * (1 + outgoing.JITTER)
    assert job_name(delivery.id, 1) in open_studio.queue.queue.scheduled_job_registry.get_job_ids()
    assert open_studio.outgoing.deliver(delivery.id) == "skipped"  # not due yet
    make_due(open_studio)
    assert open_studio.outgoing.deliver(delivery.id) == "delivered"
    assert [h["webhook-id"] for h, _ in receiver.received] == [delivery.event_id] * 2
    for headers, body in receiver.received:
        Webhook(secret).verify(body, headers)
    (done,) = deliveries(open_studio)
    assert done.status == "delivered" and done.attempts == 2 and done.delivered_at is not None


def test_a_delivery_gives_up_after_the_last_attempt(open_studio: Studio, carol: int, receiver: Receiver):
    open_studio.outgoing.create(carol, receiver.url)
    finish_one(open_studio, carol)
    receiver.answers = [503] * outgoing.MAX_ATTEMPTS
    (delivery,) = deliveries(open_studio)
    outcomes = []
    for _ in range(outgoing.MAX_ATTEMPTS):
        make_due(open_studio)
        outcomes.append(open_studio.outgoing.deliver(delivery.id))
    assert outcomes == ["retry"] * (outgoing.MAX_ATTEMPTS - 1) + ["failed"]
    (failed,) = deliveries(open_studio)
    assert failed.status == "failed" and failed.attempts == outgoing.MAX_ATTEMPTS and failed.next_attempt_at is None
    make_due(open_studio)
    assert open_studio.outgoing.deliver(delivery.id) == "skipped"
    assert len(receiver.received) == outgoing.MAX_ATTEMPTS


def test_an_unreachable_receiver_is_retried(open_studio: Studio, carol: int):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    open_studio.outgoing.create(carol, f"http://127.0.0.1:{port}/x")
    finish_one(open_studio, carol)
    (delivery,) = deliveries(open_studio)
    assert open_studio.outgoing.deliver(delivery.id) == "retry"
    (after,) = deliveries(open_studio)
    assert after.last_status_code is None and "ConnectError" in (after.last_error or "")


def test_replay_sends_the_same_event_again_as_a_new_delivery(open_studio: Studio, carol: int, receiver: Receiver):
    _, secret = open_studio.outgoing.create(carol, receiver.url)
    finish_one(open_studio, carol)
    (first,) = deliveries(open_studio)
    with pytest.raises(TransitionError):
        open_studio.outgoing.replay(carol, first.id)  # still pending
    open_studio.outgoing.deliver(first.id)
    again = open_studio.outgoing.replay(carol, first.id)
    assert again.id != first.id and again.event_id == first.event_id and again.status == "pending"
    assert job_name(again.id, 0) in open_studio.queue.queue.get_job_ids()
    assert open_studio.outgoing.deliver(again.id) == "delivered"
    (h1, b1), (h2, b2) = receiver.received
    assert h1["webhook-id"] == h2["webhook-id"] == first.event_id and b1 == b2
    Webhook(secret).verify(b2, h2)


def test_another_user_cannot_see_replay_or_delete(open_studio: Studio, carol: int, receiver: Receiver):
    dave = open_studio.accounts.add_user("dave", "another long secret").id
    endpoint, _ = open_studio.outgoing.create(carol, receiver.url)
    finish_one(open_studio, carol)
    (delivery,) = deliveries(open_studio)
    open_studio.outgoing.deliver(delivery.id)
    assert open_studio.outgoing.list_endpoints(dave) == [] and open_studio.outgoing.deliveries(dave) == []
    with pytest.raises(NotFoundError):
        open_studio.outgoing.replay(dave, delivery.id)
    with pytest.raises(NotFoundError):
        open_studio.outgoing.delete(dave, endpoint.id)
    with pytest.raises(NotFoundError):
        open_studio.outgoing.set_active(dave, endpoint.id, False)
    finish_one(open_studio, dave)  # dave's end goes to nobody's endpoint
    assert len(deliveries(open_studio)) == 1


def test_deleting_an_endpoint_drops_its_log_and_pending_jobs_do_nothing(
    open_studio: Studio, carol: int, receiver: Receiver
):
    endpoint, _ = open_studio.outgoing.create(carol, receiver.url)
    finish_one(open_studio, carol)
    (delivery,) = deliveries(open_studio)
    open_studio.outgoing.delete(carol, endpoint.id)
    assert deliveries(open_studio) == [] and open_studio.outgoing.list_endpoints(carol) == []
    assert open_studio.outgoing.deliver(delivery.id) == "skipped"
    assert receiver.received == []


def test_a_films_assembly_end_is_an_event(open_studio: Studio, carol: int, receiver: Receiver):
    open_studio.outgoing.create(carol, receiver.url)
    with open_studio.sessions() as s, s.begin():
        s.add(
            Movie(
                id="m" * 32, user_id=carol, title="Heron", style="cinematic", aspect_ratio="16:9",
                resolution="720p", target_seconds=8, assembly_status="running", assembly_seq=3,
            )
        )  # fmt: skip
    open_studio.movies.finish_assembly("m" * 32, 2, None, "stale job")  # an older job: no change, no event
    assert deliveries(open_studio) == []
    open_studio.movies.finish_assembly("m" * 32, 3, None, "The film could not be assembled: a shot is missing.")
    (delivery,) = deliveries(open_studio)
    assert delivery.event_type == "movie.assembly_failed"
    assert open_studio.outgoing.deliver(delivery.id) == "delivered"
    data = json.loads(receiver.received[0][1])["data"]
    assert data == {
        "id": "m" * 32,
        "title": "Heron",
        "assembly_status": "failed",
        "message": "The film could not be assembled: a shot is missing.",
        "assembled_at": None,
    }


def test_the_sweep_queues_deliveries_whose_job_was_lost(open_studio: Studio, carol: int, receiver: Receiver):
    open_studio.outgoing.create(carol, receiver.url)
    finish_one(open_studio, carol)
    (delivery,) = deliveries(open_studio)
    open_studio.redis.flushall()  # Redis lost its jobs
    assert open_studio.outgoing.sweep() == 0  # not overdue yet: its job may still be on its way
    with open_studio.sessions() as s, s.begin():
        s.execute(update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(minutes=5)))
    assert open_studio.outgoing.sweep() == 1
    assert open_studio.queue.queue.get_job_ids() == [job_name(delivery.id, 0)]
    assert open_studio.outgoing.sweep() == 0  # its job is live now


# -- no server-side request forgery -------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://127.0.0.1:8080/hook", "internal"),
        ("http://[::1]/hook", "internal"),
        ("http://10.1.2.3/hook", "internal"),
        ("http://192.168.0.10/hook", "internal"),
        ("http://169.254.169.254/latest/meta-data", "internal"),
        ("http://[::ffff:127.0.0.1]/hook", "internal"),
        ("http://0.0.0.0/hook", "internal"),
        ("http://localhost:8080/hook", "internal"),
        ("ftp://example.com/hook", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "http:// or https://"),
        ("https://user:pw@example.com/hook", "user, a password"),
        ("https://" + "a" * 2100 + ".com/", "limit is 2048"),
        ("not a url", "http:// or https://"),
        ("http://" + "a" * 64 + ".example/", "not a valid host name"),
        ("http://a..b/", "not a valid host name"),
        ("http://[::1/", "not a valid URL"),
        ("http://example.com:99999/", "not a valid URL"),
        ("http://exa mple.com/", "spaces or control characters"),
    ],
)
def test_internal_and_odd_targets_are_refused(studio: Studio, alice: int, url: str, words: str):
    assert studio.settings.outgoing_webhooks_allow_private is False
    with pytest.raises(ValidationError) as refused:
        studio.outgoing.create(alice, url)
    assert words in str(refused.value) and refused.value.field == "url"
    assert studio.outgoing.list_endpoints(alice) == []


def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, str]) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: object, *args: Any, **kwargs: Any) -> Any:
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_name_that_turns_internal_after_registration_is_refused_at_delivery(
    studio: Studio, alice: int, monkeypatch: pytest.MonkeyPatch
):
    """DNS rebinding: public when registered, loopback when delivered to; nothing is sent."""
    fake_dns(monkeypatch, {"hooks.example.test": "93.184.216.34"})
    studio.outgoing.create(alice, "https://hooks.example.test/veogen")
    sent: list[httpx.Request] = []
    studio.outgoing.transport = httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200))
    fake_dns(monkeypatch, {"hooks.example.test": "127.0.0.1"})
    finish_one(studio, alice)
    (delivery,) = deliveries(studio)
    assert studio.outgoing.deliver(delivery.id) == "failed"
    (after,) = deliveries(studio)
    assert after.status == "failed" and (after.last_error or "").startswith("refused:") and sent == []


def test_a_delivery_goes_to_the_address_that_was_checked(studio: Studio, alice: int, monkeypatch: pytest.MonkeyPatch):
    """The request is sent to the resolved, checked address, with the name kept for Host and TLS."""
    fake_dns(monkeypatch, {"hooks.example.test": "93.184.216.34"})
    _, secret = studio.outgoing.create(alice, "https://hooks.example.test:8443/veogen?x=1")
    sent: list[httpx.Request] = []
    studio.outgoing.transport = httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200))
    finish_one(studio, alice)
    (delivery,) = deliveries(studio)
    assert studio.outgoing.deliver(delivery.id) == "delivered"
    (request,) = sent
    assert str(request.url) == "https://93.184.216.34:8443/veogen?x=1"
    assert request.headers["host"] == "hooks.example.test:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.test"
    Webhook(secret).verify(request.content, dict(request.headers))


def test_a_redirect_is_not_followed(studio: Studio, alice: int, monkeypatch: pytest.MonkeyPatch):
    fake_dns(monkeypatch, {"hooks.example.test": "93.184.216.34"})
    studio.outgoing.create(alice, "https://hooks.example.test/veogen")
    sent: list[httpx.Request] = []
    studio.outgoing.transport = httpx.MockTransport(
        lambda r: sent.append(r) or httpx.Response(302, headers={"location": "http://127.0.0.1/"})
    )
    finish_one(studio, alice)
    (delivery,) = deliveries(studio)
    assert studio.outgoing.deliver(delivery.id) == "retry"
    assert len(sent) == 1 and deliveries(studio)[0].last_status_code == 302


def test_descriptions_are_checked_and_endpoints_are_capped(open_studio: Studio, carol: int, receiver: Receiver):
    with pytest.raises(ValidationError, match="limit is 200"):
        open_studio.outgoing.create(carol, receiver.url, "x" * 201)
    with pytest.raises(ValidationError, match="control character"):
        open_studio.outgoing.create(carol, receiver.url, "bad\x00one")
    for n in range(outgoing.MAX_ENDPOINTS_PER_USER):
        open_studio.outgoing.create(carol, f"{receiver.url}/{n}")
    with pytest.raises(ValidationError, match="delete one first"):
        open_studio.outgoing.create(carol, receiver.url)


def test_the_job_is_run_by_an_rq_worker_from_the_queue(
    open_studio: Studio, carol: int, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
):
    """What the commit queued (by dotted path, JSON-serialised) is what a worker runs: one signed POST."""
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    import workers.context
    import workers.tasks

    monkeypatch.setattr(workers.context, "get_studio", lambda: open_studio)
    monkeypatch.setattr(workers.tasks, "get_studio", lambda: open_studio)
    _, secret = open_studio.outgoing.create(carol, receiver.url)
    finish_one(open_studio, carol)
    queue = open_studio.queue.queue
    worker = SimpleWorker([queue], connection=open_studio.redis, serializer=JSONSerializer)
    worker.work(burst=True)
    (delivery,) = deliveries(open_studio)
    assert delivery.status == "delivered" and delivery.attempts == 1
    ((headers, body),) = receiver.received
    Webhook(secret).verify(body, headers)


def test_a_failed_generation_and_an_assembled_film_are_events(open_studio: Studio, carol: int, receiver: Receiver):
    open_studio.outgoing.create(carol, receiver.url)
    view, _ = open_studio.generations.submit(carol, offline_form())
    open_studio.pipeline.fail(view.id, None, "The generation did not finish within 30 minutes.", code="DEADLINE")
    with open_studio.sessions() as s, s.begin():
        s.add(
            Movie(
                id="f" * 32, user_id=carol, title="Tide", style="cinematic", aspect_ratio="16:9",
                resolution="720p", target_seconds=8, assembly_status="running", assembly_seq=1,
            )
        )  # fmt: skip
    open_studio.movies.finish_assembly("f" * 32, 1, {"seconds": 8.0}, None)
    failed, assembled = deliveries(open_studio)
    for delivery in (failed, assembled):
        assert open_studio.outgoing.deliver(delivery.id) == "delivered"
    first, second = (json.loads(body) for _, body in receiver.received)
    assert first["type"] == "generation.failed" and first["data"]["error_code"] == "DEADLINE"
    assert first["data"]["error_message"] == "The generation did not finish within 30 minutes."
    assert second["type"] == "movie.assembled" and second["data"]["assembled_at"]
