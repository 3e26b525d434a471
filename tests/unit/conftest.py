"""Unit fixtures: SQLite in a temp folder, fakeredis for the queue, the real offline renderer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest

from core.db import upgrade_database
from core.studio import Studio, build_studio
from tests.support import make_settings


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[Studio]:
    settings = make_settings(tmp_path)
    upgrade_database(settings.resolved_database_url())
    s = build_studio(settings, redis=fakeredis.FakeRedis())
    yield s
    s.engine.dispose()


@pytest.fixture
def alice(studio: Studio) -> int:
    return studio.accounts.add_user("alice", "correct horse battery").id


@pytest.fixture
def bob(studio: Studio) -> int:
    return studio.accounts.add_user("bob", "another long secret").id
