"""MCP: the studio's tools for AI agents, over streamable HTTP at ``/mcp`` of the API (the official ``mcp`` SDK).

Tools: ``list_models``, ``price``, ``generate``, ``status``, ``fetch``. Each call
is made for the owner of the request's bearer token, checked by the REST API's
own dependency (``api.security.Reader``: the same tokens, the same 401 problems,
the same rate limit: each request a read, ``generate`` a submission too), and
each tool calls the core service the matching route calls, so the same rules
and the same money hold: ``generate`` reserves the price from the owner's
budget, honours the idempotency key, refuses over the budget or cap with the
page's sentence, and needs a token with the ``generate`` scope. A refusal is a
tool error whose text is that sentence. ``price`` and ``generate`` take the
JSON request of ``POST /v1/generations`` (text, or extend/edit of a video of
yours); the image modes stay with the REST API's multipart upload.

``fetch`` does not carry video bytes through the conversation: it answers the
video's facts and the URL of the REST download
(``GET /v1/generations/{id}/videos/{index}``, streamed, with ranges), which a
client fetches with the same token.

The server is stateless (each POST is a complete exchange, answered as JSON), so
it needs no process-wide lifespan: ``veogen api`` runs Uvicorn without one, and
any API process can answer any call. Imports ``core``, FastAPI and ``mcp`` only.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import Receive, Scope, Send

from api.problems import Problem
from api.ratelimit import SUBMITS, RateLimits, limits_of
from api.routes.quotes import form_of
from api.schemas import GenerationIn, generation_of, model_of
from api.security import Reader, limit_key
from core.errors import ConfirmationRequired, VeoGenError
from core.services.tokens import SCOPES, TokenOwner
from core.studio import Studio

MCP_PATH = "/mcp"
"""Where the MCP endpoint answers in the API app."""

INSTRUCTIONS = (
    "VeoGen makes videos for the owner of your token, from their monthly budget. Call list_models for the models "
    "and their limits, price for what a request costs, generate to queue one (it spends money: pass an "
    "idempotency_key so a retried call never pays twice), status until it is succeeded, then fetch for the "
    "download URL (GET it with the same bearer token)."
)


@dataclass(frozen=True)
class Call:
    """Who the current MCP request is for, and where the REST API answers it."""

    owner: TokenOwner
    base_url: str
    limits: RateLimits


_call: ContextVar[Call] = ContextVar("veogen_mcp_call")


def _current() -> Call:
    try:
        return _call.get()
    except LookupError:  # only a call through the mounted endpoint has a caller
        raise ToolError("Not authenticated: send a bearer token.") from None


def _refusal(exc: VeoGenError) -> ToolError:
    return ToolError(str(exc))


def _quietly(make: Callable[[], MCPServer]) -> MCPServer:
    """Build the server without the SDK's ``logging.basicConfig`` (an INFO-level Rich handler on the root
    logger when none is set yet): the process's logging is ``core.logs``'s, whatever was imported first."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return make()
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def build_server(studio: Studio) -> MCPServer:
    """The MCP server's tools over ``studio``'s services, each for the caller of the current request."""
    server: MCPServer = _quietly(lambda: MCPServer(name="veogen", title="VeoGen", instructions=INSTRUCTIONS))

    @server.tool()
    def list_models() -> dict[str, Any]:
        """The models you may use now: limits (durations, resolutions, aspect ratios, modes) and prices per second."""
        user_id = _current().owner.user.id
        return {
            "models": [model_of(offer).model_dump(mode="json") for offer in studio.generations.offers(user_id)],
            "unavailable": studio.generations.unavailable_reasons(user_id),
        }

    @server.tool()
    def price(request: GenerationIn) -> dict[str, str]:
        """What a text or extend/edit generation request costs (the Create page's price); nothing is spent."""
        _current()
        try:
            return {"model": request.model, "price_usd": str(studio.generations.quote(form_of(request)))}
        except VeoGenError as exc:
            raise _refusal(exc) from None

    @server.tool()
    def generate(request: GenerationIn, idempotency_key: str = "") -> dict[str, Any]:
        """Queue a generation; its price is reserved from your monthly budget.

        The same idempotency_key (up to 64 characters) again answers the generation it made instead of
        paying for another. A request identical to one made moments ago is refused until it is sent with
        "confirm_repeat": true.
        """
        call = _current()
        if not call.owner.allows("generate"):
            raise ToolError(
                f"This token lacks the 'generate' scope (to {SCOPES['generate']}). "
                "Make a token with it on your Account page."
            )
        if len(idempotency_key) > 64:
            raise ToolError("The idempotency key is longer than 64 characters.")
        try:  # a submission, as POST /v1/generations counts it (the request itself counted as a read)
            call.limits.check(SUBMITS, limit_key(call.owner))
        except Problem as exc:
            raise ToolError(exc.detail) from None
        form = form_of(request, idempotency_key=idempotency_key or uuid.uuid4().hex)
        try:
            view, created = studio.generations.submit(call.owner.user.id, form)
        except ConfirmationRequired as exc:
            raise ToolError(
                f"{exc} This request costs ${studio.generations.quote(form):,.2f}. To pay for another one, "
                'call generate again with "confirm_repeat": true in the request.'
            ) from None
        except VeoGenError as exc:
            raise _refusal(exc) from None
        return {"created": created, "generation": generation_of(view).model_dump(mode="json")}

    @server.tool()
    def status(generation_id: str) -> dict[str, Any]:
        """One of your generations: its status, price, cost, error and videos."""
        owner = _current().owner
        try:
            view = studio.generations.get_generation(owner.user.id, generation_id[:64])
        except VeoGenError as exc:
            raise _refusal(exc) from None
        return generation_of(view).model_dump(mode="json")

    @server.tool()
    def fetch(generation_id: str, index: int = 0) -> dict[str, Any]:
        """Where to download one of your finished videos (GET it with your bearer token), and its facts."""
        call = _current()
        try:
            view = studio.generations.get_generation(call.owner.user.id, generation_id[:64])
        except VeoGenError as exc:
            raise _refusal(exc) from None
        out = generation_of(view)
        video = next((v for v in out.videos if v.index == index), None)
        if video is None:
            raise ToolError(
                f"This generation has no video {index} (status {out.status}); "
                + (
                    "its videos are " + ", ".join(str(v.index) for v in out.videos)
                    if out.videos
                    else "wait until it has succeeded."
                )
            )
        return {
            "url": f"{call.base_url}/v1/generations/{view.id}/videos/{index}",
            "content_type": "video/mp4",
            "authorization": "the same bearer token",
            "video": video.model_dump(mode="json"),
        }

    return server


OPEN = TransportSecuritySettings(enable_dns_rebinding_protection=False)
"""No Host/Origin allow-list in the SDK's transport: the bearer token is what admits a request."""


class _Exchange(Response):
    """The MCP exchange of one HTTP request, answered by the SDK's transport for the authenticated caller."""

    def __init__(self, server: MCPServer, call: Call) -> None:
        super().__init__()
        self.server = server
        self.call = call

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A manager per request (a manager runs once): stateless, so nothing outlives the exchange and no app
        # lifespan (``veogen api`` runs none) is needed. streamable_http_app() makes a fresh one, which the
        # session_manager property then names; no await between the two, so no other request's comes between.
        # The bearer token already guards every request, so the SDK's Host/Origin checks (DNS rebinding
        # protection for browsers on loopback) stay off: behind a proxy the Host is the outside one.
        self.server.streamable_http_app(json_response=True, stateless_http=True, transport_security=OPEN)
        manager = self.server.session_manager
        token = _call.set(self.call)
        try:
            async with manager.run():
                await manager.handle_request(scope, receive, send)
        finally:
            _call.reset(token)


def mount(app: FastAPI, studio: Studio) -> None:
    """Answer MCP at ``MCP_PATH`` of ``app``, for the bearer token's owner (401/403/429 problems as ``/v1``)."""
    server = build_server(studio)

    async def mcp_endpoint(
        request: Request, owner: Reader, limits: Annotated[RateLimits, Depends(limits_of)]
    ) -> Response:
        base = str(request.base_url).rstrip("/")
        return _Exchange(server, Call(owner=owner, base_url=base, limits=limits))

    app.add_api_route(
        MCP_PATH, mcp_endpoint, methods=["GET", "POST", "DELETE"], include_in_schema=False, response_model=None
    )
