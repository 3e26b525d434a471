"""The REST API's app: ``create_app(studio)``; ``uvicorn api.app:app`` serves one built from the settings.

Versioned under ``/v1``; the OpenAPI document at ``/openapi.json`` and interactive
docs at ``/docs``; ``/healthz`` answers without a token. Every error is a problem
document (api/problems.py). ``veogen api`` (and ``veogen up``) serve it on
VEOGEN_API_HOST:VEOGEN_API_PORT. ``app`` is built on first access, so importing
this module (tests, the architecture check) builds no studio.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from api import mcp, problems
from api.routes import v1
from core.studio import Studio

DESCRIPTION = """\
VeoGen's studio for scripts: the same models, prices, budgets and rules as the pages.

**Authentication**: a personal access token from your Account page, sent as
`Authorization: Bearer veogen_pat_…`; or an access token from the password login
(`POST /v1/token`, the OAuth2 password flow — **Authorize** above), valid for
`VEOGEN_API_JWT_MINUTES` and ended by a logout, a password change or reset, or a
disabled account; the login's failures count toward the page's lock. Scopes: `read`
(models, your account, your generations), `generate` (submit; it spends your
budget), `admin` (administrators).

**Rate limits** per token, in any minute: `VEOGEN_API_READS_PER_MINUTE` reads and,
apart from them, `VEOGEN_API_SUBMITS_PER_MINUTE` requests that need `generate`. One
more answers 429 with `Retry-After` (seconds).

**Errors** are `application/problem+json` (RFC 9457) with the same plain sentence
the pages show in `detail`, and `field` for invalid input.

**Money** is a decimal string in US dollars. Submitting reserves the price from
your monthly budget; a request identical to one made moments ago answers 409
until it is sent with `"confirm_repeat": true`.

**Images** (modes `image`, `frames`, `reference`) are sent as `multipart/form-data`:
the JSON request in a part named `request`, each image in a part named by its role
(`first_frame`, `last_frame`, `reference`), checked like the Create page's uploads.
JSON bodies are limited to 64 KiB, multipart ones to the images a request may carry.

**Downloads** (`/v1/generations/{id}/videos/{index}`, `…/thumbnail`, `…/poster`)
take `Range: bytes=…` (206) and carry an `ETag` (the video's SHA-256).
"""


def create_app(studio: Studio) -> FastAPI:
    """The API over ``studio``'s services."""
    app = FastAPI(
        title="VeoGen API",
        version="1",
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.studio = studio
    problems.install(app)
    app.include_router(v1)
    mcp.mount(app, studio)  # MCP for agents at /mcp, with the same tokens and services
    _keep_null_examples(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    return app


def _models(cls: type[BaseModel]) -> Iterator[type[BaseModel]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _models(sub)


def _keep_null_examples(app: FastAPI) -> None:
    """Serve each model's examples as written: FastAPI drops every ``null`` from the document it builds
    (fastapi/fastapi#5559), so an example of a required nullable field would no longer match its schema."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schemas = build().get("components", {}).get("schemas", {})
            for model in _models(BaseModel):
                schema = schemas.get(model.__name__)
                if model.__module__.startswith("api.") and schema is not None and "examples" in schema:
                    schema["examples"] = model.model_json_schema()["examples"]
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


@lru_cache(maxsize=1)
def default_app() -> FastAPI:
    """The app for this process, from its settings (refusing a production start with weak secrets)."""
    from core.config import settings_or_exit
    from core.logs import configure_logging
    from core.studio import build_studio

    settings = settings_or_exit()
    configure_logging(level=settings.log_level, fmt=settings.log_format, process="api")
    return create_app(build_studio(settings))


def __getattr__(name: str) -> FastAPI:
    if name == "app":  # what `uvicorn api.app:app` asks for
        return default_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
