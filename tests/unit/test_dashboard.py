"""core.dashboard: basic auth, and no change to the queue from another site's page."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from core.dashboard import make_app
from tests.support import make_settings

AUTH = {"Authorization": "Basic " + base64.b64encode(b"operator:a-dashboard-password").decode()}


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    settings = make_settings(tmp_path, dashboard_password="a-dashboard-password", redis_url="redis://127.0.0.1:9/0")
    return make_app(settings).test_client()


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("POST", "/requeue/veogen", {"Sec-Fetch-Site": "cross-site"}),
        ("GET", "/requeue/veogen", {"Sec-Fetch-Site": "cross-site"}),  # an <img> elsewhere would requeue all
        ("POST", "/queue/veogen/failed/empty", {"Sec-Fetch-Site": "same-site"}),
        ("POST", "/job/abc/delete", {"Origin": "https://evil.example"}),
        ("POST", "/job/abc/requeue", {"Referer": "https://evil.example/page"}),
        ("POST", "/job/abc/requeue", {"Referer": "http://localhost.evil.example/"}),
    ],
)
def test_changes_from_another_site_are_refused(client: FlaskClient, method: str, path: str, headers: dict[str, str]):
    response = client.open(path, method=method, headers={**AUTH, **headers})
    assert response.status_code == 403
    assert b"dashboard's own pages" in response.data


def test_no_dashboard_page_can_be_framed(client: FlaskClient):
    for response in (client.get("/"), client.get("/", headers={**AUTH, "Sec-Fetch-Site": "cross-site"})):
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
