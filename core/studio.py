"""The one wiring place: ``build_studio(settings)`` gives pages, workers, the CLI and tests
the same services over their own database, Redis and storage.

Methods here own the transaction (commit) and what must happen after it
(enqueue, file deletion); the services below them never commit. Imports no
UI, no worker code, and nothing heavy at import time.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core import catalog, metrics
from core.config import Settings
from core.db import make_engine, make_sessionmaker, transaction
from core.errors import ProviderUnavailableError, VeoGenError
from core.models import utcnow
from core.providers import available_providers, make_prompt_helper, make_provider
from core.providers.base import PromptHelper, VideoProvider
from core.queue import JobQueue, connect
from core.services import generations, users
from core.services.budgets import BudgetView, Limits, budget_of
from core.services.credentials import Vault, personal_key, team_credentials
from core.services.generations import (
    EventView,
    GenerationForm,
    GenerationPage,
    GenerationView,
)
from core.storage import Storage

if TYPE_CHECKING:
    from redis import Redis

    from core.accounts import Accounts
    from core.admission import Admission
    from core.pipeline import Pipeline
    from core.queue_admin import QueueAdmin
    from core.reconciler import Reconciler
    from core.services.analytics import Analytics

log = logging.getLogger(__name__)

CREDENTIALS_TTL_SECONDS = 5.0
"""How long a process reuses credentials read from the database, in seconds."""


@dataclass
class Studio:
    """Services bound to one configuration."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: Storage

    @cached_property
    def redis(self) -> Redis:
        return connect(self.settings.resolved_redis_url())

    @cached_property
    def queue(self) -> JobQueue:
        return JobQueue(self.redis, job_timeout=self.settings.job_timeout_seconds)

    @cached_property
    def limits(self) -> Limits:
        return Limits(
            default_monthly_budget_usd=self.settings.default_monthly_budget_usd,
            default_max_open_generations=self.settings.default_max_open_generations,
            duplicate_window_seconds=self.settings.duplicate_window_seconds,
        )

    @cached_property
    def vault(self) -> Vault:
        """Encrypts credentials stored in the database (key from the environment)."""
        return Vault(self.settings.resolved_secret_key)

    @cached_property
    def accounts(self) -> Accounts:
        """Login, sessions, user management and credentials."""
        from core.accounts import Accounts

        return Accounts(self)

    @cached_property
    def analytics(self) -> Analytics:
        """Admin analytics over the history (SQL aggregates)."""
        from core.services.analytics import Analytics

        return Analytics(self)

    @cached_property
    def queue_admin(self) -> QueueAdmin:
        """Operator views and actions: queue depths, in-flight and stuck generations, cancel and retry."""
        from core.queue_admin import QueueAdmin

        return QueueAdmin(self)

    def provider_settings(self, user_id: int | None = None) -> Settings:
        """Settings with the Veo credentials in force: the user's own key, else the team's, else the environment's.

        Read at most every ``CREDENTIALS_TTL_SECONDS`` per user, so a poll does not query them each time.
        """
        cache: dict[int | None, tuple[float, Settings]] = self.__dict__.setdefault("_provider_settings", {})
        hit = cache.get(user_id)
        if hit is not None and time.monotonic() - hit[0] < CREDENTIALS_TTL_SECONDS:
            return hit[1]
        settings = self._read_provider_settings(user_id)
        cache[user_id] = (time.monotonic(), settings)
        return settings

    def forget_credentials(self) -> None:
        """Drop this process's cached credentials (after an admin or a user changed them)."""
        self.__dict__.pop("_provider_settings", None)

    def _read_provider_settings(self, user_id: int | None) -> Settings:
        with self.sessions() as session:
            team = team_credentials(session=session, vault=self.vault)
            own = personal_key(session=session, vault=self.vault, user_id=user_id) if user_id else ""
        changes = {k: v for k, v in team.items() if v}
        if own:
            changes["gemini_api_key"] = own
        return self.settings.model_copy(update=changes) if changes else self.settings

    @property
    def providers(self) -> set[str]:
        """Providers usable now (Veo once credentials are set, in the environment or by an admin)."""
        return available_providers(self.provider_settings())

    def provider(self, name: str, user_id: int | None = None) -> VideoProvider:
        """The provider called ``name`` with the credentials in force for ``user_id``, built once per key."""
        settings = self.provider_settings(user_id) if name != "offline" else self.settings
        cache_key = (name, settings.gemini_api_key, settings.vertex_project, settings.vertex_location)
        built: dict[tuple[str, str, str, str], VideoProvider] = self.__dict__.setdefault("_providers", {})
        if cache_key not in built:
            built[cache_key] = make_provider(name, settings)
        return built[cache_key]

    @cached_property
    def pipeline(self) -> Pipeline:
        from core.pipeline import Pipeline

        return Pipeline(
            settings=self.settings,
            sessions=self.sessions,
            queue=self.queue,
            store=self.store,
            providers=self.provider,
        )

    @cached_property
    def admission(self) -> Admission:
        """Which queued generations go to the provider now (the scheduler process runs it)."""
        from core.admission import Admission

        return Admission(self.pipeline)

    @cached_property
    def reconciler(self) -> Reconciler:
        """Rows that lost their job get their next step (the scheduler process runs it)."""
        from core.reconciler import Reconciler

        return Reconciler(self.pipeline)

    # -- catalog ------------------------------------------------------------

    def models(self) -> list[catalog.ModelSpec]:
        """Models a creator may pick here."""
        return catalog.models_for(self.providers)

    def quote(self, form: GenerationForm) -> Decimal:
        return generations.quote(form)

    # -- generations --------------------------------------------------------

    def submit(self, user_id: int, form: GenerationForm) -> tuple[GenerationView, bool]:
        """Check, price and write the generation with its reservation, and commit.

        The scheduler's admission pass submits it to the provider within a
        second or so, subject to the quota caps and fairness between users.
        """
        spec = catalog.MODELS.get(form.model)
        provider = spec.provider if spec else "unknown"
        # Read before the write transaction: holding its connection while the credentials
        # read waits for another would exhaust the pool under concurrent submits.
        usable = self.providers
        try:
            with transaction(self.sessions) as session:
                view, created = generations.submit_generation(
                    session=session,
                    user_id=user_id,
                    form=form,
                    providers=usable,
                    limits=self.limits,
                    store=self.store,
                )
        except VeoGenError:
            metrics.SUBMISSIONS.labels(provider, "refused").inc()
            raise
        metrics.SUBMISSIONS.labels(provider, "accepted" if created else "returned").inc()
        return view, created

    def budget(self, user_id: int) -> BudgetView:
        """The user's budget, spend and open generations this month."""
        with self.sessions() as session:
            return budget_of(session=session, user_id=user_id, limits=self.limits)

    def prompt_helper(self) -> PromptHelper:
        """The text model behind "Improve prompt"; ProviderUnavailableError says why there is none."""
        settings = self.provider_settings()
        helpers: dict[str, PromptHelper] = self.__dict__.setdefault("_prompt_helpers", {})
        if settings.gemini_api_key not in helpers:
            helpers[settings.gemini_api_key] = make_prompt_helper(settings)
        return helpers[settings.gemini_api_key]

    def prompt_help_unavailable(self) -> str | None:
        """Why "Improve prompt" cannot work here, or None when it can."""
        try:
            self.prompt_helper()
        except ProviderUnavailableError as exc:
            return str(exc)
        return None

    def extendable(self, user_id: int) -> list[GenerationView]:
        """The user's Veo videos that can still be extended."""
        with self.sessions() as session:
            return generations.list_extendable(session=session, user_id=user_id, now=utcnow())

    def input_bytes(self, user_id: int, generation_id: str, index: int) -> bytes:
        """An uploaded image of the user's generation (after checking ownership)."""
        with self.sessions() as session:
            key, _mime = generations.input_of(
                session=session, user_id=user_id, generation_id=generation_id, index=index
            )
        return self.store.get_bytes(key)

    def improve_prompt(self, prompt: str) -> str:
        """Rewrite a prompt with the text model (checked like any prompt first)."""
        text = catalog.clean_prompt(prompt, field_name="prompt", max_chars=catalog.MAX_PROMPT_CHARS, required=True)
        improved = self.prompt_helper().improve_prompt(text)
        return improved[: catalog.MAX_PROMPT_CHARS]

    def list_generations(self, user_id: int, **filters: object) -> GenerationPage:
        with self.sessions() as session:
            return generations.list_generations(
                session=session,
                user_id=user_id,
                page_size=self.settings.page_size,
                **filters,  # type: ignore[arg-type]
            )

    def get_generation(self, user_id: int, generation_id: str) -> GenerationView:
        with self.sessions() as session:
            return generations.get_generation(session=session, user_id=user_id, generation_id=generation_id)

    def timeline(self, user_id: int, generation_id: str) -> list[EventView]:
        with self.sessions() as session:
            return generations.timeline(session=session, user_id=user_id, generation_id=generation_id)

    def cancel(self, user_id: int, generation_id: str, *, by: str = "its owner") -> GenerationView:
        with transaction(self.sessions) as session:
            return generations.cancel_generation(session=session, user_id=user_id, generation_id=generation_id, by=by)

    def retry(self, user_id: int, generation_id: str) -> tuple[GenerationView, bool]:
        """Submit a failed, filtered or canceled generation's request again, as a new generation.

        It goes through :meth:`submit` (model rules, budget, cap, a new
        reservation); retrying the same generation twice returns the first retry.
        """
        with self.sessions() as session:
            form = generations.retry_form(
                session=session, user_id=user_id, generation_id=generation_id, store=self.store
            )
        return self.submit(user_id, form)

    def delete(self, user_id: int, generation_id: str) -> None:
        """Delete the row, then its files (a failed file delete leaves files, never a dangling row)."""
        with transaction(self.sessions) as session:
            view = generations.delete_generation(session=session, user_id=user_id, generation_id=generation_id)
        self.store.delete_generation(view.user_id, view.id)

    def media_bytes(self, user_id: int, generation_id: str, index: int, kind: str = "video") -> bytes:
        """Return a video's (or its thumbnail's or poster's) bytes after checking ownership."""
        with self.sessions() as session:
            video = generations.video_of(session=session, user_id=user_id, generation_id=generation_id, index=index)
        key = {"video": video.storage_key, "thumbnail": video.thumbnail_key, "poster": video.poster_key}[kind]
        return self.store.get_bytes(key)

    # -- users --------------------------------------------------------------

    def user(self, username: str) -> users.UserView:
        with self.sessions() as session:
            return users.get_user(session=session, username=username)

    def create_user(
        self, username: str, password: str, role: str = "creator", *, email: str = "", name: str = ""
    ) -> users.UserView:
        with transaction(self.sessions) as session:
            return users.create_user(
                session=session,
                username=username,
                password=password,
                role=role,
                email=email,
                name=name,
                min_password_chars=self.settings.min_password_chars,
            )

    def ensure_admin(self, password: str = "") -> str | None:
        """Create the first admin if there is none; return its password when one was made."""
        with transaction(self.sessions) as session:
            if users.any_admin(session=session):
                return None
            chosen = password or users.generate_password()
            users.create_user(
                session=session,
                username="admin",
                password=chosen,
                role="admin",
                name="Administrator",
                min_password_chars=self.settings.min_password_chars,
            )
            return chosen


def build_studio(settings: Settings, *, redis: Redis | None = None) -> Studio:
    """Wire the services for one process; ``redis`` replaces the configured connection (unit tests).

    Refuses (``ConfigurationError``) a production configuration with a missing, weak or default secret.
    """
    settings.check_secrets()
    engine = make_engine(settings.resolved_database_url())
    studio = Studio(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        store=Storage(settings.resolved_media_url()),
    )
    if redis is not None:
        studio.__dict__["redis"] = redis  # fills the cached_property
    return studio
