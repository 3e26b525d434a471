"""Per-token rate limits: how many requests one API token may make in any minute, counted by ``limits``.

Two budgets per token, each a moving window of one minute: ``reads`` (every route
that needs ``read`` or ``admin``) and ``submits`` (routes that need ``generate``),
sized by VEOGEN_API_READS_PER_MINUTE and VEOGEN_API_SUBMITS_PER_MINUTE. A personal
access token is counted by its id, a password-login access token (JWT) by its
user, so logging in again does not start a fresh budget. One request over a
budget answers 429 with ``Retry-After``: the seconds until the oldest request of
the window leaves it.

The counts live in a ``limits`` storage: in production the studio's own Redis
(the connection ``build_studio`` made from ``settings.resolved_redis_url()``), so
every API process shares them; tests pass the library's ``MemoryStorage``
(``install(app, RateLimits(MemoryStorage(), ...))``). If the storage cannot be
reached, requests are let through and a warning is logged (at most once a
minute): the money rules live in the database and hold without Redis, and a
Redis outage should not also stop every script from reading.

Failed logins at ``POST /v1/token`` are not counted here: the login throttle
(core/services/auth.py) already counts and locks them, for the page and the API
alike. Imports ``core``, ``limits`` and FastAPI only.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Mapping

from fastapi import FastAPI, Request
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.errors import StorageError
from limits.storage import RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from api.problems import Problem
from core.studio import Studio

log = logging.getLogger("veogen.api")

READS = "reads"
SUBMITS = "submits"
BUDGET_SETTINGS = {READS: "VEOGEN_API_READS_PER_MINUTE", SUBMITS: "VEOGEN_API_SUBMITS_PER_MINUTE"}
"""The two budgets a token has, and the setting that sizes each."""

KEY_PREFIX = "veogen:api-limits"
"""Prefix of the rate-limit keys in Redis (beside RQ's ``rq:`` keys)."""

WARN_EVERY_SECONDS = 60.0
"""A storage that cannot be reached is logged at most this often, in seconds."""


class RateLimits:
    """The reads and submits budgets of every token, counted in one ``limits`` storage."""

    def __init__(self, storage: Storage, *, reads_per_minute: int, submits_per_minute: int) -> None:
        self.limiter = MovingWindowRateLimiter(storage)
        self.items: Mapping[str, RateLimitItem] = {
            READS: RateLimitItemPerMinute(reads_per_minute),
            SUBMITS: RateLimitItemPerMinute(submits_per_minute),
        }
        self._warned_at = -math.inf
        self._lock = threading.Lock()

    @classmethod
    def for_studio(cls, studio: Studio) -> RateLimits:
        """Budgets from the studio's settings, counted in the studio's Redis."""
        storage = RedisStorage(
            "redis://",  # the connection pool decides where; the URL only names the kind of storage
            connection_pool=studio.redis.connection_pool,
            key_prefix=KEY_PREFIX,
            wrap_exceptions=True,
        )
        settings = studio.settings
        return cls(
            storage,
            reads_per_minute=settings.api_reads_per_minute,
            submits_per_minute=settings.api_submits_per_minute,
        )

    def hit(self, budget: str, key: str) -> int | None:
        """Count one request of ``key`` against ``budget``: None when it fits, else the seconds to wait."""
        item = self.items[budget]
        try:
            if self.limiter.hit(item, budget, key):
                return None
            reset_at = self.limiter.get_window_stats(item, budget, key).reset_time
        except StorageError as exc:
            self._warn(exc)
            return None
        return max(1, math.ceil(reset_at - time.time()))

    def check(self, budget: str, key: str) -> None:
        """Count one request; over the budget, raise a 429 problem with ``Retry-After``."""
        wait = self.hit(budget, key)
        if wait is None:
            return
        limit = self.items[budget].amount
        noun = "reads" if budget == READS else "submissions"
        raise Problem(
            429,
            "rate-limited",
            "Too many requests",
            f"This token made {limit} {noun} in the last minute, the most allowed ({BUDGET_SETTINGS[budget]}). "
            f"Try again in {wait} second{'s' if wait != 1 else ''}.",
            headers={"Retry-After": str(wait)},
            extra={"budget": budget, "limit_per_minute": limit, "retry_after": wait},
        )

    def _warn(self, exc: StorageError) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._warned_at < WARN_EVERY_SECONDS:
                return
            self._warned_at = now
        log.warning("API rate limits are not counted: their storage cannot be reached (%s)", exc.storage_error)


def install(app: FastAPI, limits: RateLimits) -> None:
    """Count ``app``'s requests in ``limits`` (tests: the library's memory storage) instead of the studio's Redis."""
    app.state.rate_limits = limits


_building = threading.Lock()


def limits_of(request: Request) -> RateLimits:
    """The app's rate limits: the installed ones, else (once per app) the studio's, in its Redis."""
    state = request.app.state
    with _building:
        limits: RateLimits | None = getattr(state, "rate_limits", None)
        if limits is None:
            limits = RateLimits.for_studio(state.studio)
            state.rate_limits = limits
    return limits
