"""The assembled film: asking for it, the worker's job description, its outcome, its files, its soundtrack.

Assembly joins the takes chosen when it was asked for (a fencing token, ``assembly_seq``, lets only the
newest job write); re-assembling after a retake renders nothing again. A soundtrack is music the creator
uploads, replacing the shots' sound or mixed under it; its bytes are checked here by their signature
(the worker decodes them, and says so when it cannot). Services take ``session`` keyword-only and never
commit; :mod:`core.movies` does. Imports no PyAV or OpenCV.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core import storage
from core.errors import NotFoundError, ValidationError
from core.models import Generation, Movie, Shot, utcnow
from core.services import outgoing
from core.services.continuity import CONTINUITY_JOINS
from core.services.movie_views import soundtrack_signature, view_of
from core.services.movies import owned
from core.storage import Storage

CROSSFADE_SECONDS = 0.5
"""Length of a crossfade join, in seconds (only this window around the join is encoded again)."""

MAX_SOUNDTRACK_BYTES = 100 * 1024 * 1024
"""Largest soundtrack upload, in bytes (about 50 minutes of 256 kb/s MP3)."""

MAX_SOUNDTRACK_NAME_CHARS = 255

SOUNDTRACK_MODES = {"mix": "Mixed under the shots' sound", "replace": "Replaces the shots' sound"}


def soundtrack_format(data: bytes) -> str | None:
    """The file extension of a soundtrack by its signature (MP3, AAC, WAV, Ogg, FLAC, M4A), or None."""
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xF6 in (0xF2, 0xF4, 0xF6)):
        return "mp3"
    if len(data) > 1 and data[0] == 0xFF and data[1] & 0xF6 == 0xF0:
        return "aac"  # ADTS: sync word and layer 0
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:4] == b"OggS":
        return "ogg"
    if data[:4] == b"fLaC":
        return "flac"
    if data[4:8] == b"ftyp":
        return "m4a"
    return None


def set_soundtrack(
    *, session: Session, user_id: int, movie_id: str, name: str, data: bytes, mode: str, level: float, store: Storage
) -> Movie:
    """Give the film its music (replacing any earlier one); checked before anything is stored. The caller commits."""
    movie = owned(session=session, user_id=user_id, movie_id=movie_id, for_update=True)
    if mode not in SOUNDTRACK_MODES:
        raise ValidationError(
            f"A soundtrack is mixed under the shots' sound or replaces it, not {mode!r}.", field="mode"
        )
    if not 0.0 <= level <= 1.0:
        raise ValidationError(f"The soundtrack's level is between 0 and 1, not {level}.", field="level")
    if not data:
        raise ValidationError(f"{name or 'The soundtrack'} is empty.", field="soundtrack")
    if len(data) > MAX_SOUNDTRACK_BYTES:
        raise ValidationError(
            f"{name} is {math.ceil(len(data) * 10 / 2**20) / 10:.1f} MiB; "  # rounded up: never reads as the limit
            f"a soundtrack is at most {MAX_SOUNDTRACK_BYTES // 2**20} MiB.",
            field="soundtrack",
        )
    extension = soundtrack_format(data)
    if extension is None:
        raise ValidationError(f"{name} is not an MP3, AAC, M4A, WAV, Ogg or FLAC file.", field="soundtrack")
    key = storage.soundtrack_key(user_id, movie.id, extension)
    store.put_bytes(key, data)  # the file first: the row never points at music that is not stored
    if movie.soundtrack_key and movie.soundtrack_key != key:
        store.delete(movie.soundtrack_key)
    movie.soundtrack_key = key
    movie.soundtrack_name = " ".join(name.split())[:MAX_SOUNDTRACK_NAME_CHARS] or f"soundtrack.{extension}"
    movie.soundtrack_mode = mode
    movie.soundtrack_level = level
    movie.updated_at = utcnow()
    return movie


def clear_soundtrack(*, session: Session, user_id: int, movie_id: str, store: Storage) -> Movie:
    """Take the music off the film (the next assembly uses the shots' own sound). The caller commits."""
    movie = owned(session=session, user_id=user_id, movie_id=movie_id, for_update=True)
    if movie.soundtrack_key:
        store.delete(movie.soundtrack_key)
    movie.soundtrack_key = movie.soundtrack_name = None
    movie.updated_at = utcnow()
    return movie


ASSEMBLING = ("queued", "running")
STALE_ASSEMBLY_SECONDS = 15 * 60
"""An assembly queued or running this long (its worker died) may be asked for again."""


def request_assembly(*, session: Session, user_id: int, movie_id: str) -> tuple[int, list[str]]:
    """Mark the film to be assembled from the takes chosen now; returns the job's fencing token and the takes.

    Every shot needs a finished take. The caller commits, then enqueues the job.
    """
    movie = owned(session=session, user_id=user_id, movie_id=movie_id, for_update=True)
    view = view_of(session=session, movie=movie)
    if not view.shots:
        raise ValidationError("Write and render the shots first.", field="shots")
    missing = [s.position + 1 for s in view.shots if s.chosen_id is None]
    if missing:
        raise ValidationError(f"Shot(s) {', '.join(map(str, missing))} have no finished take yet.", field="shots")
    fresh = (utcnow() - movie.updated_at).total_seconds() < STALE_ASSEMBLY_SECONDS
    if movie.assembly_status in ASSEMBLING and fresh:
        raise ValidationError("The film is being assembled; wait for it to finish.", field="assembly")
    takes = [str(s.chosen_id) for s in view.shots]
    movie.assembly_seq += 1
    movie.assembly_status = "queued"
    movie.assembly_takes = takes
    movie.assembly_message = None
    movie.updated_at = utcnow()
    return movie.assembly_seq, takes


@dataclass(frozen=True)
class AssemblyJob:
    """What the worker needs to assemble a film: its clips' storage keys and joins, and where to write."""

    movie_id: str
    user_id: int
    clips: list[tuple[str, str]]
    """(storage key of the chosen take's first video, join) in shot order."""
    soundtrack: tuple[str, str, float] | None = None
    """(storage key, "replace" or "mix", level) of the film's music, if it has one."""
    soundtrack_signature: str | None = None
    """What the film's report records of that music (see ``soundtrack_signature``)."""


def assembly_job(*, session: Session, movie_id: str, seq: int) -> AssemblyJob | None:
    """Mark the assembly running and say what to join; None when this job is stale (another one replaced it)."""
    movie = session.get(Movie, movie_id, with_for_update=True)
    if movie is None or movie.assembly_seq != seq or movie.assembly_status not in ASSEMBLING:
        return None
    rows = {
        g.id: g
        for g in session.execute(
            select(Generation)
            .where(Generation.id.in_(movie.assembly_takes or []))
            .options(selectinload(Generation.videos))
        ).scalars()
    }
    by_position = sorted(movie.shots, key=lambda s: s.position)
    clips: list[tuple[str, str]] = []
    previous: Generation | None = None
    for shot, take in zip(by_position, movie.assembly_takes or [], strict=False):
        row = rows.get(take)
        if row is None or not row.videos:
            raise ValidationError(f"Shot {shot.position + 1}'s take is gone; pick another take.", field="shots")
        clips.append((row.videos[0].storage_key, _join_of(shot, row, previous)))
        if _holds_previous(row, previous):
            _, join = clips.pop(-2)  # the extension's one combined video already holds the shot before it
            clips[-1] = (clips[-1][0], join)  # and meets the film where that shot did
        previous = row
    movie.assembly_status = "running"
    movie.updated_at = utcnow()
    music = (movie.soundtrack_key, movie.soundtrack_mode, movie.soundtrack_level) if movie.soundtrack_key else None
    return AssemblyJob(movie.id, movie.user_id, clips, music, soundtrack_signature(movie))


def _join_of(shot: Shot, take: Generation, previous: Generation | None) -> str:
    """How the take meets the one before it in the film: a continued take "continue"s (its first frame is the
    previous last frame), an extension is a cut; a draft of a continuity shot was rendered alone, so a cut."""
    if shot.join not in CONTINUITY_JOINS:
        return shot.join
    if take.mode == "extend" and previous is not None and take.extend_of_id != previous.id:
        raise ValidationError(
            f"Shot {shot.position + 1} extends another take of shot {shot.position} than the one chosen; "
            f"choose that take for shot {shot.position}, or re-render shot {shot.position + 1} to extend it.",
            field="shots",
        )
    return "continue" if take.mode == "image" else "cut"


def _holds_previous(take: Generation, previous: Generation | None) -> bool:
    """Whether an extension came back as one combined video (Google's answer) rather than the new part alone."""
    if previous is None or take.mode != "extend" or take.extend_of_id != previous.id:
        return False
    return take.videos[0].duration_seconds > previous.videos[0].duration_seconds + 0.5


def finish_assembly(
    *, session: Session, movie_id: str, seq: int, report: dict[str, object] | None, message: str | None
) -> None:
    """Record the outcome of assembly job ``seq`` (a report when done, a message when it failed)."""
    movie = session.get(Movie, movie_id, with_for_update=True)
    if movie is None or movie.assembly_seq != seq:
        return
    movie.assembly_status = "done" if report is not None else "failed"
    movie.assembly_report = report
    movie.assembly_message = message
    movie.assembled_at = utcnow() if report is not None else movie.assembled_at
    movie.updated_at = utcnow()
    outgoing.record_movie_end(session=session, movie=movie)  # in this transaction: the user's webhooks hear of it


def film_key(*, session: Session, user_id: int, movie_id: str, kind: str) -> str:
    """The storage key of the user's assembled film ("video", "thumbnail" or "poster")."""
    movie = owned(session=session, user_id=user_id, movie_id=movie_id)
    if movie.assembly_status != "done" and movie.assembled_at is None:
        raise NotFoundError("This film has not been assembled yet.")
    keys = {
        "video": storage.video_key(user_id, movie.id, 0),
        "thumbnail": storage.thumbnail_key(user_id, movie.id, 0),
        "poster": storage.poster_key(user_id, movie.id, 0),
    }
    if kind not in keys:
        raise NotFoundError("No such file.")
    return keys[kind]
