"""Movies for their owner: the noun class that owns their transactions.

A movie is a storyboard of shots rendered as ordinary generations (takes):
starting it reserves every shot in one transaction (all or nothing), each take
settles or releases its own money like any generation, and re-rendering a shot
pays for that shot alone. The rules are functions in ``core/services/movies.py``
that take a session and never commit. Built by ``core.studio.build_studio``.
Imports no UI or worker code.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from core import catalog
from core.catalog import Offer
from core.db import transaction
from core.errors import MediaError, ProviderError, ProviderUnavailableError, StorageError, ValidationError
from core.models import utcnow
from core.providers.registry import ProviderRegistry
from core.queue import JobQueue
from core.services import bank, continuity, film, movies, storyboard
from core.services.budgets import Limits
from core.services.generations import GenerationView, UploadedImage
from core.services.movie_views import MovieView
from core.services.storyboard import MovieDraft, ShotDraft
from core.storage import Storage, StoredFile

log = logging.getLogger(__name__)

ASSEMBLE_JOB = "workers.tasks.assemble_movie"
"""The worker job that joins a film's chosen takes into one video (``run_assembly``)."""

MAX_SCRIPT_CHARS = 20_000
"""Longest script a storyboard is proposed from, in characters (about 3,000 words: a 300 s film many times over)."""

SENTENCE_SPLIT = "split by sentences"
"""A storyboard's ``source`` when no text model proposed it: one shot per sentence of the script."""


@dataclass(frozen=True)
class Storyboard:
    """A proposed shot list, editable before anything is stored or paid, and where it came from."""

    shots: list[ShotDraft]
    source: str
    """The text model's id, or :data:`SENTENCE_SPLIT`."""
    note: str | None = None
    """Why the text model's proposal was replaced by a split by sentences, when it was."""


def film_download_name(movie_id: str) -> str:
    """The file name an assembled film is saved as, from the Movies page and the API alike."""
    return f"film-{movie_id[:8]}.mp4"


def _nearest(seconds: int | None, allowed: tuple[int, ...], default: int) -> int:
    """The allowed length nearest ``seconds`` (the shorter on a tie), or ``default`` when none was proposed."""
    if seconds is None:
        return default
    return min(allowed, key=lambda d: (abs(d - seconds), d))


class Movies:
    """A creator's films: every method checks ownership through the services it calls."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        store: Storage,
        limits: Limits,
        providers: ProviderRegistry,
        queue: JobQueue,
    ) -> None:
        self.sessions = sessions
        self.store = store
        self.limits = limits
        self.providers = providers
        self.queue = queue

    def create(self, user_id: int, draft: MovieDraft, shots: list[ShotDraft] | None = None) -> MovieView:
        """A new film; with ``shots``, its storyboard too, in the same transaction (nothing kept if one is refused)."""
        with transaction(self.sessions) as session:
            movie = movies.create_movie(session=session, user_id=user_id, draft=draft)
            if shots:
                movies.set_storyboard(session=session, user_id=user_id, movie_id=movie.id, shots=shots)
            return movies.get_movie(session=session, user_id=user_id, movie_id=movie.id)

    def propose_storyboard(self, script: str, *, model: str, duration_seconds: int) -> Storyboard:
        """A shot list from a pasted script: the text model's when there is one, else one shot per sentence.

        Nothing is stored or paid. Proposed lengths snap to the nearest one ``model`` makes; a shot without
        one gets ``duration_seconds``. When the text model fails, the split by sentences comes with a note.
        """
        spec = catalog.get_model(model)
        text = script.strip()
        if not text:
            raise ValidationError("The script is empty: paste the story to split into shots.", field="script")
        if len(text) > MAX_SCRIPT_CHARS:
            raise ValidationError(
                f"The script is {len(text)} characters long; the limit is {MAX_SCRIPT_CHARS}.", field="script"
            )
        note = None
        if self.providers.prompt_help_unavailable() is None:
            helper = self.providers.prompt_helper()
            try:
                proposed = helper.propose_shots(text, max_shots=storyboard.MAX_SHOTS)
            except (ProviderError, ProviderUnavailableError) as exc:
                log.warning("storyboard: the text model failed, splitting by sentences: %s", exc)
                note = f"The text model could not propose shots ({exc}); the script is split by sentences instead."
            else:
                shots = [
                    ShotDraft(
                        prompt=shot.prompt[: catalog.MAX_PROMPT_CHARS].strip(),
                        duration_seconds=_nearest(shot.duration_seconds, spec.durations, duration_seconds),
                        model=model,
                    )
                    for shot in proposed
                ]
                return Storyboard(shots, source=helper.model)
        shots = storyboard.storyboard_from_script(text, model=model, duration_seconds=duration_seconds)
        fitted = [replace(s, prompt=s.prompt[: catalog.MAX_PROMPT_CHARS].strip()) for s in shots]
        return Storyboard(fitted, source=SENTENCE_SPLIT, note=note)

    def storyboard_help(self) -> str | None:
        """None when a text model proposes storyboards here; else why not (the script is then split by sentences)."""
        reason = self.providers.prompt_help_unavailable()
        if reason is None:
            return None
        return f"{reason.rstrip('.')}; without it, each sentence of the script becomes a shot."

    def set_storyboard(self, user_id: int, movie_id: str, shots: list[ShotDraft]) -> MovieView:
        with transaction(self.sessions) as session:
            movies.set_storyboard(session=session, user_id=user_id, movie_id=movie_id, shots=shots)
            return movies.get_movie(session=session, user_id=user_id, movie_id=movie_id)

    def start(self, user_id: int, movie_id: str, *, draft: bool = False) -> list[GenerationView]:
        """Reserve and queue every shot without a take, in one transaction: all or nothing.

        A ``draft`` renders every shot with the offline renderer (free) first.
        """
        offers = self._offers(user_id)  # before the transaction: reading credentials takes a connection
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
        offers = self._offers(user_id)
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
        offers = self._offers(user_id)
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
            movie = movies.owned(session=session, user_id=user_id, movie_id=movie_id, for_update=True)
            bank.add_character(
                session=session, movie=movie, name=name, description=description, images=images, store=self.store
            )
            return movies.get_movie(session=session, user_id=user_id, movie_id=movie_id)

    def add_start_image(self, user_id: int, movie_id: str, name: str, image: UploadedImage) -> MovieView:
        """A picture shots of the film may start from (checked like any upload; nothing stored when refused)."""
        with transaction(self.sessions) as session:
            movie = movies.owned(session=session, user_id=user_id, movie_id=movie_id, for_update=True)
            bank.add_start_image(session=session, movie=movie, name=name, image=image, store=self.store)
            return movies.get_movie(session=session, user_id=user_id, movie_id=movie_id)

    # -- continuity -----------------------------------------------------------------

    def link_waiting(self) -> list[str]:
        """Let go the takes waiting for the shot before them where it has a finished take now; returns their ids.

        The scheduler calls this before each admission pass (it reads the previous take's last frame with
        PyAV, so it runs in worker processes only). Every step is safe to repeat after a crash: the frame is
        stored under a fixed key before the row that points at it, and a take already linked is left alone.
        """
        from core import checks  # PyAV and OpenCV: workers only

        with self.sessions() as session:
            waiting = continuity.waiting(session=session)
        linked = []
        for generation_id in waiting:
            with self.sessions() as session:
                link = continuity.ready(session=session, generation_id=generation_id)
            if link is None:
                continue
            frame = None
            if link.mode == "image":
                try:
                    with tempfile.TemporaryDirectory(prefix="veogen-link-") as tmp:
                        frame = checks.last_frame_png(self._local(link.source_key, Path(tmp) / "previous.mp4"))
                    if link.start_image_key is not None:  # the shot's own start image, in the previous one's colours
                        frame = checks.match_histogram(self.store.get_bytes(link.start_image_key), frame)
                except StorageError as exc:
                    log.warning("take %s: previous shot unreadable now, trying again later: %s", generation_id, exc)
                    continue
                except MediaError as exc:
                    log.warning("take %s: previous shot has no readable last frame: %s", generation_id, exc)
            with transaction(self.sessions) as session:
                row = continuity.attach(session=session, link=link, store=self.store, first_frame=frame, now=utcnow())
            if row is not None:
                linked.append(generation_id)
        return linked

    # -- assembly -------------------------------------------------------------------

    def set_soundtrack(self, user_id: int, movie_id: str, name: str, data: bytes, mode: str, level: float) -> MovieView:
        """Give the film its music (MP3, AAC, M4A, WAV, Ogg or FLAC), mixed under the shots' sound or replacing it."""
        with transaction(self.sessions) as session:
            film.set_soundtrack(
                session=session,
                user_id=user_id,
                movie_id=movie_id,
                name=name,
                data=data,
                mode=mode,
                level=level,
                store=self.store,
            )
            return movies.get_movie(session=session, user_id=user_id, movie_id=movie_id)

    def clear_soundtrack(self, user_id: int, movie_id: str) -> MovieView:
        """Take the music off the film; the next assembly uses the shots' own sound."""
        with transaction(self.sessions) as session:
            film.clear_soundtrack(session=session, user_id=user_id, movie_id=movie_id, store=self.store)
            return movies.get_movie(session=session, user_id=user_id, movie_id=movie_id)

    def assemble(self, user_id: int, movie_id: str) -> MovieView:
        """Queue the joining of every shot's chosen take into one video (a worker job; no shot is rendered again)."""
        with transaction(self.sessions) as session:
            seq, _ = film.request_assembly(session=session, user_id=user_id, movie_id=movie_id)
        self.queue.enqueue(ASSEMBLE_JOB, movie_id, seq)
        return self.get(user_id, movie_id)

    def run_assembly(self, movie_id: str, seq: int) -> None:
        """The worker job: join the takes, check the joins, store the film with its thumbnail and poster."""
        from core import assembly, checks, media, storage  # PyAV and OpenCV: workers only

        try:
            with transaction(self.sessions) as session:
                job = film.assembly_job(session=session, movie_id=movie_id, seq=seq)
        except ValidationError as exc:
            self.finish_assembly(movie_id, seq, None, str(exc))
            return
        if job is None:
            return  # a newer assembly replaced this one
        try:
            with tempfile.TemporaryDirectory(prefix="veogen-film-") as tmp:
                paths = [self._local(key, Path(tmp) / f"{n}.mp4") for n, (key, _) in enumerate(job.clips)]
                clips = [
                    assembly.Clip(
                        path,
                        join="crossfade" if join == "crossfade" else "cut",
                        crossfade_seconds=film.CROSSFADE_SECONDS if join == "crossfade" else 0.0,
                    )
                    for path, (_, join) in zip(paths, job.clips, strict=True)
                ]
                music = None
                if job.soundtrack is not None:
                    key, mode, level = job.soundtrack
                    music = assembly.Soundtrack(
                        self._local(key, Path(tmp) / key.rsplit("/", 1)[-1]),
                        mode="replace" if mode == "replace" else "mix",
                        level=level,
                    )
                out = Path(tmp) / "film.mp4"
                report = assembly.assemble_movie(clips, out, soundtrack=music)
                flags = [
                    flag.message
                    for n in range(1, len(paths))
                    if job.clips[n][1] != "cut" and (flag := checks.check_join(paths[n - 1], paths[n])) is not None
                ]
                self.store.put_file(storage.video_key(job.user_id, job.movie_id, 0), out)
                self.store.put_bytes(storage.thumbnail_key(job.user_id, job.movie_id, 0), media.make_thumbnail(out))
                self.store.put_bytes(storage.poster_key(job.user_id, job.movie_id, 0), media.make_poster(out))
        except (MediaError, StorageError) as exc:
            log.warning("movie %s: assembly failed: %s", movie_id, exc)
            self.finish_assembly(movie_id, seq, None, f"The film could not be assembled: {exc}")
            return
        self.finish_assembly(
            movie_id, seq, asdict(report) | {"join_flags": flags, "soundtrack": job.soundtrack_signature}, None
        )

    def film_bytes(self, user_id: int, movie_id: str, kind: str = "video") -> bytes:
        """The user's assembled film (or its thumbnail or poster)."""
        with self.sessions() as session:
            key = film.film_key(session=session, user_id=user_id, movie_id=movie_id, kind=kind)
        return self.store.get_bytes(key)

    def film_file(self, user_id: int, movie_id: str) -> StoredFile:
        """The user's assembled film to stream (a path on local storage, never read whole)."""
        with self.sessions() as session:
            key = film.film_key(session=session, user_id=user_id, movie_id=movie_id, kind="video")
        return self.store.stored_file(key, kind="film", media_type="video/mp4", name=film_download_name(movie_id))

    def _offers(self, user_id: int) -> dict[str, Offer]:
        """The models this user may use now, by id (read before any transaction)."""
        return {offer.spec.id: offer for offer in self.providers.offers(user_id)}

    def _local(self, key: str, fallback: Path) -> Path:
        local = self.store.local_path(key)
        if local is not None:
            return local
        fallback.write_bytes(self.store.get_bytes(key))
        return fallback

    def finish_assembly(self, movie_id: str, seq: int, report: dict[str, object] | None, message: str | None) -> None:
        """Record assembly job ``seq``'s outcome: a report when the film is stored, else the message why not."""
        with transaction(self.sessions) as session:
            film.finish_assembly(session=session, movie_id=movie_id, seq=seq, report=report, message=message)

    def get(self, user_id: int, movie_id: str) -> MovieView:
        with self.sessions() as session:
            return movies.get_movie(session=session, user_id=user_id, movie_id=movie_id)

    def list(self, user_id: int) -> list[MovieView]:
        with self.sessions() as session:
            return movies.list_movies(session=session, user_id=user_id)
