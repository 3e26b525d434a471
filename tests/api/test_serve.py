"""``veogen api``: Uvicorn serves the app by its import string, answers with tokens, stops on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import fakeredis
import pytest

from core.cli import API_APP
from core.db import upgrade_database
from core.studio import build_studio
from tests.api.mcp_client import call
from tests.api.support import make_token
from tests.support import ROOT, drive, free_port, make_settings, offline_form, veogen_up, wait_until


def get(port: int, path: str, token: str = "") -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=3) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())
    except OSError:
        return 0, {}


def api_env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VEOGEN_", "DATABASE_URL", "REDIS_URL"))}
    return env | {"VEOGEN_DATA_DIR": str(data_dir), "VEOGEN_API_PORT": str(port)}


def serving(pid: int) -> set[int]:
    """The Uvicorn processes ``pid`` started (multiprocessing's resource tracker, also its child, is not one)."""
    out = subprocess.run(["ps", "-ww", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True)
    return {int(line.split()[0]) for line in out.stdout.splitlines() if "spawn_main" in line}


def gone(pids: set[int]) -> bool:
    return all(not Path(f"/proc/{pid}").exists() for pid in pids)


@pytest.mark.parametrize("processes", [1, 2])
def test_veogen_api_serves_the_app_until_sigterm(tmp_path: Path, processes: int):
    assert API_APP == "api.app:app"
    settings = make_settings(tmp_path)
    upgrade_database(settings.resolved_database_url())
    studio = build_studio(settings, redis=fakeredis.FakeRedis())
    alice = studio.accounts.add_user("alice", "correct horse battery").id
    token = make_token(studio, alice, "read")
    port = free_port()
    log = tmp_path / "api.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "api"],
            cwd=tmp_path,  # not the checkout: the installed command must find the api package itself
            env=api_env(settings.data_dir, port) | {"VEOGEN_API_PROCESSES": str(processes)},
            stdout=out,
            stderr=out,
        )
    try:
        assert wait_until(lambda: get(port, "/healthz")[0] == 200, timeout=30), log.read_text()
        status, me = get(port, "/v1/me", token)
        assert status == 200 and me["user"]["username"] == "alice"  # type: ignore[index]
        status, refused = get(port, "/v1/me")
        assert status == 401 and refused["type"] == "urn:veogen:problem:unauthorized"
        served_by = serving(proc.pid)
        assert len(served_by) == (processes if processes > 1 else 0)
        if served_by:  # a serving process that dies is replaced; the others answer meanwhile
            os.kill(min(served_by), signal.SIGKILL)
            assert get(port, "/v1/me", token)[0] == 200
            assert wait_until(lambda: len(serving(proc.pid) - served_by) == 1, timeout=20), log.read_text()
            served_by = serving(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert wait_until(lambda: gone(served_by), timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = log.read_text()
    assert f"REST API on http://127.0.0.1:{port}/v1 (docs at /docs), {processes} process(es)" in output
    assert "Traceback" not in output
    studio.engine.dispose()


def test_serving_processes_stop_when_their_parent_is_killed(tmp_path: Path):
    port = free_port()
    with (tmp_path / "api.log").open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "api", "--processes", "2"],
            cwd=ROOT,
            env=api_env(tmp_path / "data", port),
            stdout=out,
            stderr=out,
        )
    try:
        assert wait_until(lambda: get(port, "/healthz")[0] == 200, timeout=30)
        served_by = serving(proc.pid)
        assert len(served_by) == 2
        proc.kill()  # SIGKILL: no chance to stop its children
        proc.wait()
        assert wait_until(lambda: gone(served_by), timeout=15)  # none serves on unsupervised
        assert get(port, "/healthz")[0] == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_taken_port_is_refused_plainly_and_not_retried(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "core.cli", "api"],
            cwd=ROOT,
            env=api_env(tmp_path / "data", port),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2  # veogen up does not restart a process that refused its configuration
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "VEOGEN_API_PORT" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.integration
def test_veogen_up_starts_the_api(tmp_path: Path):
    port = free_port()
    with veogen_up(tmp_path, VEOGEN_API_PORT=str(port), VEOGEN_WEBHOOK_PORT=str(free_port())) as running:
        assert wait_until(lambda: get(port, "/healthz")[0] == 200, timeout=30), running.output()
        assert get(port, "/v1/models")[0] == 401
        assert f"REST API on http://127.0.0.1:{port}/v1" in running.output()


def test_in_production_weak_secrets_are_refused_before_anything_listens(tmp_path: Path):
    port = free_port()
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", "api"],
        cwd=ROOT,
        env=api_env(tmp_path / "data", port) | {"VEOGEN_ENV": "production", "VEOGEN_COOKIE_KEY": "changeme"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "VEOGEN_COOKIE_KEY" in done.stderr and "VEOGEN_SECRET_KEY" in done.stderr
    assert get(port, "/healthz")[0] == 0


@pytest.mark.parametrize("trusted", [True, False])
def test_forwarded_headers_count_from_trusted_proxies_only(tmp_path: Path, trusted: bool):
    settings = make_settings(tmp_path)
    upgrade_database(settings.resolved_database_url())
    studio = build_studio(settings, redis=fakeredis.FakeRedis())
    alice = studio.accounts.add_user("alice", "correct horse battery").id
    token = make_token(studio, alice, "read")
    generation_id = studio.generations.submit(alice, offline_form())[0].id
    drive(studio, generation_id)
    port = free_port()
    env = api_env(settings.data_dir, port) | {"VEOGEN_TRUSTED_PROXIES": "127.0.0.0/8" if trusted else ""}
    with (tmp_path / "api.log").open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "api", "--processes", "1"], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    try:
        assert wait_until(lambda: get(port, "/healthz")[0] == 200, timeout=30)
        # What nginx sends behind a TLS proxy: the outside host and scheme.
        proxied = {"Host": "studio.example", "X-Forwarded-Proto": "https"}
        (where,) = call(f"http://127.0.0.1:{port}", token, ("fetch", {"generation_id": generation_id}), **proxied)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    scheme = "https" if trusted else "http"  # from anyone else, X-Forwarded-Proto is ignored
    assert where["url"] == f"{scheme}://studio.example/v1/generations/{generation_id}/videos/0"
    studio.engine.dispose()
