"""``veogen api`` behind a proxy that strips a prefix (the compose file's nginx, ``/api``): VEOGEN_API_ROOT_PATH."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.config import Settings
from tests.support import free_port, make_settings, wait_until


def fetch(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as answer:
            return answer.status, answer.read().decode()
    except OSError:
        return 0, ""


def test_the_docs_and_the_document_name_the_prefix_the_proxy_strips(tmp_path: Path):
    settings = make_settings(tmp_path)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VEOGEN_", "DATABASE_URL", "REDIS_URL"))}
    env |= {"VEOGEN_DATA_DIR": str(settings.data_dir), "VEOGEN_API_PORT": str(port), "VEOGEN_API_ROOT_PATH": "/api"}
    log = tmp_path / "api.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "api"], cwd=tmp_path, env=env, stdout=out, stderr=out
        )
    try:
        # The proxy has taken /api off: the app answers the paths it always had.
        assert wait_until(lambda: fetch(port, "/healthz")[0] == 200, timeout=30), log.read_text()
        status, docs = fetch(port, "/docs")
        assert status == 200 and "'/api/openapi.json'" in docs, "the browser fetches the document through the proxy"
        status, document = fetch(port, "/openapi.json")
        assert status == 200 and json.loads(document)["servers"] == [{"url": "/api"}]
    finally:
        proc.terminate()  # SIGTERM: a clean stop is tests/api/test_serve.py's subject
        proc.wait(timeout=15)


@pytest.mark.parametrize("value", ["api", "/api/", "/a pi", "/api?x=1"])
def test_a_root_path_that_is_not_a_plain_path_prefix_is_refused(value: str):
    with pytest.raises(ValidationError, match="api_root_path"):
        Settings(_env_file=None, api_root_path=value)  # type: ignore[call-arg]


def test_no_root_path_by_default():
    assert Settings(_env_file=None).api_root_path == ""  # type: ignore[call-arg]
