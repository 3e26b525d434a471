"""The compose nginx config, run by a real nginx on loopback in front of a real Streamlit.

monitoring/nginx/veogen.conf is used as it is (bench.upload_memory.running_nginx), but for the two
lines that name Docker: `listen 80` (a free loopback port here) and the upstream `web:8501` (a
Streamlit started by this module with the project's .streamlit/config.toml, serving a one-line
page). Client addresses are chosen with X-Forwarded-For, which the config trusts from loopback as it
does from the host's proxy.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from bench.upload_memory import Visitor, running_nginx
from core.images import MAX_IMAGE_BYTES
from tests.support import bare_streamlit

pytestmark = pytest.mark.integration

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
FRAMING = {"Content-Security-Policy": "frame-ancestors 'self'", "X-Frame-Options": "SAMEORIGIN"}
UPLOAD_PATH = "/_stcore/upload_file"


@pytest.fixture(scope="module")
def streamlit_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with bare_streamlit(tmp_path_factory.mktemp("streamlit")) as port:
        yield port


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory, streamlit_port: int) -> Iterator[str]:
    """The URL of nginx running veogen.conf (checked by `nginx -t` first) in front of the module's Streamlit."""
    assert Path(NGINX).exists(), "nginx is installed by `make test` (scripts/system-deps.sh)"
    with running_nginx(tmp_path_factory.mktemp("nginx"), streamlit_port, nginx=NGINX) as url:
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
