"""``/v1/generations``: the caller's generations — submit (text to video), read one, list with filters.

Submitting goes through ``studio.generations.submit``, the call the Create page
makes: the same model rules, price, budget, cap, reservation and idempotency
key. A repeat of the same paid request within the duplicate window answers 409,
naming the price and how to confirm (``"confirm_repeat": true``). Another
user's generation answers 404, like one that does not exist.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response

from api.problems import Problem, documented
from api.schemas import GenerationIn, GenerationList, GenerationOut, generation_of
from api.security import Generator, Reader, StudioDep
from core.errors import ConfirmationRequired
from core.services.generations import GenerationForm
from core.status import Status

router = APIRouter(tags=["generations"])

API_MODES = ("text",)
"""Modes the API takes so far; images (and so extend and edit with them) come with uploads."""

MAX_FILTER_VALUES = 20
"""Most values one filter (``status``, ``model``) may list."""

IDEMPOTENCY_HELP = (
    "Any string up to 64 characters. The same key again returns the generation it made (200, "
    "``Idempotent-Replayed: true``) instead of making another; without it every request is a new one."
)


@router.post(
    "/generations",
    status_code=201,
    response_model=GenerationOut,
    responses={
        200: {
            "description": "The generation an earlier request with this Idempotency-Key made.",
            "model": GenerationOut,
        },
        **documented(401, 403, 409, 422),
    },
)
def create_generation(
    body: GenerationIn,
    owner: Generator,
    studio: StudioDep,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=64, description=IDEMPOTENCY_HELP)
    ] = None,
) -> GenerationOut:
    """Check, price and queue a text-to-video generation, reserving its price from the caller's budget.

    403 ``over-budget`` when it would pass the monthly budget or the cap of open
    generations; 409 ``confirm-repeat`` when the same paid request was made
    moments ago: send it again with ``"confirm_repeat": true`` to pay for another.
    """
    if body.mode not in API_MODES:
        raise Problem(
            422,
            "validation",
            "The request is not valid",
            "The API takes text-to-video requests for now (mode 'text'); images, extend and edit are on the "
            "Create page.",
            field="mode",
        )
    form = GenerationForm(
        **body.model_dump(exclude={"confirm_repeat"}),
        idempotency_key=idempotency_key or uuid.uuid4().hex,
        confirm_repeat=body.confirm_repeat,
    )
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
        raise Problem(
            422,
            "validation",
            "The request is not valid",
            "This cursor is damaged or was made for other filters; list again without it.",
            field="cursor",
        )
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
            raise Problem(
                422,
                "validation",
                "The request is not valid",
                f"Unknown status {value[:20]!r}; use one of {', '.join(sorted(known))}.",
                field="status",
            )
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
