"""Movies for their owner: the noun class that owns their transactions.

A movie is a storyboard of shots rendered as ordinary generations (takes):
starting it reserves every shot in one transaction (all or nothing), each take
settles or releases its own money like any generation, and re-rendering a shot
pays for that shot alone. The rules are functions in ``core/services/movies.py``
that take a session and never commit. Built by ``core.studio.build_studio``.
Imports no UI or worker code.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.providers.registry import ProviderRegistry
from core.services import movies
from core.services.budgets import Limits
from core.services.generations import GenerationView, UploadedImage
from core.services.movies import MovieDraft, MovieView, ShotDraft
from core.storage import Storage


class Movies:
    """A creator's films: every method checks ownership through the services it calls."""

    def __init__(
        self, *, sessions: sessionmaker[Session], store: Storage, limits: Limits, providers: ProviderRegistry
    ) -> None:
        self.sessions = sessions
        self.store = store
        self.limits = limits
        self.providers = providers

    def create(self, user_id: int, draft: MovieDraft) -> MovieView:
        with transaction(self.sessions) as session:
            movie = movies.create_movie(session=session, user_id=user_id, draft=draft)
            return movies.get_movie(session=session, user_id=user_id, movie_id=movie.id)

    def propose_storyboard(self, script: str, *, model: str, duration_seconds: int) -> list[ShotDraft]:
        """A shot list from a pasted script (one shot per sentence); nothing is stored or paid."""
        return movies.storyboard_from_script(script, model=model, duration_seconds=duration_seconds)

    def set_storyboard(self, user_id: int, movie_id: str, shots: list[ShotDraft]) -> MovieView:
        with transaction(self.sessions) as session:
            movies.set_storyboard(session=session, user_id=user_id, movie_id=movie_id, shots=shots)
            return movies.get_movie(session=session, user_id=user_id, movie_id=movie_id)

    def start(self, user_id: int, movie_id: str, *, draft: bool = False) -> list[GenerationView]:
        """Reserve and queue every shot without a take, in one transaction: all or nothing.

        A ``draft`` renders every shot with the offline renderer (free) first.
        """
        offers = {offer.spec.id: offer for offer in self.providers.offers(user_id)}  # before the transaction
        with transaction(self.sessions) as session:
            return movies.start_movie(
                session=session,
                user_id=user_id,
                movie_id=movie_id,
                offers=offers,
                limits=self.limits,
                store=self.store,
                draft=draft,
            )

    def finalise(self, user_id: int, movie_id: str, shot_ids: list[str] | None = None) -> list[GenerationView]:
        """Render the drafted shots (all, or ``shot_ids``) at their own models, in one transaction."""
        offers = {offer.spec.id: offer for offer in self.providers.offers(user_id)}
        with transaction(self.sessions) as session:
            return movies.finalise(
                session=session,
                user_id=user_id,
                movie_id=movie_id,
                shot_ids=shot_ids,
                offers=offers,
                limits=self.limits,
                store=self.store,
            )

    def rerender(self, user_id: int, movie_id: str, shot_id: str, prompt: str | None = None) -> GenerationView:
        """A new take of one shot (optionally with a new prompt); only this shot is paid again."""
        offers = {offer.spec.id: offer for offer in self.providers.offers(user_id)}
        with transaction(self.sessions) as session:
            return movies.rerender_shot(
                session=session,
                user_id=user_id,
                movie_id=movie_id,
                shot_id=shot_id,
                prompt=prompt,
                offers=offers,
                limits=self.limits,
                store=self.store,
            )

    def choose_take(self, user_id: int, movie_id: str, shot_id: str, generation_id: str) -> MovieView:
        with transaction(self.sessions) as session:
            movies.choose_take(
                session=session, user_id=user_id, movie_id=movie_id, shot_id=shot_id, generation_id=generation_id
            )
            return movies.get_movie(session=session, user_id=user_id, movie_id=movie_id)

    def add_character(
        self, user_id: int, movie_id: str, name: str, description: str, images: tuple[UploadedImage, ...]
    ) -> MovieView:
        """A character with its reference images (checked like any upload; nothing stored when one is refused)."""
        with transaction(self.sessions) as session:
            movies.add_character(
                session=session,
                user_id=user_id,
                movie_id=movie_id,
                name=name,
                description=description,
                images=images,
                store=self.store,
            )
            return movies.get_movie(session=session, user_id=user_id, movie_id=movie_id)

    def get(self, user_id: int, movie_id: str) -> MovieView:
        with self.sessions() as session:
            return movies.get_movie(session=session, user_id=user_id, movie_id=movie_id)

    def list(self, user_id: int) -> list[MovieView]:
        with self.sessions() as session:
            return movies.list_movies(session=session, user_id=user_id)
