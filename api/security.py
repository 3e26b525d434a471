"""Who is calling, what they may do, and how often: the bearer token of every ``/v1`` request.

A request carries ``Authorization: Bearer <token>``, one of two kinds, both read by
the one dependency ``caller``:

- a **personal access token** (``veogen_pat_…``) from the Account page, checked by
  core/services/tokens.py (stored hashed, revocable, its own scopes and expiry);
- an **access token from the password login** (``POST /v1/token``, the OAuth2
  password flow, api/routes/auth.py): a JWT signed here with HS256, naming the user
  (``sub``, ``username``), the scopes their role allows (``scope``), ``iat``, ``exp``
  (VEOGEN_API_JWT_MINUTES after issue) and ``jti``. Its key is derived from the
  studio's secret key (VEOGEN_SECRET_KEY) and is never stored; it differs from the
  key of the page's login cookies, so neither passes for the other. It counts while
  the page's session check (``studio.accounts.session_user``) accepts its ``iat``:
  the user is enabled and no logout, password change or reset came after it.

``caller`` answers 401 (with ``WWW-Authenticate: Bearer``) for a missing, unknown,
revoked, expired or ended token, with the reason in plain words. ``scoped(scope)``
counts the request against the token's rate limit (api/ratelimit.py: ``generate``
routes against the submits budget, the rest against reads; 429 over it), then
answers 403 when the token lacks the scope. Imports ``core``, PyJWT and FastAPI only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2PasswordBearer

from api.problems import Problem
from api.ratelimit import READS, SUBMITS, RateLimits, limits_of
from core.config import Settings
from core.services.tokens import PREFIX, SCOPES, UNKNOWN, TokenCheck, TokenOwner
from core.services.users import UserView
from core.studio import Studio

TOKEN_URL = "v1/token"  # noqa: S105  (not a secret)
"""Where the password login answers, relative to the docs page, so ``/docs`` finds it behind a path prefix too."""

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="PersonalAccessToken",
    description="A personal access token from the Account page (``veogen_pat_…``), as ``Bearer <token>``.",
)

password_login = OAuth2PasswordBearer(
    tokenUrl=TOKEN_URL,
    scheme_name="PasswordLogin",
    scopes=SCOPES,
    auto_error=False,
    description="Your username and password, under the page's login throttle and lock, give an access token "
    "(a JWT) valid for VEOGEN_API_JWT_MINUTES, sent as ``Bearer <token>``. Leave the scopes empty for all "
    "your role allows.",
)

ACCESS_TOKEN_ALGORITHM = "HS256"  # noqa: S105  (not a secret)
"""How access tokens from the password login are signed."""

ACCESS_TOKEN_AUDIENCE = "veogen-api"  # noqa: S105  (not a secret)
"""The ``aud`` of every access token: a JWT made for anything else is refused."""

KEY_LABEL = b"veogen api access tokens v1"
"""What the access tokens' key is derived for (HMAC-SHA256 of this under VEOGEN_SECRET_KEY)."""

CLOCK_LEEWAY_SECONDS = 5
"""Clock difference tolerated between API processes when checking ``iat`` and ``exp``, in seconds."""

MAX_BEARER_CHARS = 4096
"""Longest bearer token read, in characters (an access token is under 600)."""

LOGIN_TOKEN_NAME = "password login"  # noqa: S105  (not a secret)
"""The token name ``GET /v1/me`` shows for an access token from the password login."""

ACCESS_INVALID = "This access token is not valid. Ask for a new one at /v1/token, or send a personal access token."
ACCESS_EXPIRED = "This access token has expired. Ask for a new one at /v1/token."
ACCESS_ENDED = (
    "This access token was ended: you logged out, your password was changed or reset, or your account was "
    "disabled. Log in again at /v1/token."
)


@dataclass(frozen=True)
class LoginOwner(TokenOwner):
    """The user an access token from the password login speaks for; no token row, so ``token_id`` is 0."""

    jti: str = ""


def role_scopes(user: UserView) -> tuple[str, ...]:
    """The scopes a password login may grant: everything the user's role allows (``admin`` to admins only)."""
    return tuple(scope for scope in SCOPES if scope != "admin" or user.is_admin)


def signing_key(settings: Settings) -> bytes:
    """The access tokens' key: derived from the studio's secret key, so there is no second secret to keep."""
    return hmac.new(settings.resolved_secret_key().encode(), KEY_LABEL, hashlib.sha256).digest()


def issue_access_token(
    settings: Settings, user: UserView, scopes: Iterable[str], *, now: datetime
) -> tuple[str, datetime]:
    """Sign an access token for ``user`` with ``scopes``, issued at ``now``; return it and when it expires.

    ``iat`` keeps its microseconds, so a token issued right after a revocation still counts.
    """
    expires = now + timedelta(minutes=settings.api_jwt_minutes)
    claims = {
        "sub": str(user.id),
        "username": user.username,
        "scope": " ".join(scopes),
        "aud": ACCESS_TOKEN_AUDIENCE,
        "iat": now.timestamp(),
        "exp": expires.timestamp(),
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode(claims, signing_key(settings), algorithm=ACCESS_TOKEN_ALGORITHM), expires


def check_access_token(studio: Studio, token: str) -> TokenCheck:
    """Whose an access token from the password login is and what it may do, or why it does not count."""
    try:
        claims = jwt.decode(
            token,
            signing_key(studio.settings),
            algorithms=[ACCESS_TOKEN_ALGORITHM],
            audience=ACCESS_TOKEN_AUDIENCE,
            leeway=CLOCK_LEEWAY_SECONDS,
            options={"require": ["sub", "username", "scope", "iat", "exp", "jti"]},
        )
        user_id, username = int(claims["sub"]), claims["username"]
        issued_at = datetime.fromtimestamp(float(claims["iat"]), tz=UTC)
        expires_at = datetime.fromtimestamp(float(claims["exp"]), tz=UTC)
        scopes = frozenset(str(claims["scope"]).split()) & SCOPES.keys()
    except jwt.ExpiredSignatureError:
        return TokenCheck(None, ACCESS_EXPIRED)
    except (jwt.PyJWTError, KeyError, TypeError, ValueError, OverflowError, OSError):
        return TokenCheck(None, ACCESS_INVALID)
    if not isinstance(username, str):
        return TokenCheck(None, ACCESS_INVALID)
    user = studio.accounts.session_user(username, issued_at)  # the page's check: enabled, nothing revoked since
    if user is None or user.id != user_id:
        return TokenCheck(None, ACCESS_ENDED)
    owner = LoginOwner(
        token_id=0,
        token_name=LOGIN_TOKEN_NAME,
        user=user,
        scopes=scopes,
        expires_at=expires_at,
        jti=str(claims["jti"]),
    )
    return TokenCheck(owner, None)


def studio_of(request: Request) -> Studio:
    """The studio the app was built with."""
    studio: Studio = request.app.state.studio
    return studio


StudioDep = Annotated[Studio, Depends(studio_of)]


def _refused(detail: str) -> Problem:
    return Problem(401, "unauthorized", "Not authenticated", detail, headers={"WWW-Authenticate": "Bearer"})


async def caller(
    studio: StudioDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    _login: Annotated[str | None, Depends(password_login)],  # the same header; here so OpenAPI offers the login
) -> TokenOwner:
    """The owner of the request's token (either kind), or a 401 problem saying why there is none."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _refused(UNKNOWN)
    check = await run_in_threadpool(check_bearer, studio, credentials.credentials)
    if check.owner is None:
        raise _refused(check.error or UNKNOWN)
    return check.owner


def check_bearer(studio: Studio, token: str) -> TokenCheck:
    """Whose a bearer token of either kind is, or why it does not count (blocking: run it in the thread pool)."""
    if len(token) > MAX_BEARER_CHARS:
        return TokenCheck(None, UNKNOWN)
    if not token.startswith(PREFIX) and token.count(".") == 2:  # a JWT: header.claims.signature
        return check_access_token(studio, token)
    return studio.tokens.authenticate(token)


def presented_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
    """The bearer token the request carried (``caller`` checked it), for a long answer to check it again."""
    return credentials.credentials if credentials is not None else ""


PresentedToken = Annotated[str, Depends(presented_token)]


def limit_key(owner: TokenOwner) -> str:
    """What a request is counted under: its personal access token, or the user of a password-login token."""
    return f"user:{owner.user.id}" if isinstance(owner, LoginOwner) else f"token:{owner.token_id}"


def _lacks(owner: TokenOwner, scope: str) -> str:
    lacking = f"This token lacks the '{scope}' scope (to {SCOPES[scope]})."
    if scope not in role_scopes(owner.user):
        return f"{lacking} Your account's role does not allow it."
    if isinstance(owner, LoginOwner):
        return f"{lacking} Log in at /v1/token again without naming scopes, or with this one."
    return f"{lacking} Make a token with it on your Account page."


def scoped(scope: str) -> Callable[..., TokenOwner]:
    """A dependency: the caller, counted against their rate limit, if their token holds ``scope``; else 403."""
    assert scope in SCOPES
    budget = SUBMITS if scope == "generate" else READS

    def dependency(
        owner: Annotated[TokenOwner, Depends(caller)], limits: Annotated[RateLimits, Depends(limits_of)]
    ) -> TokenOwner:
        limits.check(budget, limit_key(owner))
        if not owner.allows(scope):
            raise Problem(
                403,
                "insufficient-scope",
                "The token lacks a scope",
                _lacks(owner, scope),
                headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
            )
        return owner

    return dependency


Reader = Annotated[TokenOwner, Depends(scoped("read"))]
Generator = Annotated[TokenOwner, Depends(scoped("generate"))]
Administrator = Annotated[TokenOwner, Depends(scoped("admin"))]
