"""The one wiring place: ``build_studio(settings)`` gives pages, workers, the CLI and tests the same
services over their own database, Redis and storage.

``Studio`` only holds what ``build_studio`` wired; it has no business logic. Each noun has one class that
owns its transactions and gets its dependencies explicitly (never the studio): ``generations``
(core/generations.py), ``accounts`` (core/accounts.py), ``queue_admin`` (core/queue_admin.py), ``analytics``
(core/analytics.py), and the engine the workers and the scheduler run — ``pipeline`` (core/pipeline.py),
``admission`` (core/admission.py), ``reconciler`` (core/reconciler.py); ``webhooks`` (core/webhooks.py);
``movies`` (core/movies.py); ``tokens`` (core/tokens.py); ``outgoing`` (core/outgoing.py). Provider access is
``providers`` (core/providers/registry.py). Functions in ``core/services`` take a session keyword-only and
never commit; only these classes commit. Nothing but this module constructs them
(tests/unit/test_architecture.py). Imports no UI, API or worker code, nothing heavy at import.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.accounts import Accounts
from core.admission import Admission
from core.analytics import Analytics
from core.config import Settings
from core.db import make_engine, make_sessionmaker
from core.generations import Generations
from core.movies import Movies
from core.outgoing import OutgoingWebhooks
from core.pipeline import Pipeline
from core.providers.registry import ProviderRegistry
from core.queue import JobQueue, connect
from core.queue_admin import QueueAdmin
from core.reconciler import Reconciler
from core.services.budgets import Limits
from core.services.credentials import Vault
from core.storage import Storage
from core.tokens import Tokens
from core.webhooks import Webhooks


@dataclass(frozen=True)
class Studio:
    """The services of one process, bound to one configuration."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: Storage
    redis: Redis
    queue: JobQueue
    limits: Limits
    providers: ProviderRegistry
    generations: Generations
    accounts: Accounts
    queue_admin: QueueAdmin
    analytics: Analytics
    pipeline: Pipeline
    admission: Admission
    reconciler: Reconciler
    webhooks: Webhooks
    movies: Movies
    tokens: Tokens
    outgoing: OutgoingWebhooks


def build_studio(settings: Settings, *, redis: Redis | None = None) -> Studio:
    """Wire the services for one process; ``redis`` replaces the configured connection (unit tests).

    Refuses (``ConfigurationError``) a production configuration with a missing, weak or default secret. Nothing
    connects here: the database and Redis are reached on first use.
    """
    settings.check_secrets()
    engine = make_engine(settings.resolved_database_url())
    sessions = make_sessionmaker(engine)
    store = Storage(settings.resolved_media_url())
    redis = redis if redis is not None else connect(settings.resolved_redis_url())
    queue = JobQueue(redis, job_timeout=settings.job_timeout_seconds)
    limits = Limits(
        default_monthly_budget_usd=settings.default_monthly_budget_usd,
        default_max_open_generations=settings.default_max_open_generations,
        duplicate_window_seconds=settings.duplicate_window_seconds,
    )
    vault = Vault(settings.resolved_secret_key)
    providers = ProviderRegistry(settings=settings, sessions=sessions, vault=vault, redis=redis)
    generations = Generations(settings=settings, sessions=sessions, store=store, limits=limits, providers=providers)
    webhooks = Webhooks(settings=settings, sessions=sessions, queue=queue, providers=providers)
    pipeline = Pipeline(
        settings=settings,
        sessions=sessions,
        queue=queue,
        store=store,
        providers=providers.get,
        model_gone=providers.forget_models,
        announced=webhooks.announces,
    )
    return Studio(
        settings=settings,
        engine=engine,
        sessions=sessions,
        store=store,
        redis=redis,
        queue=queue,
        limits=limits,
        providers=providers,
        generations=generations,
        accounts=Accounts(settings=settings, sessions=sessions, vault=vault, providers=providers),
        queue_admin=QueueAdmin(
            settings=settings, sessions=sessions, queue=queue, limits=limits, generations=generations
        ),
        analytics=Analytics(sessions=sessions, limits=limits),
        pipeline=pipeline,
        admission=Admission(pipeline),
        reconciler=Reconciler(pipeline),
        webhooks=webhooks,
        movies=Movies(sessions=sessions, store=store, limits=limits, providers=providers, queue=queue),
        tokens=Tokens(sessions=sessions),
        outgoing=OutgoingWebhooks(settings=settings, sessions=sessions, queue=queue, vault=vault),
    )
