"""Downloads of a generation's videos, thumbnails and posters, with HTTP Range (``api/ranges.py``).

The file is the one the Generation page plays, found through
``Generations.media_file`` (ownership checked: another user's generation
answers 404), saved under the name the page's download button gives
(``core.generations.download_name``). A video's ``ETag`` is its SHA-256.
Each answers HEAD too (the headers of the GET, no body; left out of the OpenAPI document, whose
operation ids are one per path).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request, Response

from api.ranges import answers, download
from api.security import Reader, StudioDep

router = APIRouter(tags=["downloads"])

MAX_VIDEO_INDEX = 99
"""Highest video index a path may name (a request makes at most a handful of videos)."""

GenerationId = Annotated[str, Path(max_length=64, description="The generation's id.")]
VideoIndex = Annotated[int, Path(ge=0, le=MAX_VIDEO_INDEX, description="The video's index, from 0.")]


@router.head("/generations/{generation_id}/videos/{index}", include_in_schema=False)
@router.get(
    "/generations/{generation_id}/videos/{index}",
    response_class=Response,
    responses=answers("video/mp4", "video"),
)
def download_video(
    generation_id: GenerationId, index: VideoIndex, owner: Reader, studio: StudioDep, request: Request
) -> Response:
    """One of the generation's videos as MP4, streamed; send ``Range: bytes=…`` for a part of it (206).

    ``ETag`` is the video's SHA-256 (``If-None-Match`` answers 304,
    ``If-Range`` is honoured); a range past the end answers 416.
    """
    media = studio.generations.media_file(owner.user.id, generation_id, index, "video")
    return download(request, media, disposition="attachment")


@router.head("/generations/{generation_id}/videos/{index}/{picture}", include_in_schema=False)
@router.get(
    "/generations/{generation_id}/videos/{index}/{picture}",
    response_class=Response,
    responses=answers("image/jpeg", "picture"),
)
def download_picture(
    generation_id: GenerationId,
    index: VideoIndex,
    picture: Annotated[
        Literal["thumbnail", "poster"],
        Path(description="``thumbnail`` (the gallery's card) or ``poster`` (a full-size frame)."),
    ],
    owner: Reader,
    studio: StudioDep,
    request: Request,
) -> Response:
    """A video's thumbnail or poster as JPEG, with the same ranges and validators as the video."""
    media = studio.generations.media_file(owner.user.id, generation_id, index, picture)
    return download(request, media, disposition="inline")
