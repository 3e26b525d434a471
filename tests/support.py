"""Small helpers shared by the test suites: waiting, free ports, and `veogen up` as a process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import event

from core.config import Settings, setting_env_names
from core.services.generations import GenerationForm

ROOT = Path(__file__).resolve().parent.parent


def offline_form(prompt: str = "A lighthouse in a storm", **fields: object) -> GenerationForm:
    """A valid request for the offline renderer at its smallest size, with a fresh idempotency key."""
    return _form({"model": "offline-preview", "prompt": prompt, "duration_seconds": 2, "resolution": "240p"}, fields)


VEO_MODEL = "veo-3.1-fast-generate-001"
VEO_PRICE = Decimal("0.40")
"""What ``veo_form``'s request costs: 4 s × $0.10 at 720p."""


def veo_form(prompt: str = "A heron lifts off a misty lake", **fields: object) -> GenerationForm:
    """A valid paid request (Veo 3.1 Fast, 4 s, 720p: ``VEO_PRICE``), with a fresh idempotency key."""
    return _form({"model": VEO_MODEL, "prompt": prompt, "duration_seconds": 4, "resolution": "720p"}, fields)


def _form(values: dict[str, object], fields: dict[str, object]) -> GenerationForm:
    return GenerationForm(**{"idempotency_key": uuid.uuid4().hex, **values, **fields})  # type: ignore[arg-type]


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


class NestedCheckouts:
    """Count the times a thread takes a second pooled connection while it already holds one.

    That is the shape of a pool deadlock: enough threads each holding one
    connection and waiting for another exhaust the pool, and every one of them
    waits until the pool's timeout.
    """

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.held = threading.local()
        self.nested: list[str] = []

    def _out(self, *_: object) -> None:
        depth = getattr(self.held, "depth", 0) + 1
        self.held.depth = depth
        if depth > 1:
            self.nested.append(threading.current_thread().name)

    def _in(self, *_: object) -> None:
        self.held.depth = getattr(self.held, "depth", 1) - 1

    def __enter__(self) -> NestedCheckouts:
        event.listen(self.engine, "checkout", self._out)
        event.listen(self.engine, "checkin", self._in)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "checkout", self._out)
        event.remove(self.engine, "checkin", self._in)


def fifty_concurrent_submits(studio: Any, form: Callable[..., GenerationForm], price: Decimal) -> None:
    """Fifty paid submits at once in this one process, against a budget, a cap and plenty of room.

    Credentials are read on every submit (no cache), as they are whenever the
    cache has just expired. Every caller gets an answer well before the pool's
    30 s timeout — a generation or a refusal in plain words, never a raw
    error — and the money is the same as if they had come one by one.
    """
    from sqlalchemy import func, select, update

    import core.providers.registry
    from core.errors import BudgetError
    from core.models import Generation, LedgerEntry, User

    budgeted = studio.accounts.add_user("budgeted", "a long enough password").id
    capped = studio.accounts.add_user("capped", "a long enough password").id
    free = studio.accounts.add_user("roomy", "a long enough password").id
    with studio.engine.begin() as conn:
        conn.execute(update(User).where(User.id == budgeted).values(monthly_budget_usd=price * 5))
        conn.execute(update(User).where(User.id == capped).values(max_open_generations=3))
    users = [budgeted, capped, free]

    def attempt(i: int) -> str:
        try:
            studio.generations.submit(users[i % 3], form(f"crowd {i}"))
        except BudgetError:
            return "refused"
        except Exception as exc:  # the defect: sqlalchemy's raw TimeoutError after 30 s
            return f"raw {type(exc).__name__}: {exc}"
        return "created"

    ttl = core.providers.registry.CREDENTIALS_TTL_SECONDS
    core.providers.registry.CREDENTIALS_TTL_SECONDS = 0
    started = time.monotonic()
    try:
        with NestedCheckouts(studio.engine) as nesting, ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(attempt, range(50)))
    finally:
        core.providers.registry.CREDENTIALS_TTL_SECONDS = ttl
    elapsed = time.monotonic() - started
    assert [r for r in results if r not in ("created", "refused")] == []
    assert nesting.nested == []
    assert elapsed < 20, f"50 submits took {elapsed:.1f} s"  # the pool's timeout is 30 s
    made = {user: 0 for user in users}
    with studio.sessions() as s:
        for user in s.execute(select(Generation.user_id)).scalars():
            made[user] += 1
        spent = dict(
            s.execute(select(LedgerEntry.user_id, func.sum(LedgerEntry.amount_usd)).group_by(LedgerEntry.user_id)).all()
        )
    # 17 submits each for the first two users, 16 for the third.
    assert made == {budgeted: 5, capped: 3, free: 16}
    assert results.count("created") == 24 and results.count("refused") == 26
    assert spent == {budgeted: price * 5, capped: price * 3, free: price * 16}


@contextmanager
def bare_streamlit(folder: Path) -> Iterator[int]:
    """A one-line Streamlit app, started without VeoGen's launcher (no framing headers, no upload check); its port."""
    (folder / "page.py").write_text('import streamlit as st\n\nst.write("A page.")\n')
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    with (folder / "streamlit.log").open("wb") as log:
        # From the repository root, so .streamlit/config.toml (server.maxUploadSize) applies.
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(folder / "page.py"), "--server.port", str(port)],
            cwd=ROOT, env=env, stdout=log, stderr=log,
        )  # fmt: skip
    try:
        started = wait_until(lambda: healthy(port) or proc.poll() is not None, timeout=60)
        assert started and proc.poll() is None, (folder / "streamlit.log").read_text()
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=15)


LISTED_MODELS = (VEO_MODEL, "veo-3.1-generate-001", "gemini-omni-1.1-flash")
"""What a test's Google credential lists when its real list is not read (unit tests)."""


def list_models_as(studio: Any, ids: tuple[str, ...], user_id: int | None = None) -> None:
    """Take every Google credential of ``user_id`` to list ``ids`` (the shared cache is written; Google is not asked)."""
    for credential in studio.providers.credentials(user_id):
        studio.providers.live.refresh(credential.key, lambda: frozenset(ids))


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings for a test: data under ``tmp_path``, fast polls, short staleness."""
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "poll_interval_seconds": 0.2,
        "poll_max_interval_seconds": 0.5,
        "stale_after_seconds": 2,
        "reconcile_interval_seconds": 1,
        "job_timeout_seconds": 60,
        "default_max_open_generations": 1000,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


# -- integration: real PostgreSQL, real Redis, and workers/scheduler as real processes ----------------

PG_ADMIN = os.environ.get("VEOGEN_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_URL = os.environ.get("VEOGEN_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/veogen_it")
REDIS_URL = os.environ.get("VEOGEN_TEST_REDIS_URL", "redis://127.0.0.1:6379/12")


def env_for(settings: Settings) -> dict[str, str]:
    """The environment a worker or scheduler process needs to share this test's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VEOGEN_", "GOOGLE_", "GEMINI_"))}
    for name, env_name in zip(Settings.model_fields, setting_env_names(), strict=True):
        value = getattr(settings, name)
        env[env_name] = "" if value is None else str(value)
    env["VEOGEN_LOG_LEVEL"] = "WARNING"
    env["PYTHONPATH"] = str(ROOT)
    return env


class Processes:
    """Worker and scheduler processes started for one test; all killed at the end."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        self.env = env_for(settings)
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, module: str) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{module}-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, env=self.env, stdout=log, stderr=log)
        self.procs.append(proc)
        return proc

    def worker(self) -> subprocess.Popen[bytes]:
        return self.start("workers.main")

    def scheduler(self) -> subprocess.Popen[bytes]:
        return self.start("workers.scheduler")

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
        for p in self.procs:
            p.wait(timeout=10)


@contextmanager
def embedded_studio(tmp_path: Path, *, listed: tuple[str, ...] | None = None, **overrides: object) -> Iterator[Any]:
    """A studio for unit tests: SQLite under ``tmp_path``, migrated; fakeredis for the queue.

    ``listed``: the model ids every configured Google credential's live list is taken to
    hold (written into the shared model-list cache, so Google is never asked).
    """
    import fakeredis

    from core.db import upgrade_database
    from core.studio import build_studio

    settings = make_settings(tmp_path, **overrides)
    upgrade_database(settings.resolved_database_url())
    studio = build_studio(settings, redis=fakeredis.FakeRedis())
    if listed is not None:
        list_models_as(studio, listed)
    try:
        yield studio
    finally:
        studio.engine.dispose()


def drive(studio: Any, generation_id: str, *, polls: int = 30) -> Any:
    """Admission, then the polls a worker would run, in this process, until the row is final; returns the row."""
    from core.models import Generation
    from core.status import Status

    studio.movies.link_waiting()
    studio.admission.admit()
    for _ in range(polls):
        with studio.sessions() as session:
            row = session.get(Generation, generation_id)
            if Status(row.status).is_final:
                return row
            seq = row.job_seq
        studio.pipeline.poll(generation_id, seq)
    raise AssertionError(f"generation {generation_id} never finished")


def wav(seconds: float, rate: int = 44100) -> bytes:
    """A 440 Hz tone as a 16-bit mono WAV file (a soundtrack to upload)."""
    import io
    import wave

    import numpy as np

    samples = (np.sin(2 * np.pi * 440 * np.arange(int(seconds * rate)) / rate) * 12000).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return out.getvalue()
