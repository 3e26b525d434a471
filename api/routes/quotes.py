"""``POST /v1/quotes``: what a generation request would cost, without submitting it (the Create page's price).

The price comes from ``studio.generations.quote``, the function the Create page
and the submit call: the model's rules are checked the same way (422 with the
page's sentence), and nothing is reserved. Image modes send the same
``multipart/form-data`` body as ``POST /v1/generations`` (the rules count the
images). The CLI (``veogen generate``, ``veogen batch``) and MCP's ``price`` ask here.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.problems import documented
from api.schemas import GenerationIn, Money
from api.security import Reader, StudioDep
from api.uploads import MULTIPART_BODY, UploadRoute, uploaded_images
from core.services.generations import GenerationForm

router = APIRouter(tags=["generations"])


class QuoteOut(BaseModel):
    """The price of a request, as the Create page shows it before Generate."""

    model_config = {"json_schema_extra": {"examples": [{"model": "veo-3.1-fast-generate-001", "price_usd": "1.2000"}]}}

    model: str
    price_usd: Money = Field(description="What submitting it would reserve from your budget.")


def form_of(body: GenerationIn, request: Request | None = None, *, idempotency_key: str = "") -> GenerationForm:
    """The Create page's form for an API request (with the images a multipart request carried)."""
    return GenerationForm(
        **body.model_dump(exclude={"confirm_repeat"}),
        images=uploaded_images(request) if request is not None else (),
        idempotency_key=idempotency_key,
        confirm_repeat=body.confirm_repeat,
    )


def quote_generation(body: GenerationIn, owner: Reader, studio: StudioDep, request: Request) -> QuoteOut:
    """The price of a generation request, its model's rules checked; nothing is submitted or reserved."""
    del owner  # the token is checked; a price is the same for everyone
    return QuoteOut(model=body.model, price_usd=studio.generations.quote(form_of(body, request)))


router.add_api_route(
    "/quotes",
    quote_generation,
    methods=["POST"],
    route_class_override=UploadRoute,
    response_model=QuoteOut,
    responses=documented(400, 401, 403, 413, 422),  # 400: a body that is not JSON, or a form that cannot be read
    openapi_extra=MULTIPART_BODY,
)
