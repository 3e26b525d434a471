"""``/v1/movies`` assets: a storyboard proposed from a script, characters, start images and the soundtrack.

Every route is one call of ``studio.movies`` (core/movies.py), the call the Movies page makes, with its
rules and sentences: a proposal comes from the text model when there is one (else one shot per sentence)
and is answered in the shape ``PUT /v1/movies/{movie_id}/storyboard`` takes, stored and paid nowhere.
A character's reference images and a start image come as ``multipart/form-data`` read by
``api/uploads.py`` like a generation's images (the JSON in a ``request`` part, each picture in a part
named by the role the page gives it: ``reference`` for a character's, ``first_frame`` for a start image)
and are checked by core as the page's uploads are. A shot names them through the storyboard (its
``characters`` and ``start_image_id``, with ``match_colours``). The soundtrack is a multipart form of the
music file and how it sounds. Another user's film answers 404, like one that does not exist. Proposing
needs the ``generate`` scope (it may ask the text model, on the studio's key, so it counts against the
submits rate limit); everything else here changes a film and needs it too.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Request, UploadFile

from api.problems import documented, invalid
from api.schemas_movie_assets import CharacterIn, ProposalIn, ProposalOut, StartImageIn, proposal_of
from api.schemas_movies import MovieOut, movie_of
from api.security import Generator, StudioDep
from api.uploads import BINARY, UploadRoute, multipart_body, uploaded_images
from core.services.film import MAX_SOUNDTRACK_BYTES, MAX_SOUNDTRACK_NAME_CHARS, SOUNDTRACK_MODES
from core.services.generations import UploadedImage

router = APIRouter(tags=["movies"])

MovieId = Annotated[str, Path(max_length=64)]

CHARACTER_ROLE = "reference"
"""The part a character's reference images come in: the role the Movies page gives them."""

START_IMAGE_ROLE = "first_frame"
"""The part a start image comes in: the role the Movies page gives it (a shot's first frame)."""

UPLOADS = documented(400, 401, 403, 404, 413, 422)
"""What a route that takes pictures or music can answer besides success (400: a form that cannot be read)."""


def _pictures(request: Request, role: str) -> tuple[UploadedImage, ...]:
    """The pictures a multipart request carried, all in parts named ``role`` (422 for any other part)."""
    images = uploaded_images(request)
    stray = next((i.role for i in images if i.role != role), None)
    if stray is not None:
        raise invalid(f"Send the pictures in parts named '{role}'.", stray)
    return images


@router.post("/movies/storyboard-proposals", response_model=ProposalOut, responses=documented(400, 401, 403, 413, 422))
def propose_storyboard(body: ProposalIn, owner: Generator, studio: StudioDep) -> ProposalOut:
    """Shots proposed from a script: by the text model when there is one, else one per sentence.

    Nothing is stored or paid: edit the shots, then put them into a film (``PUT /v1/movies/{movie_id}/storyboard``
    or ``POST /v1/movies``). Lengths snap to the nearest one ``model`` makes; a shot without one gets
    ``duration_seconds``. When the text model fails, the split by sentences comes with a ``note``.
    """
    del owner  # the token is checked; a proposal is nobody's until it is put into a film
    board = studio.movies.propose_storyboard(body.script, model=body.model, duration_seconds=body.duration_seconds)
    return proposal_of(board, studio.movies.storyboard_help())


def add_character(
    movie_id: MovieId, body: CharacterIn, owner: Generator, studio: StudioDep, request: Request
) -> MovieOut:
    """A character of the film, with 1 to 3 reference images sent with every shot that names it.

    Send ``multipart/form-data``: this JSON in a part named ``request`` and each image in a part named
    ``reference`` (PNG, JPEG or WebP of at most 20 MB, checked by content as on the Movies page: 422 with the
    page's sentence). A shot names the character by its ``id`` in the storyboard's ``characters``.
    """
    images = _pictures(request, CHARACTER_ROLE)
    return movie_of(studio.movies.add_character(owner.user.id, movie_id, body.name, body.description, images))


router.add_api_route(
    "/movies/{movie_id}/characters",
    add_character,
    methods=["POST"],
    route_class_override=UploadRoute,
    status_code=201,
    response_model=MovieOut,
    responses=UPLOADS,
    openapi_extra=multipart_body(
        "CharacterIn",
        {CHARACTER_ROLE: {"type": "array", "items": BINARY, "description": "1 to 3 reference images, one part each."}},
    ),
)


def add_start_image(
    movie_id: MovieId, body: StartImageIn, owner: Generator, studio: StudioDep, request: Request
) -> MovieOut:
    """A picture shots of the film may start from (their first frame).

    Send ``multipart/form-data``: this JSON in a part named ``request`` and the picture in a part named
    ``first_frame`` (PNG, JPEG or WebP of at most 20 MB, checked by content as on the Movies page). A shot
    starts from it when the storyboard names its ``id`` as the shot's ``start_image_id``; with
    ``match_colours`` it is recoloured to the previous shot's last frame.
    """
    images = _pictures(request, START_IMAGE_ROLE)
    if len(images) != 1:
        raise invalid(f"Send one picture, in a part named '{START_IMAGE_ROLE}', not {len(images)}.", START_IMAGE_ROLE)
    return movie_of(studio.movies.add_start_image(owner.user.id, movie_id, body.name, images[0]))


router.add_api_route(
    "/movies/{movie_id}/start-images",
    add_start_image,
    methods=["POST"],
    route_class_override=UploadRoute,
    status_code=201,
    response_model=MovieOut,
    responses=UPLOADS,
    openapi_extra=multipart_body("StartImageIn", {START_IMAGE_ROLE: BINARY | {"description": "The picture."}}),
)


@router.put("/movies/{movie_id}/soundtrack", response_model=MovieOut, responses=UPLOADS)
def set_soundtrack(
    movie_id: MovieId,
    soundtrack: Annotated[
        UploadFile,
        File(
            description=f"The music: MP3, AAC, M4A, WAV, Ogg or FLAC of at most {MAX_SOUNDTRACK_BYTES // 2**20} MiB, "
            "checked by content."
        ),
    ],
    owner: Generator,
    studio: StudioDep,
    mode: Annotated[
        str,
        Form(max_length=16, description=" or ".join(f"``{m}``" for m in SOUNDTRACK_MODES), examples=["mix"]),
    ] = "mix",
    level: Annotated[float, Form(description="The music's level, 0 to 1.", examples=[0.5])] = 0.5,
) -> MovieOut:
    """Give the film its music (replacing any earlier one), mixed under the shots' sound or replacing it.

    A ``multipart/form-data`` form: the file in a part named ``soundtrack``, and ``mode`` and ``level``. It is
    used when the film is assembled next (``POST /v1/movies/{movie_id}/assemble``).
    """
    name = soundtrack.filename or "soundtrack"
    if len(name) > MAX_SOUNDTRACK_NAME_CHARS:
        raise invalid(
            f"The file's name is {len(name)} characters long; the limit is {MAX_SOUNDTRACK_NAME_CHARS}.", "soundtrack"
        )
    data = soundtrack.file.read()
    return movie_of(studio.movies.set_soundtrack(owner.user.id, movie_id, name, data, mode, level))


@router.delete("/movies/{movie_id}/soundtrack", response_model=MovieOut, responses=documented(401, 403, 404, 422))
def clear_soundtrack(movie_id: MovieId, owner: Generator, studio: StudioDep) -> MovieOut:
    """Take the music off the film; the next assembly uses the shots' own sound."""
    return movie_of(studio.movies.clear_soundtrack(owner.user.id, movie_id))
