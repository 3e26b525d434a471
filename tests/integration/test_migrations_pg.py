"""On PostgreSQL too, the migrations build exactly the schema the models describe."""

from __future__ import annotations

import pytest
from alembic import command

from tests.unit.test_migrations import alembic_config

pytestmark = pytest.mark.integration


def test_postgres_schema_matches_the_models(pg_url: str):
    command.check(alembic_config(pg_url))
