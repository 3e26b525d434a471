"""``/v1/webhooks`` over HTTP: register (the secret once), list, pause, delete; the delivery log and replay, with
deliveries made in-process to a real loopback receiver and verified there; SSRF refusals as 422 problems; another
user's token sees and changes nothing; reading needs ``read``, changing ``generate``. And the Account page's
section: register (the secret once), pause, the delivery log, replay, delete. The page tests (``ui``) use the page
tests' Redis like tests/api/test_token_pages.py."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from standardwebhooks import Webhook

with warnings.catch_warnings():
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from api.app import create_app
from core.studio import Studio
from tests.api.support import bearer, make_token, problem
from tests.support import LISTED_MODELS, embedded_studio
from tests.ui.support import UiEnv, button, log_in, open_page, studio_env, texts
from tests.unit.test_outgoing_webhooks import Receiver, deliveries, finish_one, make_due, serving


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving() as state:
        yield state


@pytest.fixture
def open_studio(tmp_path: Path) -> Iterator[Studio]:
    """The API's studio with private targets allowed by the admin (the receiver is on loopback)."""
    with embedded_studio(tmp_path / "open", listed=LISTED_MODELS, outgoing_webhooks_allow_private=True) as studio:
        yield studio


@pytest.fixture
def open_client(open_studio: Studio) -> Iterator[TestClient]:
    with TestClient(create_app(open_studio)) as client:
        yield client


def test_register_deliver_log_and_replay_over_http(open_studio: Studio, open_client: TestClient, receiver: Receiver):
    carol = open_studio.accounts.add_user("carol", "correct horse battery").id
    auth = bearer(make_token(open_studio, carol))
    made = open_client.post("/v1/webhooks", json={"url": receiver.url, "description": "CI"}, headers=auth)
    assert made.status_code == 201, made.text
    endpoint = made.json()
    secret = endpoint["secret"]
    assert secret.startswith("whsec_") and made.headers["location"] == f"/v1/webhooks/{endpoint['id']}"
    listed = open_client.get("/v1/webhooks", headers=auth).json()["items"]
    assert [e["id"] for e in listed] == [endpoint["id"]] and "secret" not in listed[0]

    gid = finish_one(open_studio, carol)
    (delivery,) = deliveries(open_studio)
    receiver.answers = [500]
    assert open_studio.outgoing.deliver(delivery.id) == "retry"
    log = open_client.get("/v1/webhooks/deliveries", headers=auth).json()["items"]
    assert log[0]["status"] == "pending" and log[0]["last_status_code"] == 500 and log[0]["next_attempt_at"]
    conflict = open_client.post(f"/v1/webhooks/deliveries/{delivery.id}/replay", headers=auth)
    assert "still being attempted" in problem(conflict, 409, "conflict")["detail"]
    make_due(open_studio)
    assert open_studio.outgoing.deliver(delivery.id) == "delivered"
    log = open_client.get("/v1/webhooks/deliveries", params={"endpoint_id": endpoint["id"]}, headers=auth).json()
    assert log["items"][0]["status"] == "delivered" and log["items"][0]["attempts"] == 2
    assert log["items"][0]["payload"]["data"]["id"] == gid

    replayed = open_client.post(f"/v1/webhooks/deliveries/{delivery.id}/replay", headers=auth)
    assert replayed.status_code == 202, replayed.text
    assert replayed.json()["event_id"] == delivery.event_id and replayed.json()["status"] == "pending"
    assert open_studio.outgoing.deliver(replayed.json()["id"]) == "delivered"
    ids = {headers["webhook-id"] for headers, _ in receiver.received}
    assert ids == {delivery.event_id} and len(receiver.received) == 3
    for headers, body in receiver.received:
        assert Webhook(secret).verify(body, headers)["data"]["id"] == gid

    paused = open_client.patch(f"/v1/webhooks/{endpoint['id']}", json={"active": False}, headers=auth)
    assert paused.status_code == 200 and paused.json()["active"] is False
    finish_one(open_studio, carol)
    assert len(deliveries(open_studio)) == 2  # a paused endpoint gets no new events
    assert open_client.delete(f"/v1/webhooks/{endpoint['id']}", headers=auth).status_code == 204
    assert open_client.get("/v1/webhooks", headers=auth).json()["items"] == []
    assert open_client.get("/v1/webhooks/deliveries", headers=auth).json()["items"] == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hook",
        "http://[::1]:9000/hook",
        "http://10.0.0.8/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost/hook",
        "ftp://example.com/hook",
        "javascript:alert(1)",
    ],
)
def test_internal_targets_and_other_schemes_are_refused(client: TestClient, alice_token: str, url: str):
    answer = client.post("/v1/webhooks", json={"url": url}, headers=bearer(alice_token))
    assert problem(answer, 422, "validation")["field"] == "url"
    assert client.get("/v1/webhooks", headers=bearer(alice_token)).json()["items"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://example.com/" + "a" * 2100}, "url"),
        ({"url": ""}, "url"),
        ({"url": "https://example.com/h", "description": "d" * 201}, "description"),
        ({"url": "https://example.com/h", "secret": "whsec_mine"}, "secret"),
        ({}, "url"),
    ],
)
def test_inputs_are_length_checked(client: TestClient, alice_token: str, body: dict[str, str], field: str):
    answer = client.post("/v1/webhooks", json=body, headers=bearer(alice_token))
    assert problem(answer, 422, "validation")["field"] == field


def test_another_users_token_sees_and_changes_nothing(open_studio: Studio, open_client: TestClient, receiver: Receiver):
    carol = open_studio.accounts.add_user("carol", "correct horse battery").id
    dave = open_studio.accounts.add_user("dave", "another long secret").id
    mine, theirs = bearer(make_token(open_studio, carol)), bearer(make_token(open_studio, dave))
    endpoint = open_client.post("/v1/webhooks", json={"url": receiver.url}, headers=mine).json()
    finish_one(open_studio, carol)
    (delivery,) = deliveries(open_studio)
    open_studio.outgoing.deliver(delivery.id)
    assert open_client.get("/v1/webhooks", headers=theirs).json()["items"] == []
    assert open_client.get("/v1/webhooks/deliveries", headers=theirs).json()["items"] == []
    filtered = open_client.get("/v1/webhooks/deliveries", params={"endpoint_id": endpoint["id"]}, headers=theirs)
    assert filtered.json()["items"] == []
    problem(open_client.post(f"/v1/webhooks/deliveries/{delivery.id}/replay", headers=theirs), 404, "not-found")
    problem(
        open_client.patch(f"/v1/webhooks/{endpoint['id']}", json={"active": False}, headers=theirs), 404, "not-found"
    )
    problem(open_client.delete(f"/v1/webhooks/{endpoint['id']}", headers=theirs), 404, "not-found")
    assert len(open_client.get("/v1/webhooks", headers=mine).json()["items"]) == 1
    assert len(receiver.received) == 1


def test_reading_needs_read_and_changing_needs_generate(studio: Studio, client: TestClient, alice: int):
    reader = bearer(make_token(studio, alice, "read"))
    assert client.get("/v1/webhooks", headers=reader).status_code == 200
    problem(
        client.post("/v1/webhooks", json={"url": "https://example.com/h"}, headers=reader), 403, "insufficient-scope"
    )
    problem(client.get("/v1/webhooks"), 401, "unauthorized")


# -- the Account page ---------------------------------------------------------------------------

ACCOUNT = "pages/account.py"


@pytest.fixture
def open_page_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[UiEnv]:
    """The page tests' studio (alice and bob) with private webhook targets allowed (the receiver is on loopback)."""
    with studio_env(
        tmp_path, monkeypatch, VEOGEN_WEB_METRICS_PORT="0", VEOGEN_OUTGOING_WEBHOOKS_ALLOW_PRIVATE="true"
    ) as env:
        yield env


@pytest.mark.ui
def test_a_webhook_registered_on_the_account_page_shows_its_secret_once(open_page_env: UiEnv, receiver: Receiver):
    at = open_page(log_in("alice"), ACCOUNT)
    at.text_input(key="account_webhook_url").input(receiver.url)
    at.text_input(key="account_webhook_description").input("render farm")
    button(at, "Add webhook").click().run()
    [code] = at.code
    secret = str(code.value)
    assert secret.startswith("whsec_") and "not shown again" in texts(at)
    [endpoint] = open_page_env.studio.outgoing.list_endpoints(open_page_env.alice.id)
    assert endpoint.url == receiver.url and "render farm" in texts(at)
    at.run()
    assert not at.code and secret not in texts(at)
    button(at, "Pause").click().run()
    assert not open_page_env.studio.outgoing.list_endpoints(open_page_env.alice.id)[0].active
    assert "paused" in texts(at)
    open_bob = open_page(log_in("bob"), ACCOUNT)
    assert "No webhooks." in texts(open_bob) and receiver.url not in texts(open_bob)


@pytest.mark.ui
def test_an_internal_url_is_refused_on_the_page(page_env: UiEnv):
    at = open_page(log_in("alice"), ACCOUNT)
    at.text_input(key="account_webhook_url").input("http://169.254.169.254/latest/meta-data/")
    button(at, "Add webhook").click().run()
    assert "internal address" in texts(at) and not at.code
    assert page_env.studio.outgoing.list_endpoints(page_env.alice.id) == []


@pytest.mark.ui
def test_the_delivery_log_shows_attempts_and_replays(open_page_env: UiEnv, receiver: Receiver):
    studio, alice = open_page_env.studio, open_page_env.alice.id
    studio.outgoing.create(alice, receiver.url)
    finish_one(studio, alice)
    (delivery,) = deliveries(studio)
    receiver.answers = [500]
    studio.outgoing.deliver(delivery.id)
    at = open_page(log_in("alice"), ACCOUNT)
    assert "generation.succeeded" in texts(at) and "HTTP 500 Internal Server Error" in texts(at)
    assert not [b for b in at.button if b.label == "Replay"]  # still being attempted
    make_due(studio)
    studio.outgoing.deliver(delivery.id)
    at.run()
    button(at, "Replay").click().run()
    assert "queued again" in texts(at)
    replay = studio.outgoing.deliveries(alice)[0]
    assert replay.id != delivery.id and replay.event_id == delivery.event_id and replay.status == "pending"
    button(at, "Delete").click().run()
    assert studio.outgoing.list_endpoints(alice) == [] and "No webhooks." in texts(at)
