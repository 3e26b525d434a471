"""``/v1/movies``: the caller's films — create from a storyboard, read, list, start, finalise, re-render a shot,
choose a take, assemble, download the film (streamed, with byte ranges, like a generation's video).

Every route is one call of ``studio.movies`` (core/movies.py), the calls the
Movies page makes: the same storyboard rules, prices, one reservation for the
whole film at start, budget and cap, each take settling on its own. A refusal
over money is the generation routes' problem (403 ``over-budget``); another
user's film answers 404, like one that does not exist. Reading needs the
``read`` scope; anything that renders, spends or changes a film needs ``generate``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from api.problems import documented
from api.ranges import answers, download
from api.schemas_movies import (
    FinaliseIn,
    MovieIn,
    MovieList,
    MovieOut,
    RerenderIn,
    StartIn,
    StoryboardIn,
    TakeIn,
    movie_of,
)
from api.security import Generator, Reader, StudioDep

router = APIRouter(tags=["movies"])

MovieId = Annotated[str, Path(max_length=64)]
ShotId = Annotated[str, Path(max_length=64)]

CHANGES = documented(401, 403, 404, 409, 422)
"""What a route that renders or changes a film can answer besides success."""
SENT_CHANGES = {**CHANGES, **documented(400, 413)}
"""The same for a route that takes a JSON body: 400 when it is not JSON, 413 over 64 KiB."""


@router.post("/movies", status_code=201, response_model=MovieOut, responses=documented(400, 401, 403, 413, 422))
def create_movie(body: MovieIn, owner: Generator, studio: StudioDep, response: Response) -> MovieOut:
    """A new film with its storyboard (checked shot by shot like the Movies page; nothing kept if one is refused).

    Nothing is paid until it is started.
    """
    view = studio.movies.create(owner.user.id, body.draft(), [shot.draft() for shot in body.shots])
    response.headers["Location"] = f"/v1/movies/{view.id}"
    return movie_of(view)


@router.get("/movies", response_model=MovieList, responses=documented(401, 403))
def list_movies(owner: Reader, studio: StudioDep) -> MovieList:
    """The caller's films, newest first."""
    return MovieList(items=[movie_of(view) for view in studio.movies.list(owner.user.id)])


@router.get("/movies/{movie_id}", response_model=MovieOut, responses=documented(401, 403, 404, 422))
def get_movie(movie_id: MovieId, owner: Reader, studio: StudioDep) -> MovieOut:
    """One film: every shot and its takes' status, its price, what is committed and what is spent."""
    return movie_of(studio.movies.get(owner.user.id, movie_id))


@router.put("/movies/{movie_id}/storyboard", response_model=MovieOut, responses=SENT_CHANGES)
def set_storyboard(movie_id: MovieId, body: StoryboardIn, owner: Generator, studio: StudioDep) -> MovieOut:
    """Replace the shots of a film not started yet."""
    return movie_of(studio.movies.set_storyboard(owner.user.id, movie_id, [shot.draft() for shot in body.shots]))


@router.post("/movies/{movie_id}/start", response_model=MovieOut, responses=SENT_CHANGES)
def start_movie(movie_id: MovieId, owner: Generator, studio: StudioDep, body: StartIn | None = None) -> MovieOut:
    """Reserve and queue every shot without a take, all at once (or as free offline drafts with ``draft``).

    403 ``over-budget`` names the film's price when it would pass the monthly budget.
    """
    studio.movies.start(owner.user.id, movie_id, draft=(body or StartIn()).draft)
    return movie_of(studio.movies.get(owner.user.id, movie_id))


@router.post("/movies/{movie_id}/finalise", response_model=MovieOut, responses=SENT_CHANGES)
def finalise_movie(movie_id: MovieId, owner: Generator, studio: StudioDep, body: FinaliseIn | None = None) -> MovieOut:
    """Render the drafted shots (all, or ``shot_ids``) at their own models, reserving their price at once."""
    studio.movies.finalise(owner.user.id, movie_id, (body or FinaliseIn()).shot_ids)
    return movie_of(studio.movies.get(owner.user.id, movie_id))


@router.post("/movies/{movie_id}/shots/{shot_id}/rerender", response_model=MovieOut, responses=SENT_CHANGES)
def rerender_shot(
    movie_id: MovieId, shot_id: ShotId, owner: Generator, studio: StudioDep, body: RerenderIn | None = None
) -> MovieOut:
    """A new take of one shot (optionally with a new prompt); only this shot is paid again."""
    studio.movies.rerender(owner.user.id, movie_id, shot_id, prompt=(body or RerenderIn()).prompt)
    return movie_of(studio.movies.get(owner.user.id, movie_id))


@router.put("/movies/{movie_id}/shots/{shot_id}/take", response_model=MovieOut, responses=SENT_CHANGES)
def choose_take(movie_id: MovieId, shot_id: ShotId, body: TakeIn, owner: Generator, studio: StudioDep) -> MovieOut:
    """The take the film uses for this shot (a finished one)."""
    return movie_of(studio.movies.choose_take(owner.user.id, movie_id, shot_id, body.generation_id))


@router.post("/movies/{movie_id}/assemble", status_code=202, response_model=MovieOut, responses=CHANGES)
def assemble_movie(movie_id: MovieId, owner: Generator, studio: StudioDep) -> MovieOut:
    """Queue the joining of every shot's chosen take into one video; follow it on the film's stream."""
    return movie_of(studio.movies.assemble(owner.user.id, movie_id))


@router.head("/movies/{movie_id}/film", include_in_schema=False)
@router.get("/movies/{movie_id}/film", response_class=Response, responses=answers("video/mp4", "film"))
def download_film(movie_id: MovieId, owner: Reader, studio: StudioDep, request: Request) -> Response:
    """The assembled film as MP4, streamed (404 until it has been assembled); ``Range: bytes=…`` for a part (206).

    Its ``ETag`` changes when the film is assembled again, so ``If-Range`` resumes only the same film.
    """
    return download(request, studio.movies.film_file(owner.user.id, movie_id), disposition="attachment")
