"""``POST /v1/token``: the OAuth2 password flow — a username and password for a short-lived access token (a JWT).

The password is checked by ``studio.accounts.login``, the call the page's login
form makes: the same answers, the same count of failures per username and per
client address, the same locks (failures here lock the page's login and the
other way round) and the same events for admins. The client address is the
socket peer, or the client a trusted proxy forwarded (VEOGEN_TRUSTED_PROXIES),
as on the page. Failures are not counted a second time by the API's rate limits.

The token holds the scopes the user's role allows (``read`` and ``generate``;
``admin`` too for admins), or those of them the form's ``scope`` names, and lasts
VEOGEN_API_JWT_MINUTES; api/security.py signs and checks it. A user who must
change a password set by an administrator gets no token until they have, on the
page. Errors are problem documents that also carry OAuth2's ``error`` code.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field

from api.problems import Problem, documented
from api.security import StudioDep, issue_access_token, role_scopes
from core.models import utcnow
from core.services.auth import LOCKED_PREFIX
from core.services.tokens import SCOPES

router = APIRouter(tags=["authentication"])

MAX_USERNAME_CHARS = 64
"""Longest username read (the column's width)."""

MAX_PASSWORD_CHARS = 256
"""Longest password read, in characters (bcrypt reads 72 bytes; a longer one is refused before any check)."""

MAX_SCOPE_CHARS = 200
"""Longest ``scope`` field read, in characters."""


TOKEN_FORM_EXAMPLE: dict[str, Any] = {
    "requestBody": {
        "content": {
            "application/x-www-form-urlencoded": {
                "example": {
                    "grant_type": "password",
                    "username": "alice",
                    "password": "correct horse battery",
                    "scope": "read generate",
                }
            }
        }
    }
}
"""The login form's example, on its media type: FastAPI builds the form's body schema from
OAuth2PasswordRequestForm (``Body_issue_token_v1_token_post``) and gives that schema no way to carry one."""


class AccessTokenOut(BaseModel):
    """An access token (RFC 6749 §5.1): send it as ``Authorization: Bearer <access_token>``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIyIn0.c2lnbmF0dXJl",
                    "token_type": "bearer",
                    "expires_in": 900,
                    "scope": "read generate",
                }
            ]
        }
    )

    access_token: str
    token_type: str = Field(default="bearer", description="Always ``bearer``.")
    expires_in: int = Field(description="Seconds the token stays valid (VEOGEN_API_JWT_MINUTES).")
    scope: str = Field(description="The scopes the token holds, space-separated.")


def _grant_refused(status: int, slug: str, title: str, detail: str, error: str, field: str | None = None) -> Problem:
    extra: dict[str, Any] = {"error": error, "error_description": detail}
    return Problem(status, slug, title, detail, field=field, extra=extra, headers={"Cache-Control": "no-store"})


def _check_lengths(form: OAuth2PasswordRequestForm) -> None:
    for field, value, limit in (
        ("username", form.username, MAX_USERNAME_CHARS),
        ("password", form.password, MAX_PASSWORD_CHARS),
        ("scope", " ".join(form.scopes), MAX_SCOPE_CHARS),
    ):
        if len(value) > limit:
            raise _grant_refused(
                422,
                "validation",
                "The request is not valid",
                f"{field} is {len(value)} characters long; the limit is {limit}.",
                "invalid_request",
                field=field,
            )


def _check_known(asked: list[str]) -> None:
    unknown = sorted(set(asked) - SCOPES.keys())
    if unknown:
        raise _grant_refused(
            400,
            "invalid-scope",
            "Unknown scope",
            f"Unknown scope {unknown[0][:20]!r}; choose from {', '.join(SCOPES)}.",
            "invalid_scope",
            field="scope",
        )


def _granted(asked: list[str], allowed: tuple[str, ...]) -> tuple[str, ...]:
    granted = tuple(scope for scope in allowed if not asked or scope in asked)
    if not granted:
        raise _grant_refused(
            400,
            "invalid-scope",
            "Scope not allowed",
            f"Your account's role does not allow {' '.join(asked)!r}; it allows {' '.join(allowed)!r}.",
            "invalid_scope",
            field="scope",
        )
    return granted


@router.post(
    "/token",
    response_model=AccessTokenOut,
    responses=documented(400, 403, 413, 422, 429),
    summary="Log in for an access token (OAuth2 password flow)",
    openapi_extra=TOKEN_FORM_EXAMPLE,
)
async def issue_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, response: Response, studio: StudioDep
) -> AccessTokenOut:
    """Check a username and password as the page's login does (its throttle and locks) and issue an access token.

    400 ``invalid-grant`` for a wrong username or password or a disabled account (the
    page's sentence), 429 ``login-locked`` after too many failures for the account or
    from the client's network (the page's login is locked alike), 403
    ``password-change-required`` until a password set by an administrator is changed
    on the page. ``scope`` may narrow the token to some of what the role allows.
    """
    _check_lengths(form)
    _check_known(form.scopes)
    peer = request.client.host if request.client else None
    client = studio.accounts.client_address(peer, request.headers.getlist("X-Forwarded-For"))
    result = await run_in_threadpool(studio.accounts.login, form.username, form.password, client)
    if result.user_id is None or result.username is None:
        error = result.error or "Wrong username or password."
        if error.startswith(LOCKED_PREFIX):
            raise _grant_refused(429, "login-locked", "Login locked for a while", error, "invalid_grant")
        raise _grant_refused(400, "invalid-grant", "Login failed", error, "invalid_grant")
    if result.must_change_password:
        raise _grant_refused(
            403,
            "password-change-required",
            "Change your password first",
            "Your password was set by an administrator; log in on the page and change it, then ask for a token.",
            "invalid_grant",
        )
    user = await run_in_threadpool(studio.accounts.by_username, result.username)
    scopes = _granted(form.scopes, role_scopes(user))
    settings = studio.settings
    token, _expires = issue_access_token(settings, user, scopes, now=utcnow())
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return AccessTokenOut(access_token=token, expires_in=settings.api_jwt_minutes * 60, scope=" ".join(scopes))
