"""Unit fixtures: SQLite in a temp folder, fakeredis for the queue, the real offline renderer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.studio import Studio
from tests.support import embedded_studio


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[Studio]:
    with embedded_studio(tmp_path) as studio:
        yield studio


@pytest.fixture
def alice(studio: Studio) -> int:
    return studio.accounts.add_user("alice", "correct horse battery").id


@pytest.fixture
def bob(studio: Studio) -> int:
    return studio.accounts.add_user("bob", "another long secret").id
