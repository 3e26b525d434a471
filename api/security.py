"""Who is calling: a personal access token sent as ``Authorization: Bearer veogen_pat_…``, and its scopes.

``caller`` answers 401 (with ``WWW-Authenticate: Bearer``) for a missing, unknown,
revoked, expired or ended token, with the reason in plain words; ``scoped(scope)``
answers 403 when the token lacks the scope a route needs. The token rules live in
core/services/tokens.py. Imports ``core`` and FastAPI only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.problems import Problem
from core.services.tokens import SCOPES, UNKNOWN, TokenOwner
from core.studio import Studio

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="PersonalAccessToken",
    description="A personal access token from the Account page (``veogen_pat_…``), as ``Bearer <token>``.",
)


def studio_of(request: Request) -> Studio:
    """The studio the app was built with."""
    studio: Studio = request.app.state.studio
    return studio


StudioDep = Annotated[Studio, Depends(studio_of)]


def _refused(detail: str) -> Problem:
    return Problem(401, "unauthorized", "Not authenticated", detail, headers={"WWW-Authenticate": "Bearer"})


async def caller(
    studio: StudioDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> TokenOwner:
    """The owner of the request's token, or a 401 problem saying why there is none."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _refused(UNKNOWN)
    check = await run_in_threadpool(studio.tokens.authenticate, credentials.credentials)
    if check.owner is None:
        raise _refused(check.error or UNKNOWN)
    return check.owner


def scoped(scope: str) -> Callable[..., TokenOwner]:
    """A dependency: the caller, if their token holds ``scope``; else a 403 problem."""
    assert scope in SCOPES

    def dependency(owner: Annotated[TokenOwner, Depends(caller)]) -> TokenOwner:
        if not owner.allows(scope):
            raise Problem(
                403,
                "insufficient-scope",
                "The token lacks a scope",
                f"This token lacks the '{scope}' scope (to {SCOPES[scope]}). "
                "Make a token with it on your Account page.",
                headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
            )
        return owner

    return dependency


Reader = Annotated[TokenOwner, Depends(scoped("read"))]
Generator = Annotated[TokenOwner, Depends(scoped("generate"))]
