"""Integration fixtures: real PostgreSQL, real Redis, and workers/scheduler as real processes.

``make test`` makes sure both servers answer. PostgreSQL gets a database of its
own (``veogen_it``), migrated once and truncated before each test; Redis uses
database 12, flushed before and after each test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from core.config import Settings, setting_env_names
from core.db import upgrade_database
from core.studio import Studio, build_studio
from standin import VeoStandIn
from tests.conftest import make_settings
from tests.support import ROOT, wait_until  # noqa: F401  (re-exported for the tests)

PG_ADMIN = os.environ.get("VEOGEN_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_URL = os.environ.get("VEOGEN_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/veogen_it")
REDIS_URL = os.environ.get("VEOGEN_TEST_REDIS_URL", "redis://127.0.0.1:6379/12")
TABLES = "ledger_entries, events, videos, generations, users"


@pytest.fixture(scope="session")
def pg_url() -> str:
    name = PG_URL.rsplit("/", 1)[-1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    upgrade_database(PG_URL)
    return PG_URL


@pytest.fixture
def standin() -> Iterator[VeoStandIn]:
    """The local Veo stand-in (tests reach it through the real google-genai client)."""
    with VeoStandIn(api_key="test-key") as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, pg_url: str) -> Settings:
    return make_settings(tmp_path, database_url=pg_url, redis_url=REDIS_URL)


@pytest.fixture
def studio(settings: Settings) -> Iterator[Studio]:
    s = build_studio(settings)
    with s.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    s.redis.flushdb()
    yield s
    s.redis.flushdb()
    s.engine.dispose()


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


@pytest.fixture
def processes(settings: Settings, tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(settings, tmp_path)
    yield procs
    procs.stop_all()
