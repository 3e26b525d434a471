"""`veogen up`, the embedded default: bundled Redis, SQLite, admin, workers, scheduler and
Streamlit start from nothing, and one SIGINT (Ctrl-C) stops every process it started."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from redis import Redis

from tests.support import ROOT, free_port, healthy, wait_until

pytestmark = pytest.mark.integration


def children(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return {int(x) for x in out.stdout.split()}


def scrape(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            return response.read().decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_up_starts_everything_and_ctrl_c_stops_it(tmp_path: Path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VEOGEN_", "DATABASE_URL", "REDIS_URL"))}
    exporter_port = free_port()
    env.update(
        VEOGEN_DATA_DIR=str(tmp_path / "data"),
        STREAMLIT_SERVER_PORT=str(port),
        VEOGEN_EXPORTER_PORT=str(exporter_port),
        VEOGEN_WEBHOOK_PORT=str(free_port()),
        VEOGEN_API_PORT=str(free_port()),
    )
    log = (tmp_path / "up.log").open("wb")
    # Its own process group, like a command started from a terminal.
    up = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "up"], cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True
    )
    try:
        assert wait_until(lambda: healthy(port), timeout=60), (tmp_path / "up.log").read_text()
        output = (tmp_path / "up.log").read_text()
        assert re.search(r"created user 'admin' with password  \S{12,}", output)
        sock = tmp_path / "data" / "redis" / "redis.sock"
        assert Redis(unix_socket_path=str(sock)).ping()
        assert (tmp_path / "data" / "veogen.db").exists()
        # Nobody else on the machine reads the database, media, Redis files or secrets.
        assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700
        for path in (tmp_path / "data").rglob("*"):
            if path.is_file():
                assert path.stat().st_mode & 0o077 == 0, path
        # redis, 2 workers, scheduler, exporter, webhook receiver, API (its Uvicorn processes are its own), web
        assert wait_until(lambda: len(children(up.pid)) == 8, timeout=20)
        assert wait_until(lambda: "veogen_workers_alive 2.0" in scrape(exporter_port), timeout=20)
        started = children(up.pid)
        os.killpg(up.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole foreground group
        assert up.wait(timeout=40) == 0
        assert wait_until(lambda: not any(alive(p) for p in started), timeout=10)
        assert not sock.exists() or not healthy(port)
        after = (tmp_path / "up.log").read_text()
        assert "Traceback" not in after, after  # Redis stops last, so no process loses it while stopping
    finally:
        if up.poll() is None:
            up.kill()
        log.close()
