"""Small helpers shared by the test suites: waiting, free ports, and `veogen up` as a process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.services.generations import GenerationForm

ROOT = Path(__file__).resolve().parent.parent


def offline_form(prompt: str = "A lighthouse in a storm", **fields: object) -> GenerationForm:
    """A valid request for the offline renderer at its smallest size, with a fresh idempotency key."""
    values: dict[str, object] = {
        "model": "offline-preview",
        "prompt": prompt,
        "duration_seconds": 2,
        "resolution": "240p",
        "idempotency_key": uuid.uuid4().hex,
    }
    values.update(fields)
    return GenerationForm(**values)  # type: ignore[arg-type]


def wait_until(predicate: Callable[[], bool], *, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


@dataclass
class RunningStudio:
    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def veogen_up(tmp_path: Path, **env_overrides: str) -> Iterator[RunningStudio]:
    """Run `veogen up` on the embedded default in ``tmp_path``; kill it on exit."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VEOGEN_", "DATABASE_URL", "REDIS_URL"))}
    env.update(VEOGEN_DATA_DIR=str(tmp_path / "data"), STREAMLIT_SERVER_PORT=str(port), **env_overrides)
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "core.cli", "up"], cwd=ROOT, env=env, stdout=out, stderr=out)
    running = RunningStudio(proc, port, tmp_path / "data", log)
    try:
        if not wait_until(lambda: healthy(port) or proc.poll() is not None, timeout=90) or proc.poll() is not None:
            raise RuntimeError(f"veogen up did not start:\n{running.output()}")
        yield running
    finally:
        if proc.poll() is None:
            proc.send_signal(2)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
