"""The studio behind the compose nginx config (a real nginx on loopback), in headless Chromium.

A person logs in through it and stays logged in after a reload: the login cookie is written by a
component frame of the studio's own origin, which `frame-ancestors 'self'` must still allow. A page of
another site can frame the studio neither through nginx nor directly (`make run` starts it through
its launcher, `web.py`, which sends the same headers); the same page frames a bare one-line Streamlit
app — the control that shows the check can tell the two apart.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Frame, Page, expect

from bench.upload_memory import running_nginx
from tests.e2e.support import ADMIN_PASSWORD, log_in
from tests.support import RunningStudio, bare_streamlit, wait_until

pytestmark = pytest.mark.e2e

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@pytest.fixture(scope="module")
def front(studio_up: RunningStudio, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert Path(NGINX).exists(), "nginx is installed by `make test` (scripts/system-deps.sh)"
    with running_nginx(tmp_path_factory.mktemp("nginx"), studio_up.port, nginx=NGINX) as url:
        yield url


@pytest.fixture
def other_site() -> Iterator[str]:
    """Another origin (localhost, not 127.0.0.1) serving a page that frames whatever ``?src=`` names."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            src = self.path.partition("?src=")[2]
            body = f'<html><body><iframe src="{src}" width="900" height="600"></iframe></body></html>'.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def framed(page: Page, other_site: str, target: str) -> Frame:
    """Open the other site's page framing ``target``; return the frame once it has navigated."""
    page.goto(f"{other_site}?src={target}")
    for _ in range(150):  # Playwright's own waits: time.sleep would stop it from seeing the frame navigate
        if len(page.frames) > 1 and page.frames[1].url not in ("", "about:blank"):
            return page.frames[1]
        page.wait_for_timeout(200)
    raise AssertionError(f"the frame of {target} never navigated")


def test_a_person_logs_in_through_nginx_and_stays_logged_in(front: str, page: Page):
    response = page.goto(front)
    assert response is not None
    assert response.headers["content-security-policy"] == "frame-ancestors 'self'"
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    log_in(page, front, "admin", ADMIN_PASSWORD)
    expect(page.get_by_role("heading", name="Create a video")).to_be_visible()
    assert wait_until(lambda: any(c["name"] == "veogen_auth" for c in page.context.cookies()), timeout=30)
    page.reload()
    expect(page.get_by_role("heading", name="Create a video")).to_be_visible()


def test_another_site_cannot_frame_the_studio_through_nginx_or_directly(
    front: str, studio_up: RunningStudio, page: Page, other_site: str, tmp_path: Path
):
    assert framed(page, other_site, f"{front}/").url.startswith("chrome-error://")
    assert framed(page, other_site, f"{studio_up.url}/").url.startswith("chrome-error://")
    # A Streamlit app without the launcher sends no framing header: the same page frames it.
    with bare_streamlit(tmp_path) as port:
        bare = framed(page, other_site, f"http://127.0.0.1:{port}/")
        assert bare.url.startswith(f"http://127.0.0.1:{port}")
        expect(bare.locator("body")).to_contain_text("A page.", timeout=30_000)
