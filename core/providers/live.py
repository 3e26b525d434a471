"""The live model list: which model ids each credential may use now, read from Google and shared.

Google retires ids on its own calendar (reference part 2, section 3.2), so a
studio never trusts a frozen list: each credential's ``models.list()`` is read
at start, every ``VEOGEN_MODELS_REFRESH_HOURS`` and again after a 404 "no longer
available", and kept in Redis so that the web, the scheduler and the workers
agree without each asking Google. A list that cannot be read is remembered as
such for a minute (the page then says why) rather than asked again on every rerun.
Imports no provider SDK: the listing itself is a callable given by the registry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError

from core.errors import ProviderError

log = logging.getLogger(__name__)

FAILED_LIST_TTL_SECONDS = 60
"""How long a failed listing is remembered before Google is asked again, in seconds."""

KEY_PREFIX = "veogen:models:"


@dataclass(frozen=True)
class ModelList:
    """What one credential could use when its list was last read."""

    ids: frozenset[str]
    read_at: float
    """Unix time of the reading."""
    error: str = ""
    """Why the list could not be read (then ``ids`` is empty)."""


def fingerprint(*parts: str) -> str:
    """A short, non-reversible name for a credential (its secret never reaches Redis)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


class LiveModels:
    """Each credential's model ids, read through ``lister`` and cached in Redis for ``ttl_seconds``."""

    def __init__(self, *, redis: Redis, ttl_seconds: float, clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.ttl_seconds = ttl_seconds
        self.clock = clock

    def get(self, key: str, lister: Callable[[], frozenset[str]]) -> ModelList:
        """The cached list of credential ``key``, or a fresh reading when there is none."""
        cached = self._read(key)
        if cached is not None:
            return cached
        return self.refresh(key, lister)

    def refresh(self, key: str, lister: Callable[[], frozenset[str]]) -> ModelList:
        """Read the list from Google now and share it; a failure is kept for a minute with its reason."""
        try:
            found = ModelList(ids=lister(), read_at=self.clock())
            ttl = self.ttl_seconds
        except ProviderError as exc:
            log.warning("could not list the models of a credential: %s", exc)
            found = ModelList(ids=frozenset(), read_at=self.clock(), error=str(exc))
            ttl = FAILED_LIST_TTL_SECONDS
        payload = json.dumps({"ids": sorted(found.ids), "read_at": found.read_at, "error": found.error})
        try:
            self.redis.set(KEY_PREFIX + key, payload, ex=max(1, round(ttl)))
        except RedisError as exc:
            log.warning("could not share a model list in Redis: %s", exc)
        return found

    def forget(self, key: str) -> None:
        """Drop a credential's list (after a 404 "no longer available"): the next use reads it again."""
        try:
            self.redis.delete(KEY_PREFIX + key)
        except RedisError as exc:
            log.warning("could not drop a model list in Redis: %s", exc)

    def _read(self, key: str) -> ModelList | None:
        try:
            raw = self.redis.get(KEY_PREFIX + key)
        except RedisError as exc:
            log.warning("could not read a model list from Redis: %s", exc)
            return None
        if raw is None:
            return None
        data = json.loads(raw)  # type: ignore[arg-type]
        return ModelList(ids=frozenset(data["ids"]), read_at=float(data["read_at"]), error=data.get("error", ""))
