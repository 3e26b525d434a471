"""The ``/v1`` endpoints: models, the caller's account, generations."""

from __future__ import annotations

from fastapi import APIRouter

from api.problems import documented
from api.routes import (
    account,
    admin,
    auth,
    catalog,
    generations,
    media,
    movie_assets,
    movies,
    prompts,
    quotes,
    stream,
    webhooks,
)

v1 = APIRouter(prefix="/v1", responses=documented(429))
v1.include_router(auth.router)
v1.include_router(catalog.router)
v1.include_router(account.router)
v1.include_router(generations.router)
v1.include_router(quotes.router)
v1.include_router(prompts.router)
v1.include_router(media.router)
v1.include_router(movies.router)
v1.include_router(movie_assets.router)
v1.include_router(stream.router)
v1.include_router(admin.router)
v1.include_router(webhooks.router)
