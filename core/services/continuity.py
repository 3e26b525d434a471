"""Shots that start from the shot before them: "continue" (from its last frame), "extend" (the video itself),
and a shot's own start image recoloured to the previous shot's last frame ("match colours").

A final take of such a shot is reserved with the rest of the film but waits, queued, until the
previous shot has a finished take at its own model (a draft's last frame would carry the offline
renderer's caption, and Google extends only its own videos). Then :func:`attach` gives it that
take's last frame as its first frame (image mode) or names that take as the video to extend, and
admission sends it like any generation. A take whose link turns out impossible (the previous video
is too old for Google to extend) fails before anything is sent, so it costs nothing.

Services take ``session`` keyword-only and never commit; :mod:`core.movies` does. Reading the last
frame (PyAV, OpenCV) is the caller's: this module imports neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased, selectinload

from core import catalog, storage
from core.errors import ValidationError
from core.images import check_image
from core.models import Generation, GenerationInput, MovieImage, Shot
from core.services import ledger
from core.services.generations import check_source_length, source_generation
from core.services.lifecycle import record_event, transition
from core.status import Status
from core.storage import Storage

CONTINUITY_JOINS: dict[str, str] = {"continue": "image", "extend": "extend"}
"""Joins whose final take starts from the previous shot's finished take, and the generation mode each uses."""

LINKS_PER_PASS = 100
"""Waiting takes looked at per admission pass (oldest first)."""

CONTINUITY_FAILED = "CONTINUITY_FAILED"
"""Error code of a waiting take that could not start from the shot before it (nothing was sent)."""


@dataclass(frozen=True)
class Link:
    """A waiting take and the previous shot's take it will start from."""

    generation_id: str
    mode: str
    """``image`` (its first frame is the source's last frame) or ``extend``."""
    source_id: str
    source_key: str
    """Storage key of the source take's first video."""
    start_image_key: str | None = None
    """The shot's own start image, to recolour to the source's last frame (else that frame is sent)."""


def waiting(*, session: Session) -> list[str]:
    """Ids of the queued takes waiting for the shot before them whose shot has a finished take at its own model
    now (the ones :func:`ready` may link), oldest first: one query per pass, however many wait."""
    previous = aliased(Generation)
    finished = (
        select(previous.id)
        .join(Shot, Shot.id == previous.shot_id)
        .where(
            previous.shot_id == Generation.waits_for_shot_id,
            previous.model == Shot.model,
            previous.status == Status.SUCCEEDED.value,
        )
        .exists()
    )
    return list(
        session.execute(
            select(Generation.id)
            .where(Generation.status == Status.QUEUED.value, Generation.waits_for_shot_id.is_not(None), finished)
            .order_by(Generation.created_at, Generation.id)
            .limit(LINKS_PER_PASS)
        ).scalars()
    )


def final_take(*, session: Session, shot: Shot) -> Generation | None:
    """The shot's take a following shot starts from: the chosen one, else the newest, finished at the shot's model."""
    takes = list(
        session.execute(
            select(Generation)
            .where(
                Generation.shot_id == shot.id,
                Generation.model == shot.model,
                Generation.status == Status.SUCCEEDED.value,
            )
            .options(selectinload(Generation.videos))
            .order_by(Generation.created_at, Generation.id)
        ).scalars()
    )
    takes = [t for t in takes if t.videos]
    chosen = next((t for t in takes if t.id == shot.chosen_generation_id), None)
    return chosen or (takes[-1] if takes else None)


def pending_final(*, session: Session, shot: Shot) -> bool:
    """Whether the shot has a take at its own model that is finished or still on its way."""
    ended = (Status.FAILED.value, Status.FILTERED.value, Status.CANCELED.value)
    return (
        session.execute(
            select(Generation.id).where(
                Generation.shot_id == shot.id, Generation.model == shot.model, Generation.status.not_in(ended)
            )
        ).first()
        is not None
    )


def ready(*, session: Session, generation_id: str) -> Link | None:
    """The link of a waiting take whose previous shot has a finished take now; None while it must wait."""
    row = session.get(Generation, generation_id)
    if row is None or row.status != Status.QUEUED.value or row.waits_for_shot_id is None:
        return None
    previous = session.get(Shot, row.waits_for_shot_id)
    source = final_take(session=session, shot=previous) if previous is not None else None
    if source is None:
        return None
    shot = session.get(Shot, row.shot_id) if row.shot_id else None
    matched = shot is not None and shot.match_colours and shot.start_image_id is not None
    image = session.get(MovieImage, shot.start_image_id) if shot is not None and matched else None
    start_key = image.storage_key if image is not None else None
    return Link(row.id, row.mode, source.id, source.videos[0].storage_key, start_key)


def attach(
    *, session: Session, link: Link, store: Storage, first_frame: bytes | None, now: datetime
) -> Generation | None:
    """Give the waiting take what it starts from and let admission send it; None when it moved on meanwhile.

    ``first_frame`` is the source's last frame as PNG (for ``image`` mode). A link Google would refuse
    fails the take before anything is sent, releasing its reservation. The caller commits.
    """
    row = session.execute(
        select(Generation).where(Generation.id == link.generation_id).options(selectinload(Generation.inputs))
        .with_for_update()
    ).scalar_one_or_none()  # fmt: skip
    if row is None or row.status != Status.QUEUED.value or row.waits_for_shot_id is None:
        return None
    try:
        if link.mode == "extend":
            spec = catalog.get_model(row.model)
            source = source_generation(
                session=session, user_id=row.user_id, generation_id=link.source_id, now=now, spec=spec, mode="extend"
            )
            check_source_length(source=source, spec=spec, mode="extend", duration_seconds=row.duration_seconds)
            row.extend_of_id = source.id
        else:
            if first_frame is None:
                raise ValidationError("The previous shot's last frame could not be read.", field="first_frame")
            image = check_image(first_frame, name="the first frame from the previous shot", role="first_frame")
            key = storage.input_key(row.user_id, row.id, 0, image.mime_type)
            store.put_bytes(key, image.data)  # the file first: a row never points at a missing input
            row.inputs.append(
                GenerationInput(
                    index=0,
                    role="first_frame",
                    storage_key=key,
                    mime_type=image.mime_type,
                    width=image.width,
                    height=image.height,
                    sha256=image.sha256,
                )
            )
    except ValidationError as exc:
        transition(
            session=session,
            generation=row,
            to=Status.FAILED,
            detail=f"could not start from the shot before it: {exc}",
            error_code=CONTINUITY_FAILED,
            error_message=f"This shot could not start from the shot before it: {exc}",
        )
        ledger.release(session=session, generation=row)
        return row
    row.waits_for_shot_id = None
    what = "extends" if link.mode == "extend" else "starts from the last frame of"
    if link.start_image_key is not None:
        what = "starts from its start image, recoloured to the last frame of"
    record_event(session=session, generation=row, kind="linked", detail=f"{what} take {link.source_id[:8]}")
    return row
