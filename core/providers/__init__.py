"""Video providers behind one Protocol; adapters load lazily so the web process stays light."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from core.errors import ProviderUnavailableError

if TYPE_CHECKING:
    from core.config import Settings
    from core.providers.base import VideoProvider


def available_providers(settings: Settings) -> set[str]:
    """Return the names of the providers this studio can use now."""
    return {"offline"}


@lru_cache(maxsize=8)
def get_provider(name: str) -> VideoProvider:
    """Return the provider called ``name``, importing its adapter on first use."""
    if name == "offline":
        from core.providers.offline import OfflineProvider

        return OfflineProvider()
    raise ProviderUnavailableError(f"provider {name!r} is not available", code="UNAVAILABLE")
