"""Integration fixtures: real PostgreSQL, real Redis, and workers/scheduler as real processes.

``make test`` makes sure both servers answer. PostgreSQL gets a database of its
own (``veogen_it``), migrated once and truncated before each test; Redis uses
database 12, flushed before and after each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from core.config import Settings
from core.db import upgrade_database
from core.studio import Studio, build_studio
from standin import LEGACY_GEMINI_VEO, Behaviour, VeoStandIn
from tests.support import PG_ADMIN, PG_URL, REDIS_URL, Processes, make_settings

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
    with VeoStandIn(api_key="test-key", behaviour=Behaviour(gemini_models=list(LEGACY_GEMINI_VEO))) as server:
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


@pytest.fixture
def processes(settings: Settings, tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(settings, tmp_path)
    yield procs
    procs.stop_all()
