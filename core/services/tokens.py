"""Personal access tokens: made, listed, revoked, and checked on every API request.

A token is ``veogen_pat_`` followed by 43 characters from :func:`secrets.token_urlsafe`
(256 random bits). It is shown once, when made; the database keeps only its SHA-256.
A plain hash is enough here — unlike a password, the secret is random and long, so
nobody can guess candidates to hash, and a slow hash (bcrypt) would only make every
API request slower. A request's token is found by its hash; the stored hash is then
compared with :func:`hmac.compare_digest`, so no comparison of secret-derived bytes
takes less time because fewer of them match.

A token counts while it is not revoked, not past its expiry and its owner is
enabled. Disabling a user or resetting or changing their password ends their
sessions and revokes their tokens (``core.services.auth.revoke_sessions``);
logging out of the page ends the browser's session only, so a script's token
outlives it. ``admin`` is given only to admins, and
counts only while its owner is still one.

Services take ``session`` keyword-only and never commit; ``core.tokens.Tokens`` does.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.errors import NotFoundError, ValidationError
from core.models import ApiToken, Event, User, utcnow
from core.services.users import UserView, require_admin, view_of
from core.services.users import _check_name as check_display_name

PREFIX = "veogen_pat_"
"""How every token starts, so a leaked one is recognisable (and secret scanners can match it)."""

SECRET_BYTES = 32
"""Random bytes in a token (43 URL-safe characters after the prefix)."""

SCOPES: dict[str, str] = {
    "read": "read your models, budget and generations",
    "generate": "submit generations (they cost money within your budget)",
    "admin": "administer the studio (administrators only)",
}
"""Every scope a token can hold, with what it allows."""

MAX_NAME_CHARS = 64
"""Longest token name, in characters (the column's width)."""

MAX_DAYS = 365
"""Longest life of a token, in days: every token expires, at the latest a year after it was made."""

EXPIRY_CHOICES = (7, 30, 90, MAX_DAYS)
"""The lives (in days) the Account page offers."""

MAX_ACTIVE_PER_USER = 50
"""Tokens one user may hold at once (revoked and expired ones do not count)."""

TOUCH_EVERY_SECONDS = 60
"""``last_used_at`` is written at most this often per token, in seconds, so reads do not each write."""

HINT_CHARS = len(PREFIX) + 4
"""Characters of a token kept in clear (its prefix and four random ones) to tell tokens apart."""

UNKNOWN = "This token is not valid. Send a personal access token from your Account page as 'Bearer <token>'."
"""The answer to a missing, malformed or unknown token (nothing more is known about it)."""


@dataclass(frozen=True)
class TokenView:
    """A token as its owner (or an admin) sees it: never the secret."""

    id: int
    user_id: int
    username: str
    name: str
    hint: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    state: str
    """``active``, ``expired``, ``revoked`` (by its owner, an admin, or a password change, reset or disabling)
    or ``ended`` (its owner's account is disabled)."""

    @property
    def active(self) -> bool:
        return self.state == "active"


@dataclass(frozen=True)
class TokenOwner:
    """Who a valid token speaks for, and what it may do."""

    token_id: int
    token_name: str
    user: UserView
    scopes: frozenset[str]
    expires_at: datetime

    def allows(self, scope: str) -> bool:
        """Whether the token holds ``scope`` (``admin`` only while its owner is still an admin)."""
        return scope in self.scopes and (scope != "admin" or self.user.is_admin)


@dataclass(frozen=True)
class TokenCheck:
    """The answer to a presented token: its owner, or why it does not count."""

    owner: TokenOwner | None
    error: str | None
    touch: bool = False
    """Whether ``last_used_at`` is due to be written (see ``TOUCH_EVERY_SECONDS``)."""


def digest(secret: str) -> str:
    """The stored form of a token: hex SHA-256 of the whole secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _state(row: ApiToken, user: User, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if user.disabled:
        return "ended"
    if row.expires_at <= now:
        return "expired"
    return "active"


def _view(row: ApiToken, user: User, now: datetime) -> TokenView:
    return TokenView(
        id=row.id,
        user_id=row.user_id,
        username=user.username,
        name=row.name,
        hint=row.hint,
        scopes=tuple(row.scopes.split()),
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
        state=_state(row, user, now),
    )


def check_name(name: str) -> str:
    """Return a token name without surrounding spaces; refuse an empty or over-long one, or control characters."""
    text = (name or "").strip()
    if len(text) > MAX_NAME_CHARS:
        raise ValidationError(f"Name is {len(text)} characters long; the limit is {MAX_NAME_CHARS}.", field="name")
    text = check_display_name(text)  # the rule for names of users: NFC, no invisible or control characters
    if not text:
        raise ValidationError("Give the token a name, e.g. what will use it.", field="name")
    return text


def check_scopes(scopes: list[str] | tuple[str, ...], *, user: User) -> tuple[str, ...]:
    """The scopes in a fixed order; refuse none, an unknown one, or ``admin`` for anyone but an admin."""
    chosen = set(scopes)
    if not chosen:
        raise ValidationError("Choose at least one scope.", field="scopes")
    unknown = sorted(chosen - SCOPES.keys())
    if unknown:
        raise ValidationError(
            f"Unknown scope {unknown[0][:20]!r}; choose from {', '.join(SCOPES)}.",
            field="scopes",
        )
    if "admin" in chosen and (user.role != "admin" or user.disabled):
        raise ValidationError("Only an administrator may make a token with the admin scope.", field="scopes")
    return tuple(s for s in SCOPES if s in chosen)


def create_token(
    *, session: Session, user_id: int, name: str, scopes: list[str] | tuple[str, ...], days: int
) -> tuple[TokenView, str]:
    """Make a token for the user; return it and its secret (the only time the secret exists outside the caller)."""
    user = session.get(User, user_id, with_for_update=True)
    if user is None or user.disabled:
        raise NotFoundError("No such user.")
    name = check_name(name)
    chosen = check_scopes(scopes, user=user)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ValidationError(f"A token lives 1 to {MAX_DAYS} days.", field="expires_in_days")
    now = utcnow()
    held = [_view(r, user, now) for r in _rows_of(session, user_id)]
    if sum(1 for t in held if t.active) >= MAX_ACTIVE_PER_USER:
        raise ValidationError(
            f"You hold {MAX_ACTIVE_PER_USER} active tokens, the most allowed; revoke one you no longer use.",
            field="name",
        )
    secret = PREFIX + secrets.token_urlsafe(SECRET_BYTES)
    row = ApiToken(
        user_id=user_id,
        name=name,
        token_hash=digest(secret),
        hint=secret[:HINT_CHARS],
        scopes=" ".join(chosen),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    session.add(Event(user_id=user_id, kind="token", detail=f"token {row.id} {name!r} made ({', '.join(chosen)})"))
    return _view(row, user, now), secret


def _rows_of(session: Session, user_id: int) -> list[ApiToken]:
    return list(
        session.execute(
            select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        ).scalars()
    )


def list_tokens(*, session: Session, user_id: int) -> list[TokenView]:
    """The user's tokens, newest first, whatever their state."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError("No such user.")
    now = utcnow()
    return [_view(row, user, now) for row in _rows_of(session, user_id)]


def list_all_tokens(*, session: Session, actor_id: int, limit: int = 500) -> list[TokenView]:
    """For an admin: everyone's tokens, newest first."""
    require_admin(session=session, actor_id=actor_id)
    now = utcnow()
    rows = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        .limit(limit)
    ).all()
    return [_view(row, user, now) for row, user in rows]


def revoke_token(*, session: Session, actor_id: int, token_id: int, as_admin: bool = False) -> TokenView:
    """Revoke one of the actor's tokens (or, ``as_admin``, anyone's); revoking twice changes nothing."""
    actor = require_admin(session=session, actor_id=actor_id) if as_admin else session.get(User, actor_id)
    row = session.get(ApiToken, token_id, with_for_update=True)
    if actor is None or row is None or (not as_admin and row.user_id != actor_id):
        raise NotFoundError("No such token.")
    owner = session.get(User, row.user_id)
    assert owner is not None  # the foreign key cascades
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        row.revoked_by = actor.id
        by = "" if actor.id == owner.id else f" by {actor.username}"
        session.add(Event(user_id=owner.id, kind="token", detail=f"token {row.id} {row.name!r} revoked{by}"))
    return _view(row, owner, utcnow())


def check_token(*, session: Session, secret: str | None, now: datetime | None = None) -> TokenCheck:
    """Whose a presented token is and what it may do, or why it does not count (reads only)."""
    now = now or utcnow()
    if not secret or not secret.startswith(PREFIX) or len(secret) > 128:
        return TokenCheck(None, UNKNOWN)
    wanted = digest(secret)
    found = session.execute(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(ApiToken.token_hash == wanted)
    ).first()
    if found is None or not hmac.compare_digest(found[0].token_hash, wanted):
        return TokenCheck(None, UNKNOWN)
    row, user = found
    state = _state(row, user, now)
    if state == "revoked":
        return TokenCheck(
            None,
            "This token was revoked (by you or an administrator, or by a password change or reset). "
            "Make a new one on your Account page.",
        )
    if state == "ended":
        return TokenCheck(
            None,
            "This token's account is disabled; ask an administrator.",
        )
    if state == "expired":
        return TokenCheck(None, f"This token expired on {row.expires_at:%Y-%m-%d %H:%M} UTC. Make a new one.")
    owner = TokenOwner(
        token_id=row.id,
        token_name=row.name,
        user=view_of(user),
        scopes=frozenset(row.scopes.split()),
        expires_at=row.expires_at,
    )
    due = row.last_used_at is None or row.last_used_at <= now - timedelta(seconds=TOUCH_EVERY_SECONDS)
    return TokenCheck(owner, None, touch=due)


def touch_token(*, session: Session, token_id: int, now: datetime | None = None) -> None:
    """Record that the token was just used (at most once per ``TOUCH_EVERY_SECONDS``)."""
    now = now or utcnow()
    session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id)
        .where(
            (ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at <= now - timedelta(seconds=TOUCH_EVERY_SECONDS))
        )
        .values(last_used_at=now)
    )
