"""The worker process's services, built once per process from the environment."""

from __future__ import annotations

from functools import lru_cache

from core.config import get_settings
from core.movies import Movies
from core.pipeline import Pipeline
from core.studio import Studio, build_studio


@lru_cache(maxsize=1)
def get_studio() -> Studio:
    """Return this process's services, built once from the environment."""
    return build_studio(get_settings())


def get_pipeline() -> Pipeline:
    """Return this process's pipeline (database, queue, storage, providers)."""
    return get_studio().pipeline


def get_movies() -> Movies:
    """Return this process's movies (assembly jobs)."""
    return get_studio().movies
