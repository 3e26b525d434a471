"""Errors as ``application/problem+json`` (RFC 9457), carrying the plain messages the pages show.

Every answer that is not a success is a problem document: ``type`` (a stable
``urn:veogen:problem:<slug>``), ``title``, ``status``, ``detail`` (the same
sentence a page would show), ``instance`` (the request path) and, for a
validation error, ``field``. Core's exception tree (core/errors.py) maps to
statuses in ``CORE_ERRORS``; FastAPI's request validation answers 422 with the
field; an unexpected exception answers 500 with an incident id that is logged
with the traceback, which never reaches the client. Request bodies are limited
before anything reads them: ``MAX_BODY_BYTES``, or ``MAX_UPLOAD_BODY_BYTES`` for
a multipart request to a route that takes images (``UPLOAD_ROUTES``, ``IMAGE_ROUTE``),
``MAX_SOUNDTRACK_BODY_BYTES`` for a film's music (``SOUNDTRACK_ROUTE``) and
``MAX_SCRIPT_BODY_BYTES`` for a script to propose a storyboard from (``SCRIPT_ROUTE``).
Imports ``core`` and FastAPI/Starlette only.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.schemas import ProblemOut
from core.catalog import MAX_REFERENCE_IMAGES
from core.errors import (
    BudgetError,
    ConfirmationRequired,
    MediaError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    ProviderUnavailableError,
    SafetyFilteredError,
    StorageError,
    TransitionError,
    ValidationError,
    VeoGenError,
)
from core.images import MAX_IMAGE_BYTES
from core.services.film import MAX_SOUNDTRACK_BYTES

log = logging.getLogger("veogen.api")

MEDIA_TYPE = "application/problem+json"
"""The content type of every error answer."""

TYPE_PREFIX = "urn:veogen:problem:"
"""Problem types are this plus a slug (``urn:veogen:problem:validation``); ``about:blank`` for bare HTTP ones."""

CORE_ERRORS: Sequence[tuple[type[VeoGenError], int, str, str]] = (
    (ValidationError, 422, "validation", "The request is not valid"),
    (NotFoundError, 404, "not-found", "Not found"),
    (PermissionDeniedError, 403, "forbidden", "Not allowed"),
    (BudgetError, 403, "over-budget", "Over budget or cap"),
    (ConfirmationRequired, 409, "confirm-repeat", "Confirm before paying again"),
    (TransitionError, 409, "conflict", "Not possible in this state"),
    (MediaError, 422, "media", "The media file is not usable"),
    (StorageError, 503, "storage", "Stored media cannot be reached"),
    (SafetyFilteredError, 422, "safety", "Refused by the provider's safety filter"),
    (ProviderUnavailableError, 503, "provider-unavailable", "The provider is not available"),
    (ProviderError, 502, "provider", "The provider failed"),
)
"""Core's errors, most specific first: the status, type slug and title each is answered with."""

MAX_BODY_BYTES = 64 * 1024
"""Largest request body read, in bytes (a request is a few hundred; the longest prompt is 2,000 characters)."""

MAX_UPLOAD_IMAGES = max(MAX_REFERENCE_IMAGES, 2)
"""Most images one request carries: the reference images, or a first and a last frame."""

MAX_UPLOAD_BODY_BYTES = MAX_UPLOAD_IMAGES * MAX_IMAGE_BYTES + 1024 * 1024
"""Largest multipart request body read, in bytes: that many images at the largest size the Create page
accepts (core/images.py), and 1 MiB for the JSON part and the framing."""

UPLOAD_ROUTES: frozenset[tuple[str, str]] = frozenset({("POST", "/v1/generations"), ("POST", "/v1/quotes")})
"""The (method, path) pairs whose multipart bodies carry images, so may be up to ``MAX_UPLOAD_BODY_BYTES``."""

IMAGE_ROUTE = re.compile(r"/v1/movies/[^/]+/(?:characters|start-images)")
"""The paths of the film routes whose multipart ``POST`` bodies carry images (a character's, a start image),
so may be up to ``MAX_UPLOAD_BODY_BYTES`` like ``UPLOAD_ROUTES``."""

MAX_SOUNDTRACK_BODY_BYTES = MAX_SOUNDTRACK_BYTES + 1024 * 1024
"""Largest multipart body of a film's soundtrack, in bytes: the largest music file the Movies page's service
takes (core/services/film.py) and 1 MiB for the other fields and the framing."""

SOUNDTRACK_ROUTE = re.compile(r"/v1/movies/[^/]+/soundtrack")
"""The path whose multipart ``PUT`` body is a film's music, so may be up to ``MAX_SOUNDTRACK_BODY_BYTES``."""

MAX_SCRIPT_BODY_BYTES = 320 * 1024
"""Largest body of a storyboard proposal, in bytes: a script of twice ``MAX_SCRIPT_CHARS`` (what the API reads,
so that core's sentence answers one a little too long) with every character written as a six-byte ``\\u`` escape
is 240,000, and the rest of the request fits in what is left."""

SCRIPT_ROUTE = ("POST", "/v1/movies/storyboard-proposals")
"""The (method, path) whose JSON body is a script, so may be up to ``MAX_SCRIPT_BODY_BYTES``."""


def body_limit(scope: Scope) -> int:
    """The largest body read for this request: an upload route's multipart body may carry images or music, and a
    storyboard proposal's JSON a long script."""
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"")
    path, root = scope.get("path", ""), scope.get("root_path", "")
    method, path = scope.get("method", ""), path.removeprefix(root) if root else path
    if (method, path) == SCRIPT_ROUTE:
        return MAX_SCRIPT_BODY_BYTES
    if content_type.split(b";", 1)[0].strip().lower() != b"multipart/form-data":
        return MAX_BODY_BYTES
    if (method, path) in UPLOAD_ROUTES or (method == "POST" and IMAGE_ROUTE.fullmatch(path)):
        return MAX_UPLOAD_BODY_BYTES
    if method == "PUT" and SOUNDTRACK_ROUTE.fullmatch(path):
        return MAX_SOUNDTRACK_BODY_BYTES
    return MAX_BODY_BYTES


def invalid(detail: str, field: str) -> Problem:
    """A 422 about one field, checked at the edge: the problem core's ``ValidationError`` is answered with."""
    return core_problem(ValidationError(detail, field=field))


def blank_secret(what: str) -> Problem:
    """The refusal of a PUT of an empty (or spaces-only) secret: the pages' Save refuses it too; DELETE clears."""
    return invalid(f"Enter a value to save (or send DELETE to clear the {what}).", "value")


def too_large(limit: int) -> str:
    """What a client is told about a body over ``limit`` bytes."""
    size = f"{limit // 1024} KiB" if limit < 1024 * 1024 else f"{limit // (1024 * 1024)} MiB"
    return f"The request body is larger than {size}; nothing was read."


INCIDENT_MESSAGE = (
    "Something went wrong on our side. Try again; if it keeps happening, give an administrator the incident {id}."
)
"""What a client is told about an unexpected error (the traceback stays in the log)."""


class Problem(Exception):
    """An answer the API gives on purpose: raise it from a route or dependency."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.field, self.headers, self.extra = field, headers or {}, extra or {}


def response(
    request: Request | None,
    status: int,
    slug: str | None,
    title: str,
    detail: str,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """A problem document; ``slug`` None means a bare HTTP problem (``about:blank``)."""
    body: dict[str, Any] = {
        "type": f"{TYPE_PREFIX}{slug}" if slug else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
    if field is not None:
        body["field"] = field
    body.update(extra or {})
    return JSONResponse(body, status_code=status, headers=headers, media_type=MEDIA_TYPE)


def core_problem(exc: VeoGenError) -> Problem:
    """The problem a core error is answered with (the same message the pages show)."""
    for kind, status, slug, title in CORE_ERRORS:
        if isinstance(exc, kind):
            field = exc.field if isinstance(exc, ValidationError) else None
            extra = {"existing_id": exc.existing_id} if isinstance(exc, ConfirmationRequired) else None
            return Problem(status, slug, title, str(exc), field=field, extra=extra)
    raise exc  # ConfigurationError and anything new: unexpected, answered as an incident


def _field_of(loc: Sequence[int | str]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "header", "path", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return response(
        request, exc.status, exc.slug, exc.title, exc.detail, field=exc.field, headers=exc.headers, extra=exc.extra
    )


async def _on_core_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, VeoGenError)
    return await _on_problem(request, core_problem(exc))


async def _on_invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": "body", "message": "The request body is not valid JSON"}
        if error.get("type") == "json_invalid"  # its location is a character offset, not a field
        else {"field": _field_of(error.get("loc", ())), "message": str(error.get("msg", "Invalid value."))}
        for error in exc.errors()
    ]
    first = errors[0] if errors else {"field": "body", "message": "The request could not be read."}
    return response(
        request,
        422,
        "validation",
        "The request is not valid",
        f"{first['field']}: {first['message']}.",
        field=first["field"],
        extra={"errors": errors},
    )


PLAIN_FRAMEWORK_MESSAGES: tuple[tuple[str, str], ...] = (
    (
        "There was an error parsing the body",
        "The request body could not be read: send JSON (Content-Type: application/json), "
        "or a multipart form for images.",
    ),
    (
        "Too many fields",
        "A multipart request has one text part, named request (the JSON); images go in file parts named "
        "first_frame, last_frame or reference.",
    ),
    (
        "Too many files",
        "A multipart request carries at most the images its mode takes: one first frame, one last frame, "
        "three reference images.",
    ),
)
"""The framework's own 400 messages (FastAPI's body parsing, Starlette's multipart limits) and what we say
instead, by the start of theirs."""


def _plain(detail: str) -> str:
    return next((ours for theirs, ours in PLAIN_FRAMEWORK_MESSAGES if detail.startswith(theirs)), detail)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    try:
        phrase = HTTPStatus(exc.status_code).phrase
    except ValueError:
        phrase = "Error"
    detail = _plain(exc.detail) if isinstance(exc.detail, str) and exc.detail != phrase else f"{phrase}."
    return response(request, exc.status_code, None, phrase, detail, headers=dict(exc.headers or {}))


class Guard:
    """Around every request: 413 for a body over its limit (``body_limit``; declared or streamed) before a route
    reads it, and a 500 problem with an incident id for an unexpected exception (logged with its traceback, never
    sent)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope)
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await response(None, 413, None, HTTPStatus(413).phrase, too_large(limit))(scope, receive, send)
            return
        seen, started = 0, False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:  # FastAPI passes an HTTPException raised while it reads the body through
                raise HTTPException(413, too_large(limit))
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except Exception as exc:
            incident = secrets.token_hex(6)
            log.error(
                "incident %s: %s %s raised %s",
                incident,
                scope.get("method", ""),
                scope.get("path", ""),
                type(exc).__name__,
                exc_info=exc,
                extra={"incident_id": incident},
            )
            if started:  # the answer is already on its way; the connection is closed as it is
                return
            message = INCIDENT_MESSAGE.format(id=incident)
            answer = response(None, 500, "incident", "Internal error", message, extra={"incident": incident})
            await answer(scope, receive, send)


def install(app: FastAPI) -> None:
    """Make every error answer of ``app`` a problem document."""
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(VeoGenError, _on_core_error)
    app.add_exception_handler(RequestValidationError, _on_invalid_request)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_middleware(Guard)


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the problems a route can answer with."""
    schema = ProblemOut.model_json_schema()
    return {
        status: {"description": HTTPStatus(status).phrase, "content": {MEDIA_TYPE: {"schema": schema}}}
        for status in statuses
    }
