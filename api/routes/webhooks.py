"""``/v1/webhooks``: the caller's outgoing webhooks — register, list, pause, delete an endpoint; the delivery log;
replay a delivery.

When one of the caller's generations ends (``generation.succeeded``, ``.failed``, ``.filtered``, ``.canceled``)
or a film's assembly does (``movie.assembled``, ``movie.assembly_failed``), VeoGen POSTs the event to each active
endpoint, signed the Standard Webhooks way (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``; verify
with any Standard Webhooks library and the endpoint's ``whsec_…`` secret, shown once when it is made), and
retries a failed attempt with backoff. The rules live in core/services/outgoing.py; these routes call
``studio.outgoing``, as the Account page does. Reading needs ``read``; changing needs ``generate``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.problems import documented
from api.security import Generator, Reader, StudioDep
from core.services.outgoing import EVENT_TYPES, MAX_ATTEMPTS, MAX_DESCRIPTION_CHARS, DeliveryView, EndpointView
from core.services.webhook_targets import MAX_URL_CHARS

router = APIRouter(tags=["webhooks"])

EndpointId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The endpoint's id.")]
DeliveryId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The delivery's id.")]


class EndpointIn(BaseModel):
    """A URL to deliver the caller's events to: ``http``/``https``, on a public address."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"url": "https://ci.example.com/hooks/veogen", "description": "CI"}]},
    )

    url: str = Field(min_length=1, max_length=MAX_URL_CHARS)
    description: str = Field(default="", max_length=MAX_DESCRIPTION_CHARS)


class EndpointPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"active": False}]})

    active: bool = Field(
        description="False pauses the endpoint: it gets no new events, and its pending deliveries are not sent, "
        "until it is resumed."
    )


_ENDPOINT: dict[str, Any] = {
    "id": 3,
    "url": "https://ci.example.com/hooks/veogen",
    "description": "CI",
    "active": True,
    "created_at": "2026-12-07T06:00:00Z",
}

_DELIVERY: dict[str, Any] = {
    "id": 41,
    "endpoint_id": 3,
    "url": "https://ci.example.com/hooks/veogen",
    "event_id": "msg_5b1c0e4f9a2d4c7e8f3a6b9d0c1e2f3a",
    "event_type": "generation.succeeded",
    "status": "pending",
    "attempts": 1,
    "next_attempt_at": "2026-12-07T06:00:05Z",
    "last_status_code": 500,
    "last_error": "HTTP 500 Internal Server Error",
    "created_at": "2026-12-07T06:00:00Z",
    "delivered_at": None,
    "payload": {
        "type": "generation.succeeded",
        "timestamp": "2026-12-07T06:00:00+00:00",
        "data": {"id": "3f2c9a7d1b5e4c8f9a0b1c2d3e4f5a6b", "status": "succeeded"},
    },
}


class EndpointOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_ENDPOINT]})

    id: int
    url: str
    description: str
    active: bool
    created_at: datetime


class EndpointCreated(EndpointOut):
    """The new endpoint and its signing secret, which is never shown again."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_ENDPOINT, "secret": "whsec_p3fZqUTI22qO80KF0iTIS+xYBJVHq0jv"}]}
    )

    secret: str = Field(description="The ``whsec_…`` secret that signs every delivery; keep it, it is shown once.")


class EndpointList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_ENDPOINT]}]})

    items: list[EndpointOut]


class DeliveryOut(BaseModel):
    """One event sent (or being sent) to one endpoint."""

    model_config = ConfigDict(json_schema_extra={"examples": [_DELIVERY]})

    id: int
    endpoint_id: int
    url: str
    event_id: str = Field(description="The ``webhook-id`` header: the same on every attempt and replay.")
    event_type: str = Field(description=f"One of {', '.join(EVENT_TYPES)}.")
    status: str = Field(description=f"pending, delivered, or failed (after {MAX_ATTEMPTS} attempts, or refused).")
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any] = Field(description="The JSON body sent: ``type``, ``timestamp`` and ``data``.")


class DeliveryList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_DELIVERY]}]})

    items: list[DeliveryOut]


def endpoint_of(view: EndpointView) -> EndpointOut:
    return EndpointOut(**vars(view))


def delivery_of(view: DeliveryView) -> DeliveryOut:
    return DeliveryOut(**vars(view))


@router.post(
    "/webhooks", status_code=201, response_model=EndpointCreated, responses=documented(400, 401, 403, 413, 422)
)
def create_endpoint(body: EndpointIn, owner: Generator, studio: StudioDep, response: Response) -> EndpointCreated:
    """Register a URL for the caller's events; the answer holds its signing secret, shown this once.

    422 for anything but an ``http``/``https`` URL, or one on a loopback, private or link-local address (unless
    an administrator allows those).
    """
    view, secret = studio.outgoing.create(owner.user.id, body.url, body.description)
    response.headers["Location"] = f"/v1/webhooks/{view.id}"
    return EndpointCreated(**vars(view), secret=secret)


@router.get("/webhooks", response_model=EndpointList, responses=documented(401, 403))
def list_endpoints(owner: Reader, studio: StudioDep) -> EndpointList:
    """The caller's endpoints, newest first (never their secrets)."""
    return EndpointList(items=[endpoint_of(v) for v in studio.outgoing.list_endpoints(owner.user.id)])


@router.patch("/webhooks/{endpoint_id}", response_model=EndpointOut, responses=documented(400, 401, 403, 404, 413, 422))
def update_endpoint(endpoint_id: EndpointId, body: EndpointPatch, owner: Generator, studio: StudioDep) -> EndpointOut:
    """Pause or resume an endpoint."""
    return endpoint_of(studio.outgoing.set_active(owner.user.id, endpoint_id, body.active))


@router.delete(
    "/webhooks/{endpoint_id}", status_code=204, response_class=Response, responses=documented(401, 403, 404, 422)
)
def delete_endpoint(endpoint_id: EndpointId, owner: Generator, studio: StudioDep) -> Response:
    """Delete an endpoint and its delivery log; deliveries still pending are dropped."""
    studio.outgoing.delete(owner.user.id, endpoint_id)
    return Response(status_code=204)


@router.get("/webhooks/deliveries", response_model=DeliveryList, responses=documented(401, 403, 422))
def list_deliveries(
    owner: Reader,
    studio: StudioDep,
    endpoint_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Only this endpoint's.")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="How many, newest first.")] = 50,
) -> DeliveryList:
    """The caller's delivery log, newest first: each event, its attempts and the last answer."""
    views = studio.outgoing.deliveries(owner.user.id, endpoint_id=endpoint_id, limit=limit)
    return DeliveryList(items=[delivery_of(v) for v in views])


@router.post(
    "/webhooks/deliveries/{delivery_id}/replay",
    status_code=202,
    response_model=DeliveryOut,
    responses=documented(401, 403, 404, 409, 422),
)
def replay_delivery(delivery_id: DeliveryId, owner: Generator, studio: StudioDep) -> DeliveryOut:
    """Send a delivered or failed event again, as a new delivery with the same ``event_id`` (receivers dedupe by it).

    409 ``conflict`` while the delivery is still being attempted, or its endpoint is paused.
    """
    return delivery_of(studio.outgoing.replay(owner.user.id, delivery_id))
