"""The compose nginx config, run by a real nginx on loopback in front of a real Streamlit and a real receiver.

monitoring/nginx/veogen.conf is used as it is (bench.upload_memory.running_nginx), but for the three
lines that name Docker: `listen 80` (a free loopback port here), the upstream `web:8501` (a
Streamlit started by this module with the project's .streamlit/config.toml, serving a one-line
page) and the upstream `webhooks:9650` (the receiver's Starlette app from core.webhook_receiver on
Uvicorn, judging with a stand-in that records each delivery). Client addresses are chosen with
X-Forwarded-For, which the config trusts from loopback as it does from the host's proxy. The upstream
`api:8600` is the REST API (api.app.create_app over an embedded studio: SQLite, fakeredis, the offline
model) on Uvicorn with the root path the compose file gives it (VEOGEN_API_ROOT_PATH=/api).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import uvicorn
import yaml

from api.app import create_app
from api.problems import MAX_BODY_BYTES as API_MAX_BODY_BYTES
from bench import upload_memory
from bench.upload_memory import Visitor, running_nginx
from core.images import MAX_IMAGE_BYTES
from core.studio import Studio
from core.webhook_events import Outcome
from core.webhook_receiver import MAX_BODY_BYTES, PATH, bind, build_app
from tests.api.support import bearer, body_of, make_token
from tests.support import ROOT, bare_streamlit, embedded_studio, offline_form, wait_until

pytestmark = pytest.mark.integration

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
FRAMING = {"Content-Security-Policy": "frame-ancestors 'self'", "X-Frame-Options": "SAMEORIGIN"}
UPLOAD_PATH = "/_stcore/upload_file"
RECEIVER_UPSTREAM = "http://webhooks:9650;"
"""The receiver's upstream in veogen.conf (the compose service), pointed at the module's receiver here."""
API_UPSTREAM = "http://api:8600;"
"""The REST API's upstream in veogen.conf (the compose service), pointed at the module's API here."""


class Deliveries:
    """Stands in for ``Webhooks`` behind the real receiver app: records what reaches it and takes it."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.counted: list[Outcome] = []

    def receive(self, headers: Mapping[str, str], raw_body: bytes) -> Outcome:
        self.received.append((dict(headers), raw_body))
        return Outcome.ACCEPTED

    def count(self, outcome: Outcome) -> None:
        self.counted.append(outcome)

    def with_id(self, webhook_id: str) -> list[tuple[dict[str, str], bytes]]:
        return [(headers, body) for headers, body in self.received if headers.get("webhook-id") == webhook_id]


@dataclass
class Receiver:
    port: int
    deliveries: Deliveries
    requests: list[tuple[str, dict[str, str]]]
    """(method, headers) of every HTTP request that reached the receiver's server, judged or not."""

    def reached_by(self, webhook_id: str) -> list[str]:
        """The methods of the requests with this ``webhook-id`` that reached the receiver at all."""
        return [method for method, headers in self.requests if headers.get("webhook-id") == webhook_id]


@contextlib.contextmanager
def serving(app: Any, name: str, root_path: str = "") -> Iterator[int]:
    """``app`` on Uvicorn in a thread on a free loopback port, once its ``/healthz`` answers; yield the port."""
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", root_path=root_path)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()

    def answers() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        assert wait_until(answers, timeout=20), f"{name} did not start"
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def streamlit_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with bare_streamlit(tmp_path_factory.mktemp("streamlit")) as port:
        yield port


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    """core.webhook_receiver's app on Uvicorn on a free loopback port, judging with a recording stand-in."""
    deliveries = Deliveries()
    app = build_app(deliveries)  # type: ignore[arg-type]
    seen: list[tuple[str, dict[str, str]]] = []

    async def recorded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.append((scope["method"], {k.decode(): v.decode() for k, v in scope["headers"]}))
        await app(scope, receive, send)

    with serving(recorded, "the receiver") as port:
        yield Receiver(port, deliveries, seen)


@dataclass
class Api:
    port: int
    studio: Studio
    token: str
    """A token (read and generate) of alice, a creator of the API's studio."""


def compose_api_root_path() -> str:
    """VEOGEN_API_ROOT_PATH as docker-compose.yml sets it for the api service."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return str(compose["services"]["api"]["environment"]["VEOGEN_API_ROOT_PATH"])


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The REST API on Uvicorn on a free loopback port, with the compose file's root path (as `veogen api` runs it)."""
    with embedded_studio(tmp_path_factory.mktemp("api")) as studio:
        alice = studio.accounts.add_user("alice", "correct horse battery").id
        with serving(create_app(studio), "the API", root_path=compose_api_root_path()) as port:
            yield Api(port, studio, make_token(studio, alice))


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory, streamlit_port: int, receiver: Receiver, api: Api) -> Iterator[str]:
    """The URL of nginx running veogen.conf (checked by `nginx -t` first) in front of the module's upstreams."""
    assert Path(NGINX).exists(), "nginx is installed by `make test` (scripts/system-deps.sh)"
    docker_names = upload_memory.nginx_site_config

    def site_config(port: int, upstream_port: int) -> str:
        conf = docker_names(port, upstream_port)
        assert conf.count(RECEIVER_UPSTREAM) == 1, f"{RECEIVER_UPSTREAM!r} is not in veogen.conf exactly once"
        assert conf.count(API_UPSTREAM) == 1, f"{API_UPSTREAM!r} is not in veogen.conf exactly once"
        conf = conf.replace(API_UPSTREAM, f"http://127.0.0.1:{api.port};")
        return conf.replace(RECEIVER_UPSTREAM, f"http://127.0.0.1:{receiver.port};")

    with contextlib.ExitStack() as stack:
        with pytest.MonkeyPatch.context() as patch:  # only while running_nginx writes the config
            patch.setattr(upload_memory, "nginx_site_config", site_config)
            url = stack.enter_context(running_nginx(tmp_path_factory.mktemp("nginx"), streamlit_port, nginx=NGINX))
        yield url


def client(address: str) -> dict[str, str]:
    """Headers of a request that the host's proxy forwarded for ``address``."""
    return {"X-Forwarded-For": address}


def put(front: str, address: str, size: int = 16, session: str = "no-such-session") -> requests.Response:
    url = f"{front}{UPLOAD_PATH}/{session}/{uuid.uuid4()}"
    return requests.put(url, files={"file": ("a.png", b"\0" * size, "image/png")}, headers=client(address), timeout=60)


def assert_not_framable(response: requests.Response) -> None:
    for name, value in FRAMING.items():
        assert response.headers.get(name) == value, (response.request.method, response.url, response.status_code, name)


def test_the_config_passes_nginx_t_and_serves(front):
    # running_nginx refuses to start a config that `nginx -t` refuses.
    assert requests.get(f"{front}/nginx-health", timeout=5).text == "ok\n"


def test_every_answer_forbids_framing_by_other_sites(front):
    for path in ("/", "/_stcore/health", "/_stcore/host-config", "/nginx-health", "/some/page"):
        response = requests.get(f"{front}{path}", headers=client("198.51.100.1"), timeout=10)
        assert response.status_code == 200, path
        assert_not_framable(response)
    too_large = put(front, "198.51.100.2", size=22 * 2**20)
    assert too_large.status_code == 413
    assert_not_framable(too_large)
    answers = [put(front, "198.51.100.3") for _ in range(12)]
    assert answers[-1].status_code == 429
    for response in answers:
        assert_not_framable(response)


def test_a_page_session_works_through_nginx_and_takes_the_largest_image(front):
    visitor = Visitor(front, forwarded_for="192.0.2.30")
    with visitor.page() as session_id:  # the WebSocket goes through
        largest = os.urandom(MAX_IMAGE_BYTES)
        assert visitor.upload(session_id, largest) == 204
        # Larger ones reach Streamlit (and get the studio's own message) up to the framing's 1 MiB.
        assert visitor.upload(session_id, largest + b"\0" * 2**19) == 204
        assert visitor.upload(session_id, largest + b"\0" * 2**20) == 413


def test_uploads_are_limited_per_client_address(front):
    first = [put(front, "192.0.2.10").status_code for _ in range(10)]
    limited = first.index(429)
    assert 3 <= limited <= 10, first
    # Passed on to Streamlit, which refuses them: no XSRF token, no such session.
    assert set(first[:limited]) <= {400, 403}, first
    assert put(front, "192.0.2.11").status_code in {400, 403}, "another client address keeps its own budget"
    # Removing a file is not an upload: never limited.
    deleted = requests.delete(f"{front}{UPLOAD_PATH}/no-such-session/x", headers=client("192.0.2.10"), timeout=10)
    assert deleted.status_code != 429


def test_a_pick_of_three_images_is_sent_at_once(front):
    # The browser sends the files of one pick together (Create takes up to 3 reference images).
    visitor = Visitor(front, forwarded_for="192.0.2.20")
    with visitor.page() as session_id, ThreadPoolExecutor(3) as pool:
        picture = os.urandom(8 * 2**20)
        answers = list(pool.map(lambda _: visitor.upload(session_id, picture), range(3)))
    assert answers == [204, 204, 204]


def test_no_body_is_taken_outside_the_upload_path(front):
    response = requests.post(
        f"{front}/_stcore/health", data=b"\0" * (2 * 2**20), headers=client("198.51.100.9"), timeout=10
    )
    assert response.status_code == 413


def test_streamlits_metrics_are_not_served_to_visitors(front, streamlit_port):
    # Streamlit itself serves them to anyone who reaches it: sessions, and the bytes it holds for uploads.
    direct = requests.get(f"http://127.0.0.1:{streamlit_port}/_stcore/metrics", timeout=10)
    assert direct.status_code == 200 and "active_sessions" in direct.text
    response = requests.get(f"{front}/_stcore/metrics", headers=client("198.51.100.20"), timeout=10)
    assert response.status_code == 404
    assert_not_framable(response)
    # nginx matches the decoded, slash-merged path: no other spelling gets them from Streamlit.
    for path in ("/_stcore/metrics?families=cache_memory_bytes", "//_stcore/metrics", "/_stcore/%6Detrics",
                 "/_stcore//metrics", "/_stcore/metrics/", "/_stcore/./metrics"):  # fmt: skip
        answer = requests.get(f"{front}{path}", headers=client("198.51.100.20"), timeout=10)
        assert "active_sessions" not in answer.text, (path, answer.status_code)


def delivery(webhook_id: str, body: bytes, address: str = "203.0.113.7") -> dict[str, str]:
    """The headers of a delivery from Google (Standard Webhooks) that the host's proxy forwarded for ``address``."""
    return {
        **client(address),
        "Content-Type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": "1767225600",
        "webhook-signature": "v1,c2lnbmF0dXJl",
    }


def test_a_webhook_delivery_reaches_the_receiver_as_sent(front, receiver):
    webhook_id = f"msg_{uuid.uuid4().hex}"
    body = b'{"type": "video.generated", "data": {"name": "operations/abc"}}'
    response = requests.post(f"{front}{PATH}", data=body, headers=delivery(webhook_id, body), timeout=10)
    assert response.status_code == 204, response.text
    assert_not_framable(response)
    assert receiver.reached_by(webhook_id) == ["POST"]
    ((headers, received),) = receiver.deliveries.with_id(webhook_id)
    assert received == body
    assert headers["webhook-timestamp"] == "1767225600" and headers["webhook-signature"] == "v1,c2lnbmF0dXJl"
    assert headers["content-type"] == "application/json"
    # The real client address and the Host, forwarded as for the studio.
    assert headers["x-forwarded-for"] == "203.0.113.7"
    assert headers["host"] == front.removeprefix("http://")


def test_the_largest_delivery_reaches_the_receiver_whole_even_chunked(front, receiver):
    largest = os.urandom(MAX_BODY_BYTES)
    sent = f"msg_{uuid.uuid4().hex}"
    response = requests.post(f"{front}{PATH}", data=largest, headers=delivery(sent, largest), timeout=10)
    assert response.status_code == 204
    chunked = f"msg_{uuid.uuid4().hex}"
    pieces = (largest[i : i + 4096] for i in range(0, len(largest), 4096))  # a generator: Transfer-Encoding: chunked
    response = requests.post(f"{front}{PATH}", data=pieces, headers=delivery(chunked, largest), timeout=10)
    assert response.status_code == 204
    for webhook_id in (sent, chunked):
        ((headers, received),) = receiver.deliveries.with_id(webhook_id)
        assert received == largest, webhook_id
        # nginx has the whole body before it sends any of it on: the receiver gets a length, not chunks.
        assert headers.get("content-length") == str(MAX_BODY_BYTES), webhook_id
        assert "transfer-encoding" not in headers, webhook_id


def test_only_post_reaches_the_receiver(front, receiver):
    webhook_id = f"msg_{uuid.uuid4().hex}"
    for method in ("GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"):
        response = requests.request(method, f"{front}{PATH}", headers=delivery(webhook_id, b""), timeout=10)
        assert response.status_code == 405, method
        assert_not_framable(response)
    assert receiver.reached_by(webhook_id) == [], "nginx answers them itself"


def test_an_oversized_delivery_is_refused_by_nginx_with_413(front, receiver):
    webhook_id = f"msg_{uuid.uuid4().hex}"
    too_large = b"\0" * (MAX_BODY_BYTES + 1)
    counted = len(receiver.deliveries.counted)
    response = requests.post(f"{front}{PATH}", data=too_large, headers=delivery(webhook_id, too_large), timeout=10)
    assert response.status_code == 413
    assert_not_framable(response)
    pieces = (too_large[i : i + 4096] for i in range(0, len(too_large), 4096))
    chunked = requests.post(f"{front}{PATH}", data=pieces, headers=delivery(webhook_id, too_large), timeout=10)
    assert chunked.status_code == 413
    # nginx answered both: the receiver (which would refuse them too) never saw either.
    assert receiver.reached_by(webhook_id) == []
    assert len(receiver.deliveries.counted) == counted


def test_the_receivers_other_paths_are_not_served(front, receiver):
    # Only the delivery path goes to the receiver; /healthz and the like are the studio's (Streamlit's) paths.
    direct = requests.get(f"http://127.0.0.1:{receiver.port}/healthz", timeout=10)
    assert direct.json() == {"ok": True}
    through = requests.get(f"{front}/healthz", headers=client("198.51.100.30"), timeout=10)
    assert through.headers.get("content-type", "").startswith("text/html"), through.headers


# -- the REST API under /api/ ---------------------------------------------------------------------------


def test_the_api_and_its_docs_are_served_under_api(front, api):
    assert compose_api_root_path() == "/api"
    docs = requests.get(f"{front}/api/docs", headers=client("198.51.100.40"), timeout=10)
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    assert "/api/openapi.json" in docs.text, "the docs page loads the document through nginx"
    assert_not_framable(docs)
    document = requests.get(f"{front}/api/openapi.json", headers=client("198.51.100.40"), timeout=10)
    assert document.status_code == 200
    assert document.json()["servers"] == [{"url": "/api"}], "Try it out in the docs calls /api/v1/..."
    assert "/v1/generations" in document.json()["paths"]
    assert requests.get(f"{front}/api/healthz", timeout=10).json() == {"ok": True}
    me = requests.get(f"{front}/api/v1/me", headers={**bearer(api.token), **client("198.51.100.40")}, timeout=10)
    assert me.status_code == 200 and me.json()["user"]["username"] == "alice"
    assert_not_framable(me)
    # Without a token the API's own problem comes back through nginx; other paths are still Streamlit's.
    refused = requests.get(f"{front}/api/v1/me", timeout=10)
    assert refused.status_code == 401 and refused.headers["content-type"].startswith("application/problem+json")
    assert requests.get(f"{front}/docs", timeout=10).headers["content-type"].startswith("text/html")
    assert requests.get(f"{front}/openapi.json", timeout=10).headers["content-type"].startswith("text/html")


def test_a_json_body_over_64_kib_is_refused_with_413(front, api):
    headers = {**bearer(api.token), **client("198.51.100.41"), "Content-Type": "application/json"}
    too_large = b'{"url": "https://example.com/' + b"a" * API_MAX_BODY_BYTES + b'"}'
    refused = requests.post(f"{front}/api/v1/webhooks", data=too_large, headers=headers, timeout=10)
    assert refused.status_code == 413
    assert refused.headers["content-type"].startswith("text/html"), "nginx refuses it before the API reads it"
    assert_not_framable(refused)
    chunked = (too_large[i : i + 4096] for i in range(0, len(too_large), 4096))
    assert requests.post(f"{front}/api/v1/webhooks", data=chunked, headers=headers, timeout=10).status_code == 413
    # Submitting takes multipart images, so nginx lets larger bodies through there: the API refuses the JSON one.
    body = {**body_of(offline_form()), "prompt": "x" * (API_MAX_BODY_BYTES + 1)}
    answer = requests.post(f"{front}/api/v1/generations", json=body, headers=headers, timeout=10)
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.text


def test_images_of_many_megabytes_reach_the_api(front, api):
    # Well past the 64 KiB of JSON bodies, well within three images of 20 MiB: the API judges it (the
    # offline model takes no image: its plain 422), not nginx. Submitting and asking the price alike.
    request = json.dumps({**body_of(offline_form()), "mode": "image"})
    for path in ("/api/v1/generations", "/api/v1/quotes"):
        answer = requests.post(
            f"{front}{path}",
            data={"request": request},
            files={"first_frame": ("frame.png", os.urandom(10 * 2**20), "image/png")},
            headers={**bearer(api.token), **client("198.51.100.42")},
            timeout=60,
        )
        assert answer.status_code == 422, (path, answer.text)
        assert answer.json()["field"] == "mode", path


def test_a_generations_live_stream_passes_through_unbuffered(front, api):
    headers = {**bearer(api.token), **client("198.51.100.43")}
    made = requests.post(f"{front}/api/v1/generations", json=body_of(offline_form()), headers=headers, timeout=10)
    assert made.status_code == 201, made.text
    generation_id = made.json()["id"]
    # No worker runs here: the generation stays queued and its stream stays open. Its first messages
    # (retry, then the 'queued' status event) are a few hundred bytes: they arrive only if nginx passes
    # them on as they come instead of filling a buffer first.
    started = time.monotonic()
    with requests.get(
        f"{front}/api/v1/generations/{generation_id}/stream", headers=headers, stream=True, timeout=10
    ) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines: list[str] = []
        for raw in stream.iter_lines(chunk_size=1):
            lines.append(raw.decode())
            if lines[-1].startswith("data: "):
                break
        assert time.monotonic() - started < 5, "the first event waited in a buffer"
    assert "event: status" in lines, lines
    event = json.loads(lines[-1].removeprefix("data: "))
    assert event["to_status"] == "queued", event
