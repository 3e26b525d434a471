"""A film's bank of pictures: its characters (reference images sent with the shots that name them) and its
start images (a shot starts from one, in first-frame mode).

Every picture is checked and re-encoded like any upload and stored before the row that points at it; a
refused picture stores nothing. Functions take the movie row their caller already found for its owner
(``core.services.movies.owned``) and ``session`` keyword-only, and never commit; :mod:`core.movies` does.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core import catalog, storage
from core.errors import ValidationError
from core.images import check_image
from core.models import Character, CharacterImage, Movie, MovieImage, Shot, new_id
from core.services.generations import UploadedImage
from core.storage import Storage

MAX_CHARACTERS = 12
MAX_NAME_CHARS = 60
"""Longest name of a character or a start image, in characters."""

MAX_DESCRIPTION_CHARS = 500

MAX_START_IMAGES = 24
"""Most start images one film keeps."""


@dataclass(frozen=True)
class CharacterView:
    id: str
    name: str
    description: str
    images: int


@dataclass(frozen=True)
class StartImageView:
    id: str
    name: str
    width: int
    height: int
    storage_key: str


def clean_text(text: str, *, label: str, limit: int, required: bool) -> str:
    """One line of free text with its spaces folded (several lines kept as written), checked for length."""
    text = " ".join((text or "").split()) if "\n" not in (text or "") else (text or "").strip()
    if required and not text:
        raise ValidationError(f"{label} is empty.", field=label.lower())
    if len(text) > limit:
        raise ValidationError(f"{label} is {len(text)} characters long; the limit is {limit}.", field=label.lower())
    return text


def add_character(
    *,
    session: Session,
    movie: Movie,
    name: str,
    description: str,
    images: tuple[UploadedImage, ...],
    store: Storage,
) -> Character:
    """Add a character with its 1–3 reference images. The caller commits."""
    name = clean_text(name, label="Name", limit=MAX_NAME_CHARS, required=True)
    existing = characters(session=session, movie_id=movie.id)
    if len(existing) >= MAX_CHARACTERS:
        raise ValidationError(f"A film has at most {MAX_CHARACTERS} characters.", field="characters")
    same = next((c for c in existing if c.name.casefold() == name.casefold()), None)
    if same is not None:
        raise ValidationError(f"This film already has a character called {same.name}.", field="name")
    if not 1 <= len(images) <= catalog.MAX_REFERENCE_IMAGES:
        raise ValidationError(
            f"Give a character 1 to {catalog.MAX_REFERENCE_IMAGES} reference images, not {len(images)}.",
            field="images",
        )
    clean = [check_image(i.data, name=i.name, role="reference") for i in images]
    character = Character(
        id=new_id(),
        movie_id=movie.id,
        name=name,
        description=clean_text(description, label="Description", limit=MAX_DESCRIPTION_CHARS, required=False),
    )
    for index, image in enumerate(clean):
        key = storage.input_key(movie.user_id, character.id, index, image.mime_type)
        store.put_bytes(key, image.data)
        character.images.append(
            CharacterImage(
                index=index,
                storage_key=key,
                mime_type=image.mime_type,
                width=image.width,
                height=image.height,
                sha256=image.sha256,
            )
        )
    session.add(character)
    session.flush()
    return character


def characters(*, session: Session, movie_id: str) -> list[Character]:
    return list(
        session.execute(
            select(Character)
            .where(Character.movie_id == movie_id)
            .options(selectinload(Character.images))
            .order_by(Character.created_at, Character.id)
        ).scalars()
    )


def references(*, session: Session, shot: Shot, store: Storage) -> tuple[UploadedImage, ...]:
    """The reference images of the shot's characters, in the shot's order of characters."""
    if not shot.character_ids:
        return ()
    by_id = {c.id: c for c in characters(session=session, movie_id=shot.movie_id)}
    return tuple(
        UploadedImage("reference", f"{by_id[cid].name}-{image.index}", store.get_bytes(image.storage_key))
        for cid in shot.character_ids
        if cid in by_id
        for image in by_id[cid].images
    )


def add_start_image(*, session: Session, movie: Movie, name: str, image: UploadedImage, store: Storage) -> MovieImage:
    """Add a picture shots may start from (first-frame mode). The caller commits."""
    name = clean_text(name, label="Name", limit=MAX_NAME_CHARS, required=True)
    existing = start_images(session=session, movie_id=movie.id)
    if len(existing) >= MAX_START_IMAGES:
        raise ValidationError(f"A film keeps at most {MAX_START_IMAGES} start images.", field="images")
    same = next((i for i in existing if i.name.casefold() == name.casefold()), None)
    if same is not None:
        raise ValidationError(f"This film already has a start image called {same.name}.", field="name")
    clean = check_image(image.data, name=image.name, role="first_frame")
    row = MovieImage(
        id=new_id(),
        movie_id=movie.id,
        name=name,
        storage_key="",
        mime_type=clean.mime_type,
        width=clean.width,
        height=clean.height,
        sha256=clean.sha256,
    )
    row.storage_key = storage.input_key(movie.user_id, row.id, 0, clean.mime_type)
    store.put_bytes(row.storage_key, clean.data)
    session.add(row)
    session.flush()
    return row


def start_images(*, session: Session, movie_id: str) -> list[MovieImage]:
    return list(
        session.execute(
            select(MovieImage).where(MovieImage.movie_id == movie_id).order_by(MovieImage.created_at, MovieImage.id)
        ).scalars()
    )


def start_frame(*, session: Session, shot: Shot, store: Storage) -> UploadedImage | None:
    """The start image of the shot as a first frame to send, or None when it has none."""
    image = session.get(MovieImage, shot.start_image_id) if shot.start_image_id else None
    if image is None or image.movie_id != shot.movie_id:
        return None
    return UploadedImage("first_frame", image.name, store.get_bytes(image.storage_key))
