"""Generations for their owner: the noun class that owns their transactions.

Submit (price, budget, cap and reservation in one transaction), read, cancel,
retry, delete, media; the rules themselves are functions in
``core/services/generations.py`` that take a session and never commit. Built by
``core.studio.build_studio`` with its dependencies, never with the whole
studio. Imports no UI or worker code.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from core import catalog, metrics
from core.config import Settings
from core.db import transaction
from core.errors import VeoGenError
from core.models import utcnow
from core.providers.registry import CredentialModels, ProviderRegistry
from core.services import generations
from core.services.budgets import BudgetView, Limits, budget_of
from core.services.generations import EventView, GenerationForm, GenerationPage, GenerationView, VideoView
from core.services.users import require_admin
from core.storage import Storage, StoredFile

MEDIA_TYPES: dict[str, str] = {"video": "video/mp4", "thumbnail": "image/jpeg", "poster": "image/jpeg"}
"""The files kept for each video, by kind, and their content types."""


def download_name(generation_id: str, index: int, kind: str = "video") -> str:
    """The file name a video (or its thumbnail or poster) is saved as, from the pages and the API alike."""
    stem = f"veogen-{generation_id[:8]}-{index + 1}"
    return f"{stem}.mp4" if kind == "video" else f"{stem}-{kind}.jpg"


def _media_key(video: VideoView, kind: str) -> str:
    return {"video": video.storage_key, "thumbnail": video.thumbnail_key, "poster": video.poster_key}[kind]


class Generations:
    """A creator's generations: every method checks ownership through the services it calls."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: sessionmaker[Session],
        store: Storage,
        limits: Limits,
        providers: ProviderRegistry,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.store = store
        self.limits = limits
        self.providers = providers

    # -- before submitting ------------------------------------------------------

    def offers(self, user_id: int | None = None) -> list[catalog.Offer]:
        """Models this creator may pick now, each with the credential that serves it (live model lists)."""
        return self.providers.offers(user_id)

    def models(self, user_id: int | None = None) -> list[catalog.ModelSpec]:
        """Models this creator may pick now."""
        return [offer.spec for offer in self.offers(user_id)]

    def unavailable_reasons(self, user_id: int | None = None) -> list[str]:
        """Credentials whose model list could not be read, and why."""
        return self.providers.unavailable_reasons(user_id)

    def model_lists(self, actor_id: int) -> list[CredentialModels]:
        """For an admin: each of the studio's credentials, the models it offers and when its list was read."""
        with self.sessions() as session:
            require_admin(session=session, actor_id=actor_id)
        return self.providers.model_lists()

    def refresh_model_lists(self, actor_id: int) -> int:
        """For an admin: read every credential's live model list again now; returns how many were read."""
        with self.sessions() as session:
            require_admin(session=session, actor_id=actor_id)
        return self.providers.refresh_models()

    def quote(self, form: GenerationForm, *, surface: str | None = None) -> Decimal:
        """The price of a form (the model's rules checked), without submitting it."""
        return generations.quote(form, surface=surface)

    def budget(self, user_id: int) -> BudgetView:
        """The user's budget, spend and open generations this month."""
        with self.sessions() as session:
            return budget_of(session=session, user_id=user_id, limits=self.limits)

    def prompt_help_unavailable(self) -> str | None:
        """Why "Improve prompt" cannot work here, or None when it can."""
        return self.providers.prompt_help_unavailable()

    def improve_prompt(self, prompt: str) -> str:
        """Rewrite a prompt with the text model (checked like any prompt first)."""
        text = catalog.clean_prompt(prompt, field_name="prompt", max_chars=catalog.MAX_PROMPT_CHARS, required=True)
        improved = self.providers.prompt_helper().improve_prompt(text)
        return improved[: catalog.MAX_PROMPT_CHARS]

    def sources(self, user_id: int, model: str | None = None) -> list[GenerationView]:
        """The user's videos that can still be extended or edited (by ``model``, when given)."""
        with self.sessions() as session:
            return generations.list_sources(session=session, user_id=user_id, now=utcnow(), model=model)

    # -- submitting ---------------------------------------------------------------

    def submit(self, user_id: int, form: GenerationForm) -> tuple[GenerationView, bool]:
        """Check, price and write the generation with its reservation, and commit.

        The scheduler's admission pass submits it to the provider within a
        second or so, subject to the quota caps and fairness between users.
        """
        spec = catalog.MODELS.get(form.model)
        provider = spec.provider if spec else "unknown"
        try:
            # Before the write transaction: holding its connection while the credentials
            # read waits for another would exhaust the pool under concurrent submits.
            offer = self.providers.offer(user_id, form.model)
            with transaction(self.sessions) as session:
                view, created = generations.submit_generation(
                    session=session,
                    user_id=user_id,
                    form=form,
                    offer=offer,
                    limits=self.limits,
                    store=self.store,
                )
        except VeoGenError:
            metrics.SUBMISSIONS.labels(provider, "refused").inc()
            raise
        metrics.SUBMISSIONS.labels(provider, "accepted" if created else "returned").inc()
        return view, created

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

    # -- reading ------------------------------------------------------------------

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

    def events_after(self, user_id: int, generation_ids: list[str], after_id: int = 0) -> list[tuple[str, EventView]]:
        """The events of these generations of the user's with an id above ``after_id`` (a live stream's next part)."""
        with self.sessions() as session:
            return generations.events_after(
                session=session, user_id=user_id, generation_ids=generation_ids, after_id=after_id
            )

    def input_bytes(self, user_id: int, generation_id: str, index: int) -> bytes:
        """An uploaded image of the user's generation (after checking ownership)."""
        with self.sessions() as session:
            key, _mime = generations.input_of(
                session=session, user_id=user_id, generation_id=generation_id, index=index
            )
        return self.store.get_bytes(key)

    def media_bytes(self, user_id: int, generation_id: str, index: int, kind: str = "video") -> bytes:
        """Return a video's (or its thumbnail's or poster's) bytes after checking ownership."""
        with self.sessions() as session:
            video = generations.video_of(session=session, user_id=user_id, generation_id=generation_id, index=index)
        return self.store.get_bytes(_media_key(video, kind))

    def media_file(self, user_id: int, generation_id: str, index: int, kind: str = "video") -> StoredFile:
        """A video's (or its thumbnail's or poster's) file after checking ownership, for streaming a download.

        On local storage it is a path, so a large video is never read whole into
        memory; other storage (``s3://``, ``gs://``) gives its bytes. The validator
        is the video's SHA-256 (with the kind for its pictures).
        """
        with self.sessions() as session:
            video = generations.video_of(session=session, user_id=user_id, generation_id=generation_id, index=index)
        etag = "" if not video.sha256 else f'"{video.sha256}"' if kind == "video" else f'"{video.sha256}-{kind}"'
        return self.store.stored_file(
            _media_key(video, kind),
            kind=kind,
            media_type=MEDIA_TYPES[kind],
            name=download_name(generation_id, index, kind),
            etag=etag,
        )
