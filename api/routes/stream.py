"""Live updates as Server-Sent Events: ``GET /v1/generations/{id}/stream`` and ``GET /v1/movies/{id}/stream``.

Fed from the events already recorded (every status change is an ``events`` row):
a stream first sends what happened after ``Last-Event-ID`` (everything, without
it), then reads the database every ``POLL_SECONDS`` and sends what is new,
until the generation is final, or until none of a film's takes is open and its
assembly is not queued or running; then an ``end`` message, and the answer
closes. Each message carries an ``id`` a reconnecting client sends back as
``Last-Event-ID`` so it misses nothing and gets nothing twice (a film's takes run on
several workers, so an open film stream re-reads from where it began and skips
what it sent; only an event committed out of id order during a reconnect could be
missed, and the film's state is always in ``GET /v1/movies/{id}``). A comment line
every ``HEARTBEAT_SECONDS`` keeps proxies from closing a quiet connection; a
stream open ``MAX_STREAM_SECONDS`` closes without ``end`` (the client reconnects).
The token is checked again every ``RECHECK_SECONDS``: once it is revoked, expired or
ended (a logout, a password change or reset, a disabled account), the stream sends an
``unauthorized`` message saying why and closes; reconnecting then answers 401.
Another user's generation or film answers 404 before anything is streamed.

Messages (``data`` is JSON):

- generation: ``status`` (one event: ``kind``, ``from_status``, ``to_status``, ``detail``, ``at``), ``end``
  (``status``, the final one). ``id`` is the event's id.
- either: ``unauthorized`` (``detail``: why the token no longer counts), the last message of a stream whose
  token stopped counting while it was open.
- film: ``take`` (a take's event, with its ``shot_id`` and 1-based ``shot``), ``assembly``
  (``assembly_status``, ``assembly_message``, ``assembled_at``), ``end``. ``id`` is
  ``<event id>.<assembled at, epoch seconds, 0 before the first>.<assembly status>``.

Server-Sent Events are a dozen lines of text format, written here with
StreamingResponse and an async generator (the database read in the thread pool)
rather than adding sse-starlette, which installs beside this Starlette but would
bring a dependency for the formatting alone.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Header, Path
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from api.problems import Problem, documented, invalid
from api.security import PresentedToken, Reader, StudioDep, check_bearer
from core.errors import NotFoundError
from core.services.generations import EventView
from core.services.movie_views import MovieView
from core.studio import Studio

router = APIRouter(tags=["live updates"])

POLL_SECONDS = 1.0
"""How often an open stream reads the database for new events, in seconds."""

HEARTBEAT_SECONDS = 15.0
"""Longest silence on an open stream before a comment line is sent (proxies close idle connections), in seconds."""

MAX_STREAM_SECONDS = 3600.0
"""How long one stream stays open at most, in seconds; the client then reconnects with ``Last-Event-ID``."""

RECHECK_SECONDS = 10.0
"""How often an open stream checks its token again, in seconds (a revoked token stops it within this)."""

RETRY_MILLISECONDS = 2000
"""The reconnection delay a client is told (the SSE ``retry`` field), in milliseconds."""

ASSEMBLING = ("queued", "running")
"""Assembly statuses that are still moving."""

MEDIA_TYPE = "text/event-stream"

HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
"""No caching, and no buffering by nginx (which sits in front of the API in the compose file)."""

_FILM_CURSOR = re.compile(r"^(\d{1,18})(?:\.(\d{1,12})\.([a-z]{1,16}))?$")

T = TypeVar("T")


def message(event: str, data: dict[str, Any], *, id: str | None = None) -> str:
    """One SSE message: its ``id`` (if any), its ``event`` name and its JSON ``data`` on one line."""
    head = f"id: {id}\n" if id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, default=str, separators=(',', ':'))}\n\n"


def _event_data(event: EventView) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "detail": event.detail,
        "at": event.at.isoformat(),
    }


def _bad_cursor(example: str) -> Problem:
    return invalid(
        f"Last-Event-ID is not an id this stream sent (like {example}); reconnect without it to start over.",
        "Last-Event-ID",
    )


LastEventId = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        max_length=64,
        description="The ``id`` of the last message received: the stream goes on after it.",
    ),
]

STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events until the work is final: ``status``/``take``, ``assembly`` and ``end`` "
        "messages, each ``data`` a JSON object, each ``id`` the value to send back as ``Last-Event-ID``.",
        "content": {MEDIA_TYPE: {"schema": {"type": "string"}}},
    },
    **documented(401, 403, 404, 422),
}


class _Pacer:
    """Between two reads of a stream: a heartbeat when due, the token checked again, the stream's longest time."""

    def __init__(self, studio: Studio, token: str) -> None:
        self.studio, self.token = studio, token
        self.opened = self.last_sent = self.last_checked = time.monotonic()

    def sent(self) -> None:
        self.last_sent = time.monotonic()

    def heartbeat_due(self) -> bool:
        return time.monotonic() - self.last_sent >= HEARTBEAT_SECONDS

    def expired(self) -> bool:
        return time.monotonic() - self.opened >= MAX_STREAM_SECONDS

    async def refusal(self) -> str | None:
        """Why the stream's token no longer counts (checked every ``RECHECK_SECONDS``), or None."""
        if time.monotonic() - self.last_checked < RECHECK_SECONDS:
            return None
        self.last_checked = time.monotonic()
        check = await _read(check_bearer, self.studio, self.token)
        return None if check.owner is not None else check.error or "This token no longer counts."

    async def between_reads(self) -> tuple[str | None, bool]:
        """What to send before the next read (a token's refusal, a heartbeat, nothing) and whether to close."""
        if self.expired():
            return None, True  # without ``end``: the client reconnects with Last-Event-ID
        refusal = await self.refusal()
        if refusal is not None:
            return message("unauthorized", {"detail": refusal}), True
        if self.heartbeat_due():
            self.sent()
            return ": keepalive\n\n", False
        return None, False


async def _read(call: Callable[..., T], *args: Any) -> T:
    return await run_in_threadpool(call, *args)


def _streaming(body: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(body, media_type=MEDIA_TYPE, headers=HEADERS)


@router.get(
    "/generations/{generation_id}/stream",
    response_class=StreamingResponse,
    responses=STREAM_RESPONSES,
)
async def stream_generation(
    generation_id: Annotated[str, Path(max_length=64)],
    owner: Reader,
    studio: StudioDep,
    token: PresentedToken,
    last_event_id: LastEventId = None,
) -> StreamingResponse:
    """The generation's status changes as they happen, from after ``Last-Event-ID``, until it is final."""
    after = 0
    if last_event_id is not None:
        if not last_event_id.isdigit() or len(last_event_id) > 18:
            raise _bad_cursor("42")
        after = int(last_event_id)
    user_id = owner.user.id
    await _read(studio.generations.get_generation, user_id, generation_id)  # 404 before streaming
    return _streaming(_generation_messages(_Pacer(studio, token), user_id, generation_id, after))


async def _generation_messages(pacer: _Pacer, user_id: int, generation_id: str, after: int) -> AsyncIterator[str]:
    studio = pacer.studio
    yield f"retry: {RETRY_MILLISECONDS}\n\n"
    while True:
        try:  # the status first: the events read after it include the one that made it final
            view = await _read(studio.generations.get_generation, user_id, generation_id)
        except NotFoundError:  # deleted meanwhile
            return
        for _, event in await _read(studio.generations.events_after, user_id, [generation_id], after):
            after = event.id
            yield message("status", _event_data(event), id=str(event.id))
            pacer.sent()
        if view.status.is_final:
            yield message("end", {"status": view.status.value})
            return
        text, closing = await pacer.between_reads()
        if text is not None:
            yield text
        if closing:
            return
        await asyncio.sleep(POLL_SECONDS)


@dataclass
class _FilmCursor:
    event_id: int = 0
    assembled: int = 0
    """When the film was last assembled, in epoch seconds (0: never)."""
    assembly: str = "none"

    def __str__(self) -> str:
        return f"{self.event_id}.{self.assembled}.{self.assembly}"


def _film_busy(movie: MovieView) -> bool:
    takes_open = any(not take.status.is_final for shot in movie.shots for take in shot.takes)
    return takes_open or movie.assembly_status in ASSEMBLING


@router.get("/movies/{movie_id}/stream", response_class=StreamingResponse, responses=STREAM_RESPONSES)
async def stream_movie(
    movie_id: Annotated[str, Path(max_length=64)],
    owner: Reader,
    studio: StudioDep,
    token: PresentedToken,
    last_event_id: LastEventId = None,
) -> StreamingResponse:
    """The film's takes' status changes and its assembly, from after ``Last-Event-ID``, until nothing moves."""
    cursor = _FilmCursor()
    if last_event_id is not None:
        found = _FILM_CURSOR.match(last_event_id)
        if found is None:
            raise _bad_cursor("42.1796878800.done")
        cursor = _FilmCursor(int(found[1]), int(found[2] or 0), found[3] or "none")
    user_id = owner.user.id
    await _read(studio.movies.get, user_id, movie_id)  # 404 before streaming
    return _streaming(_movie_messages(_Pacer(studio, token), user_id, movie_id, cursor))


async def _movie_messages(pacer: _Pacer, user_id: int, movie_id: str, cursor: _FilmCursor) -> AsyncIterator[str]:
    studio = pacer.studio
    floor, sent = cursor.event_id, set[int]()
    yield f"retry: {RETRY_MILLISECONDS}\n\n"
    while True:
        try:
            movie = await _read(studio.movies.get, user_id, movie_id)
        except NotFoundError:
            return
        shots = {take.id: shot for shot in movie.shots for take in shot.takes}
        # Takes run on several workers at once, so an event may commit after one with a higher id: read from
        # where the stream began each time and skip what was sent (a film has a few hundred events at most).
        events = await _read(studio.generations.events_after, user_id, list(shots), floor)
        for take_id, event in events:
            if event.id in sent:
                continue
            sent.add(event.id)
            cursor.event_id = max(cursor.event_id, event.id)
            shot = shots[take_id]
            data = {"generation_id": take_id, "shot_id": shot.id, "shot": shot.position + 1, **_event_data(event)}
            yield message("take", data, id=str(cursor))
            pacer.sent()
        assembled = int(movie.assembled_at.timestamp()) if movie.assembled_at else 0
        if (assembled, movie.assembly_status) != (cursor.assembled, cursor.assembly):
            cursor.assembled, cursor.assembly = assembled, movie.assembly_status
            data = {
                "assembly_status": movie.assembly_status,
                "assembly_message": movie.assembly_message,
                "assembled_at": movie.assembled_at.isoformat() if movie.assembled_at else None,
            }
            yield message("assembly", data, id=str(cursor))
            pacer.sent()
        if not _film_busy(movie):
            yield message("end", {"assembly_status": movie.assembly_status})
            return
        text, closing = await pacer.between_reads()
        if text is not None:
            yield text
        if closing:
            return
        await asyncio.sleep(POLL_SECONDS)
