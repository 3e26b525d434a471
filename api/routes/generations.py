"""``/v1/generations``: the caller's generations — submit, read one, list with filters, cancel, retry, delete, events.

Submitting goes through ``studio.generations.submit``, the call the Create page
makes: the same model rules, price, budget, cap, reservation and idempotency
key. Text-to-video and extend/edit (``extend_of_id``) come as JSON; image modes
as ``multipart/form-data`` with the same JSON in a ``request`` part and the
images in parts named by role (``api/uploads.py``), checked by core as the
page's uploads are. A repeat of the same paid request within the duplicate window answers 409,
naming the price and how to confirm (``"confirm_repeat": true``). Another
user's generation answers 404, like one that does not exist.

Cancel, retry and delete are the gallery's buttons: the same ``Generations``
methods, the same refusals (a retry is refused for the reasons
``GenerationView.retry_refusal`` gives), and a refusal about the generation's
state answers 409 with the page's sentence. They need the ``generate`` scope
(a retry spends money; a cancel or delete changes what was paid for); the
timeline needs ``read``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response

from api.problems import Problem, documented, invalid
from api.routes.quotes import form_of
from api.schemas import EventList, GenerationIn, GenerationList, GenerationOut, events_of, generation_of
from api.security import Generator, Reader, StudioDep
from api.uploads import MULTIPART_BODY, UploadRoute
from core.errors import ConfirmationRequired, ValidationError
from core.status import Status

router = APIRouter(tags=["generations"])

MAX_FILTER_VALUES = 20
"""Most values one filter (``status``, ``model``) may list."""

IDEMPOTENCY_HELP = (
    "Any string up to 64 characters. The same key again returns the generation it made (200, "
    "``Idempotent-Replayed: true``) instead of making another; without it every request is a new one."
)


def create_generation(
    body: GenerationIn,
    owner: Generator,
    studio: StudioDep,
    request: Request,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=64, description=IDEMPOTENCY_HELP)
    ] = None,
) -> GenerationOut:
    """Check, price and queue a generation, reserving its price from the caller's budget.

    JSON for text to video, and for ``extend``/``edit`` of one of your videos
    (``extend_of_id``). For the image modes send ``multipart/form-data``: the
    same JSON in a part named ``request``, and the images in parts named
    ``first_frame``, ``last_frame`` or ``reference`` (one part per reference
    image), each a PNG, JPEG or WebP of at most 20 MB, checked by content as on
    the Create page (422 with the page's sentence, ``field`` the role).

    403 ``over-budget`` when it would pass the monthly budget or the cap of open
    generations; 409 ``confirm-repeat`` when the same paid request was made
    moments ago: send it again with ``"confirm_repeat": true`` to pay for another.
    """
    form = form_of(body, request, idempotency_key=idempotency_key or uuid.uuid4().hex)
    try:
        view, created = studio.generations.submit(owner.user.id, form)
    except ConfirmationRequired as exc:
        price = studio.generations.quote(form)
        raise Problem(
            409,
            "confirm-repeat",
            "Confirm before paying again",
            f'{exc} This request costs ${price:,.2f}. To pay for another one, send it again with "confirm_repeat": '
            "true.",
            extra={"existing_id": exc.existing_id, "price_usd": str(price), "confirm": {"confirm_repeat": True}},
        ) from None
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/v1/generations/{view.id}"
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return generation_of(view)


router.add_api_route(
    "/generations",
    create_generation,
    methods=["POST"],
    route_class_override=UploadRoute,
    status_code=201,
    response_model=GenerationOut,
    responses={
        200: {
            "description": "The generation an earlier request with this Idempotency-Key made.",
            "model": GenerationOut,
        },
        # 400: a JSON body that is not JSON, or a multipart form that cannot be read (e.g. an image part sent as text)
        **documented(400, 401, 403, 409, 413, 422),
    },
    openapi_extra=MULTIPART_BODY,
)


@router.get("/generations/{generation_id}", response_model=GenerationOut, responses=documented(401, 403, 404, 422))
def get_generation(
    generation_id: Annotated[str, Path(max_length=64)], owner: Reader, studio: StudioDep
) -> GenerationOut:
    """One of the caller's generations, with its videos once it has them."""
    return generation_of(studio.generations.get_generation(owner.user.id, generation_id))


def _filters_key(statuses: list[str], models: list[str], search: str) -> str:
    text = json.dumps([sorted(statuses), sorted(models), search])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_cursor(page: int, filters: str) -> str:
    """An opaque cursor: the next page of the gallery's listing, for these filters only."""
    return base64.urlsafe_b64encode(json.dumps({"page": page, "filters": filters}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, filters: str) -> int:
    """The page a cursor points at; a 422 problem for a damaged cursor or one made for other filters."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        page, made_for = data["page"], data["filters"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        page, made_for = None, None
    if not isinstance(page, int) or isinstance(page, bool) or page < 1 or made_for != filters:
        raise invalid("This cursor is damaged or was made for other filters; list again without it.", "cursor")
    return page


@router.get("/generations", response_model=GenerationList, responses=documented(401, 403, 422))
def list_generations(
    owner: Reader,
    studio: StudioDep,
    status: Annotated[list[str] | None, Query(max_length=MAX_FILTER_VALUES, description="Statuses to keep.")] = None,
    model: Annotated[list[str] | None, Query(max_length=MAX_FILTER_VALUES, description="Model ids to keep.")] = None,
    search: Annotated[str, Query(description="Words the prompt contains (at most 200 characters).")] = "",
    cursor: Annotated[str | None, Query(max_length=200, description="``next_cursor`` of the page before.")] = None,
) -> GenerationList:
    """The caller's generations, newest first, a gallery page at a time (``VEOGEN_PAGE_SIZE``)."""
    statuses, models = status or [], model or []
    known = {s.value for s in Status}
    for value in statuses:
        if value not in known:
            raise invalid(f"Unknown status {value[:20]!r}; use one of {', '.join(sorted(known))}.", "status")
    filters = _filters_key(statuses, models, search)
    number = decode_cursor(cursor, filters) if cursor else 1
    page = studio.generations.list_generations(
        owner.user.id, page=number, statuses=statuses, models=models, search=search
    )
    past_the_end = page.page != number  # the listing answers the last page for one beyond it
    return GenerationList(
        items=[] if past_the_end else [generation_of(view) for view in page.items],
        total=page.total,
        next_cursor=encode_cursor(number + 1, filters) if number < page.pages else None,
    )


GenerationId = Annotated[str, Path(max_length=64, description="The generation's id.")]


@contextmanager
def state_refusals() -> Iterator[None]:
    """Answer core's refusal of an action in the generation's present state (``field="status"``) with 409."""
    try:
        yield
    except ValidationError as exc:
        if exc.field != "status":
            raise
        raise Problem(409, "conflict", "Not possible in this state", str(exc)) from None


@router.post(
    "/generations/{generation_id}/cancel", response_model=GenerationOut, responses=documented(401, 403, 404, 409, 422)
)
def cancel_generation(generation_id: GenerationId, owner: Generator, studio: StudioDep) -> GenerationOut:
    """Cancel a queued generation (the gallery's Cancel): its reservation is released, nothing is charged.

    409 ``conflict`` once it has been sent to the provider (or has ended).
    """
    with state_refusals():
        return generation_of(studio.generations.cancel(owner.user.id, generation_id))


@router.post(
    "/generations/{generation_id}/retry",
    status_code=201,
    response_model=GenerationOut,
    responses={
        200: {"description": "This generation was retried before: its retry.", "model": GenerationOut},
        **documented(401, 403, 404, 409, 422),
    },
)
def retry_generation(
    generation_id: GenerationId, owner: Generator, studio: StudioDep, response: Response
) -> GenerationOut:
    """Submit a failed, filtered or canceled generation's request again as a new generation (the page's Retry).

    The new one is priced, checked against the budget and cap, and reserved
    like any submission. Retrying the same generation again answers its first
    retry (200, ``Idempotent-Replayed: true``). 409 ``conflict`` names why a
    retry is refused: still in progress or succeeded, blocked by a safety
    filter that would block it again, or possibly accepted already (it could
    pay twice).
    """
    with state_refusals():
        view, created = studio.generations.retry(owner.user.id, generation_id)
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/v1/generations/{view.id}"
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return generation_of(view)


@router.delete(
    "/generations/{generation_id}",
    status_code=204,
    response_class=Response,
    responses=documented(401, 403, 404, 409, 422, 503),
)
def delete_generation(generation_id: GenerationId, owner: Generator, studio: StudioDep) -> Response:
    """Delete a finished generation and its files for good; the ledger keeps what it cost.

    409 ``conflict`` while it is in progress (cancel it first, if it is queued).
    """
    with state_refusals():
        studio.generations.delete(owner.user.id, generation_id)
    return Response(status_code=204)


@router.get("/generations/{generation_id}/events", response_model=EventList, responses=documented(401, 403, 404, 422))
def generation_events(generation_id: GenerationId, owner: Reader, studio: StudioDep) -> EventList:
    """The generation's timeline, oldest first: every change of status with what happened (the Generation page's)."""
    return events_of(studio.generations.timeline(owner.user.id, generation_id))
