"""The steps of a generation's life: start (submit), poll, fetch, process.

``start`` runs in the admission controller (core.admission, inside the
scheduler process), so paid submissions never happen in the worker processes
that get killed, recycled and scaled; the other steps are short RQ jobs on the
workers. Each step is safe to run twice: it first checks the row's
fencing token (``job_seq``) and status, resumes from whatever was already
stored (an operation name, a downloaded file, a video row), and moves the row
only by compare-and-set. The database is the truth; the queue is transport.

Imported by workers (and tests), never by the web process: it loads PyAV
through core.media.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from core import catalog, metrics, storage
from core.config import Settings
from core.db import transaction
from core.errors import MediaError, ProviderError, StorageError, TransitionError
from core.models import Generation, Video, utcnow
from core.params import GenerationParams, VideoFacts
from core.providers.base import GenerationRequest, ImageInput, OperationState, ProviderVideo, VideoProvider
from core.queue import POLL_JOB, JobQueue
from core.services import ledger
from core.services.lifecycle import bump_seq, record_event, transition
from core.status import FINAL, Status

log = logging.getLogger(__name__)

ProviderLookup = Callable[[str, "int | None", "str | None"], VideoProvider]
"""``(provider name, user id, surface)`` → the provider for that user's generation (their own key, if any)."""

Announced = Callable[["int | None", "str | None"], bool]
"""``(user id, surface)``: whether a webhook will announce the end of that generation (then polls slow down)."""

ModelGone = Callable[["int | None", "str | None"], None]
"""``(user id, surface)``: Google answered that a model is no longer available there; read its list again."""


QUOTA_WAIT_SECONDS = 30.0
"""How long to wait after a 429 that names no retry delay, in seconds."""

WEBHOOK_EVENT = "webhook"
"""Timeline kind of "a webhook announced the end": the status read that follows is not a timed poll."""

UNKNOWN_OUTCOME = (
    "The provider did not confirm this submission (the sending process stopped, the connection dropped "
    "after the request went out, or Google answered with a server error that does not say whether the "
    "video was started), so we cannot tell whether it was accepted. It was not sent again, to avoid "
    "paying twice; its price stays reserved until an administrator checks the provider's bill."
)


class Pipeline:
    """Runs generation steps against one database, queue, storage and provider set."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: sessionmaker[Session],
        queue: JobQueue,
        store: storage.Storage,
        providers: ProviderLookup,
        model_gone: ModelGone | None = None,
        announced: Announced | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.queue = queue
        self.store = store
        self.providers = providers
        self.model_gone = model_gone
        self.announced = announced

    def paid(self, provider_name: str) -> bool:
        """Whether submitting to this backend costs money (a backend that cannot be built here counts as paid)."""
        try:
            return not self.providers(provider_name, None, None).idempotent_submit
        except ProviderError:
            return True

    # -- next steps ---------------------------------------------------------

    def enqueue_step(self, generation_id: str, seq: int, step: str, *, delay: float = 0, **values: object) -> int:
        """Take the next fencing token, commit, then enqueue ``step``; returns the new token.

        If the enqueue fails the row keeps the token and goes stale, and the
        reconciler enqueues it again.
        """
        with transaction(self.sessions) as session:
            row = get_row(session, generation_id)
            new = bump_seq(session=session, generation=row, expected=seq, **values)
        self.queue.enqueue(step, generation_id, new, delay=delay)
        return new

    def _load(self, session: Session, generation_id: str, seq: int) -> Generation | None:
        row = session.execute(
            select(Generation)
            .where(Generation.id == generation_id)
            .options(selectinload(Generation.videos), selectinload(Generation.inputs))
        ).scalar_one_or_none()
        if row is None or Status(row.status) in FINAL:
            return None
        if row.job_seq != seq:
            log.info("generation %s: job %s is stale (current %s); skipping", generation_id, seq, row.job_seq)
            return None
        return row

    def fail(
        self, generation_id: str, seq: int | None, message: str, code: str = "FAILED", *, release: bool = True
    ) -> None:
        with transaction(self.sessions) as session:
            row = session.get(Generation, generation_id)
            if row is None or Status(row.status) in FINAL:
                return
            transition(
                session=session,
                generation=row,
                to=Status.FAILED,
                detail=message,
                seq=seq,
                error_code=code,
                error_message=message,
            )
            if release:
                ledger.release(session=session, generation=row)
        log.warning("generation %s failed: %s", generation_id, message)

    def _poll_delay(self, user_id: int | None, surface: str | None, polls: int) -> float:
        """Until the next poll: backing off from the poll interval; the safety interval while a webhook will tell.

        Polling never stops: a webhook is an accelerator, and a lost delivery only costs latency.
        """
        if self.announced is not None and self.announced(user_id, surface):
            return self.settings.webhook_safety_poll_seconds
        return min(
            self.settings.poll_max_interval_seconds,
            self.settings.poll_interval_seconds * (1.5 ** min(polls, 20)),
        )

    def _retry_delay(self, attempt: int) -> float:
        return float(min(self.settings.poll_max_interval_seconds, self.settings.poll_interval_seconds * 2**attempt))

    # -- steps --------------------------------------------------------------

    def request_of(self, session: Session, row: Generation) -> GenerationRequest:
        """Build the provider request: the row's settings, its stored images, an extension's or edit's source."""
        extend_uri = source_interaction = None
        if row.extend_of_id:
            source = session.execute(
                select(Generation.operation_name, Video.provider_uri)
                .join(Video, Video.generation_id == Generation.id)
                .where(Generation.id == row.extend_of_id, Video.index == 0)
            ).first()
            if source is None or not (source.provider_uri if row.provider == "veo" else source.operation_name):
                raise ProviderError("The video to continue is gone.", code="NOT_FOUND")
            if row.provider == "veo":
                extend_uri = source.provider_uri
            else:
                source_interaction = source.operation_name
        images = tuple(
            ImageInput(role=i.role, data=self.store.get_bytes(i.storage_key), mime_type=i.mime_type)  # type: ignore[arg-type]
            for i in row.inputs
        )
        return GenerationRequest(
            **GenerationParams.of(row).columns(),
            images=images,
            extend_video_uri=extend_uri,
            source_interaction=source_interaction,
        )

    def start(self, generation_id: str, seq: int) -> None:
        """Submit to the provider once, store the operation name, schedule the first poll.

        The row is marked ``submitting`` before the call and gets the operation
        name in the same breath after it; a rerun finds the name and polls. A
        row left ``submitting`` without a name is never sent again by a paid
        provider (see ``UNKNOWN_OUTCOME``).
        """
        with self.sessions() as session:
            row = self._load(session, generation_id, seq)
            if row is None:
                return
            already, interrupted = bool(row.operation_name), row.status == Status.SUBMITTING.value
            provider_name, user_id, surface = row.provider, row.user_id, row.surface
        if already:
            self.enqueue_step(generation_id, seq, POLL_JOB)
            return
        # Never while a session is open: reading the credentials takes a connection of its own.
        try:
            provider = self.providers(provider_name, user_id, surface)
        except ProviderError as exc:
            self.fail(generation_id, seq, f"The provider cannot be reached: {exc}", code=exc.code or "UNAVAILABLE")
            return
        if interrupted and not provider.idempotent_submit:
            self.fail(generation_id, seq, UNKNOWN_OUTCOME, code="SUBMIT_OUTCOME_UNKNOWN", release=False)
            return
        request: GenerationRequest | None = None
        with self.sessions() as session:
            row = self._load(session, generation_id, seq)
            if row is None:
                return
            try:
                request = self.request_of(session, row)
            except (ProviderError, StorageError) as exc:
                failure = str(exc)
        if request is None:
            self.fail(generation_id, seq, f"The request could not be prepared: {failure}", code="INPUT_MISSING")
            return
        with transaction(self.sessions) as session:
            row = get_row(session, generation_id)
            if row.status == Status.QUEUED.value:
                transition(
                    session=session,
                    generation=row,
                    to=Status.SUBMITTING,
                    seq=seq,
                    submitted_at=utcnow(),
                    not_before=None,
                )
        try:
            operation = provider.submit(request)
        except ProviderError as exc:
            metrics.record_provider_call(provider.name, "submit", exc.code or "ERROR")
            if exc.model_gone:
                if self.model_gone is not None:
                    self.model_gone(user_id, surface)
                message = f"Google no longer serves this model ({exc}). Nothing was charged; pick another model."
                self.fail(generation_id, seq, message, code="MODEL_RETIRED")
                return
            self._after_submit_error(generation_id, seq, exc, paid=not provider.idempotent_submit)
            return
        metrics.record_provider_call(provider.name, "submit")
        # Store the operation name at once: from here on, a rerun polls and never resubmits.
        with transaction(self.sessions) as session:
            row = get_row(session, generation_id)
            transition(
                session=session,
                generation=row,
                to=Status.RUNNING,
                seq=seq,
                detail=f"accepted by {provider.name}",
                operation_name=operation,
            )
        self.enqueue_step(generation_id, seq, POLL_JOB, delay=self._poll_delay(user_id, surface, 0))

    def _after_submit_error(self, generation_id: str, seq: int, exc: ProviderError, paid: bool) -> None:
        """Not accepted: wait and queue again (a 429, a refused connection: nothing was started), or fail.

        A refusal (4xx) fails and releases the reservation; an answer that may hide a started job
        (5xx, 408, 409, a lost answer) fails and keeps it, and is never sent again.
        """
        if exc.outcome_unknown and paid:
            self.fail(generation_id, seq, UNKNOWN_OUTCOME, code="SUBMIT_OUTCOME_UNKNOWN", release=False)
            return
        quota = exc.code in ("RESOURCE_EXHAUSTED", "429")
        with transaction(self.sessions) as session:
            row = get_row(session, generation_id)
            attempts = row.retry_count
            if quota or (exc.retryable and attempts < self.settings.max_provider_retries):
                wait = exc.retry_after_seconds or (QUOTA_WAIT_SECONDS if quota else self._retry_delay(attempts))
                transition(
                    session=session,
                    generation=row,
                    to=Status.QUEUED,
                    seq=seq,
                    detail=f"provider {'quota' if quota else 'busy'} ({exc.code}); trying again in {wait:.0f} s",
                    retry_count=attempts if quota else attempts + 1,
                    not_before=utcnow() + timedelta(seconds=wait),
                )
                return
        self.fail(generation_id, seq, f"The provider refused the request: {exc}", code=exc.code)

    def poll(self, generation_id: str, seq: int) -> None:
        """Ask the provider once; then reschedule, or fetch and process the videos."""
        with transaction(self.sessions) as session:
            row = self._load(session, generation_id, seq)
            if row is None:
                return
            status = Status(row.status)
            operation = row.operation_name
            provider_name, user_id, surface = row.provider, row.user_id, row.surface
            polls = row.poll_count
        if status in (Status.FETCHING, Status.PROCESSING):
            self._collect(generation_id, seq)
            return
        if status != Status.RUNNING or not operation:
            log.info("generation %s: nothing to poll while %s", generation_id, status.value)
            return
        try:
            state = self.providers(provider_name, user_id, surface).poll(operation)
            metrics.record_provider_call(provider_name, "poll")
        except ProviderError as exc:
            metrics.record_provider_call(provider_name, "poll", exc.code or "ERROR")
            state = OperationState(
                kind="failed",
                code=exc.code,
                message=str(exc),
                retryable=exc.retryable,
                retry_after_seconds=exc.retry_after_seconds,
            )
        self._on_state(generation_id, seq, state, polls, user_id, surface)

    def poll_now(self, operation_id: str) -> str | None:
        """Poll at once the running generation whose provider operation is ``operation_id`` (a webhook said so).

        ``operation_id`` is matched whole or as the last part of the stored name
        (``models/…/operations/abc`` matches ``abc``); an id no generation of
        ours carries is ignored (a project webhook hears the whole project).
        Returns the generation's id, or None.
        """
        operation_id = operation_id.strip()
        if not operation_id or len(operation_id) > 512:
            return None
        tail = operation_id.rsplit("/", 1)[-1]
        with self.sessions() as session:
            found = session.execute(
                select(Generation.id, Generation.job_seq, Generation.operation_name).where(
                    Generation.status == Status.RUNNING.value,
                    Generation.operation_name.in_((operation_id, tail))
                    | Generation.operation_name.endswith("/" + tail),
                )
            ).first()
        if found is None:
            return None
        generation_id, seq, _ = found
        try:
            with transaction(self.sessions) as session:
                row = get_row(session, generation_id)
                new = bump_seq(session=session, generation=row, expected=seq)
                record_event(
                    session=session, generation=row, kind=WEBHOOK_EVENT, detail="Google announced the end; asking now"
                )
        except TransitionError:
            return None  # another step moved it meanwhile: that step polls or has finished
        self.queue.enqueue(POLL_JOB, generation_id, new)
        return generation_id

    def _on_state(
        self,
        generation_id: str,
        seq: int,
        state: OperationState,
        polls: int,
        user_id: int | None = None,
        surface: str | None = None,
    ) -> None:
        if state.kind == "pending":
            delay = self._poll_delay(user_id, surface, polls)
            self.enqueue_step(generation_id, seq, POLL_JOB, delay=delay, poll_count=polls + 1)
            return
        if state.kind == "failed":
            self._after_poll_error(generation_id, seq, state)
            return
        with transaction(self.sessions) as session:
            row = get_row(session, generation_id)
            if state.kind == "filtered":
                reasons = list(state.reasons) or ["The provider's safety filter blocked this request."]
                transition(
                    session=session,
                    generation=row,
                    to=Status.FILTERED,
                    seq=seq,
                    detail="; ".join(reasons),
                    safety_reasons=reasons,
                )
                ledger.release(session=session, generation=row)
                return
            if not state.videos:
                transition(
                    session=session,
                    generation=row,
                    to=Status.FAILED,
                    seq=seq,
                    detail="the provider finished without a video",
                    error_code="NO_VIDEO",
                    error_message="The provider finished without returning a video. You have not been charged.",
                )
                ledger.release(session=session, generation=row)
                return
            transition(
                session=session,
                generation=row,
                to=Status.FETCHING,
                seq=seq,
                detail=f"{len(state.videos)} video(s) ready",
                provider_videos=[v.uri for v in state.videos],
            )
        self._collect(generation_id, seq)

    def _after_poll_error(self, generation_id: str, seq: int, state: OperationState) -> None:
        """A failed poll: wait and poll again (the operation keeps running), or fail the generation."""
        quota = state.code in ("RESOURCE_EXHAUSTED", "429")
        with transaction(self.sessions) as session:
            row = get_row(session, generation_id)
            attempts = row.retry_count
            retry = quota or (state.retryable and attempts < self.settings.max_provider_retries)
            if retry:
                record_event(
                    session=session, generation=row, kind="retry", detail=f"poll failed ({state.code}); polling again"
                )
        if retry:
            delay = state.retry_after_seconds or self._retry_delay(attempts)
            self.enqueue_step(
                generation_id, seq, POLL_JOB, delay=delay, retry_count=attempts if quota else attempts + 1
            )
        else:
            message = state.message or "The provider reported an error."
            self.fail(
                generation_id, seq, f"The provider could not make this video: {message}", code=state.code or "FAILED"
            )

    # -- fetch and process ----------------------------------------------------

    def _collect(self, generation_id: str, seq: int) -> None:
        """Copy every video into our storage, then probe and thumbnail it; resumable."""
        try:
            self._fetch_all(generation_id, seq)
            self._process_all(generation_id, seq)
        except (MediaError, StorageError) as exc:
            self.fail(generation_id, seq, f"The video could not be processed: {exc}", code="MEDIA")
            with self.sessions() as session:
                row = session.get(Generation, generation_id)
                if row is not None and row.status == Status.FAILED.value:
                    self.store.delete_generation(row.user_id, row.id)
        except TransitionError as exc:
            log.info("%s", exc)

    def _fetch_all(self, generation_id: str, seq: int) -> None:
        with self.sessions() as session:
            row = get_row(session, generation_id)
            if row.status != Status.FETCHING.value:
                return
            user_id, provider_name, uris = row.user_id, row.provider, list(row.provider_videos or [])
            surface = row.surface
        provider = self.providers(provider_name, user_id, surface)
        for index, uri in enumerate(uris):
            key = storage.video_key(user_id, generation_id, index)
            if self.store.exists(key):
                continue
            with tempfile.TemporaryDirectory(prefix="veogen-") as tmp:
                dest = Path(tmp) / "video.mp4"
                try:
                    provider.fetch(ProviderVideo(uri=uri), dest)
                except ProviderError as exc:
                    metrics.record_provider_call(provider_name, "fetch", exc.code or "ERROR")
                    raise
                metrics.record_provider_call(provider_name, "fetch")
                self.store.put_file(key, dest)
        with transaction(self.sessions) as session:
            row = get_row(session, generation_id)
            transition(session=session, generation=row, to=Status.PROCESSING, seq=seq, detail="videos stored")

    def _process_all(self, generation_id: str, seq: int) -> None:
        with self.sessions() as session:
            row = session.execute(
                select(Generation).where(Generation.id == generation_id).options(selectinload(Generation.videos))
            ).scalar_one()
            if row.status != Status.PROCESSING.value:
                return
            user_id, uris = row.user_id, list(row.provider_videos or [])
            provider_name = row.provider
            done = {v.index for v in row.videos}
            asked = self._asked(session, row) if row.movie_id else None  # a film's shot is checked
        for index, uri in enumerate(uris):
            if index in done:
                continue
            started = time.perf_counter()
            video = self._process_one(user_id, generation_id, index, asked)
            metrics.MEDIA_SECONDS.labels(provider_name).observe(time.perf_counter() - started)
            video.provider_uri = uri
            with transaction(self.sessions) as session:
                if (
                    session.execute(
                        select(Video.id).where(Video.generation_id == generation_id, Video.index == index)
                    ).first()
                    is None
                ):
                    session.add(video)
        with transaction(self.sessions) as session:
            row = session.execute(
                select(Generation).where(Generation.id == generation_id).options(selectinload(Generation.videos))
            ).scalar_one()
            seconds = sum(v.duration_seconds for v in row.videos)
            # Billed by the requested length per video made (how Veo charges), not the probed one.
            made = replace(GenerationParams.of(row), sample_count=len(row.videos))
            cost = catalog.price_usd(made)
            ledger.settle(session=session, generation=row, cost=cost)
            transition(
                session=session,
                generation=row,
                to=Status.SUCCEEDED,
                seq=seq,
                detail=f"{len(row.videos)} video(s), {seconds:.1f} s in all; cost ${cost:.2f}",
            )

    @staticmethod
    def _asked(session: Session, row: Generation) -> GenerationParams:
        """What a film's take asked for; an extension's answer is one combined video: its source plus the new part."""
        asked = GenerationParams.of(row)
        if row.mode != "extend" or row.extend_of_id is None:
            return asked
        source = session.execute(
            select(Video.duration_seconds).where(Video.generation_id == row.extend_of_id, Video.index == 0)
        ).scalar_one_or_none()
        added = catalog.billed_seconds(
            catalog.get_model(row.model), mode=row.mode, duration_seconds=row.duration_seconds
        )
        return replace(asked, duration_seconds=round((source or 0) + added))

    def _process_one(self, user_id: int, generation_id: str, index: int, asked: GenerationParams | None) -> Video:
        """Probe, thumbnail and poster one stored video; a film's shot is also checked (``asked``)."""
        from core import media  # PyAV and Pillow: loaded by workers (preloaded there), never by the web process

        key = storage.video_key(user_id, generation_id, index)
        with tempfile.TemporaryDirectory(prefix="veogen-") as tmp:
            local = self.store.local_path(key)
            if local is None:
                local = Path(tmp) / "video.mp4"
                local.write_bytes(self.store.get_bytes(key))
            info = media.probe_video(local)
            thumb = media.make_thumbnail(local)
            poster = media.make_poster(local)
            flags = self._quality_flags(local, asked, info) if asked is not None else None
        thumb_key = storage.thumbnail_key(user_id, generation_id, index)
        poster_key = storage.poster_key(user_id, generation_id, index)
        self.store.put_bytes(thumb_key, thumb)
        self.store.put_bytes(poster_key, poster)
        return Video(
            generation_id=generation_id,
            index=index,
            storage_key=key,
            thumbnail_key=thumb_key,
            poster_key=poster_key,
            quality_flags=flags,
            **info.columns(),
        )

    @staticmethod
    def _quality_flags(path: Path, asked: GenerationParams, info: VideoFacts) -> list[dict[str, object]] | None:
        """The OpenCV checks of a film's shot; a check that cannot run is logged and never fails the shot."""
        from core import checks  # OpenCV: workers only

        try:
            return [asdict(flag) for flag in checks.check_shot(path, asked, facts=info)]
        except (MediaError, ValueError) as exc:
            log.warning("quality checks of %s could not run: %s", path, exc)
            return None

    def on_crash(self, generation_id: str, seq: int, step: str, exc: Exception) -> None:
        """After an unexpected error: retry the step with backoff, or fail once retries run out."""
        with transaction(self.sessions) as session:
            row = session.get(Generation, generation_id)
            if row is None or Status(row.status) in FINAL or row.job_seq != seq:
                return
            attempts = row.retry_count
            if attempts < self.settings.max_provider_retries:
                record_event(
                    session=session,
                    generation=row,
                    kind="retry",
                    detail=f"internal error ({type(exc).__name__}); retrying",
                )
        if attempts < self.settings.max_provider_retries:
            self.enqueue_step(generation_id, seq, step, delay=self._retry_delay(attempts), retry_count=attempts + 1)
        else:
            self.fail(
                generation_id,
                seq,
                f"Internal error after {attempts + 1} attempts: {type(exc).__name__}: {exc}",
                code="INTERNAL",
            )


def get_row(session: Session, generation_id: str) -> Generation:
    """Load a generation that must exist (steps only run for rows they were enqueued for)."""
    row = session.get(Generation, generation_id)
    assert row is not None, f"generation {generation_id} vanished"
    return row
