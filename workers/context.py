"""The worker process's services, built once per process from the environment."""

from __future__ import annotations

from functools import lru_cache

from core.config import get_settings
from core.pipeline import Pipeline
from core.studio import build_studio


@lru_cache(maxsize=1)
def get_pipeline() -> Pipeline:
    """Return this process's pipeline (database, queue, storage, providers)."""
    return build_studio(get_settings()).pipeline
