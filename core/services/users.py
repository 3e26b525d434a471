"""Users and what admins do with them: create, invite, disable, reset, change role and limits.

Every admin operation takes the acting user and refuses anyone but an admin
(PermissionDeniedError), whatever page or command called it. Passwords are
bcrypt hashes; plain passwords are never stored or logged. Services take
``session`` keyword-only and never commit.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import NotFoundError, PermissionDeniedError, ValidationError
from core.models import Event, User, utcnow
from core.services.auth import check_password, hash_password, revoke_sessions

ROLES = ("admin", "creator")
"""Every role a user can have."""

MAX_NAME_CHARS = 128
"""Longest display name, in characters (the column's width)."""

_USERNAME = re.compile(r"[a-z0-9][a-z0-9_.-]{1,31}")
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}")
"""Checked with ``fullmatch``: no markup, spaces or line breaks anywhere."""


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    name: str
    email: str
    role: str
    disabled: bool
    must_change_password: bool = False
    monthly_budget_usd: Decimal | None = None
    max_open_generations: int | None = None
    last_login_at: datetime | None = None
    has_personal_key: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin" and not self.disabled


def view_of(user: User) -> UserView:
    return UserView(
        id=user.id,
        username=user.username,
        name=user.name,
        email=user.email,
        role=user.role,
        disabled=user.disabled,
        must_change_password=user.must_change_password,
        monthly_budget_usd=user.monthly_budget_usd,
        max_open_generations=user.max_open_generations,
        last_login_at=user.last_login_at,
        has_personal_key=bool(user.personal_key_encrypted),
    )


def generate_password() -> str:
    """Return a random password that passes the policy."""
    return secrets.token_urlsafe(15)


def require_admin(*, session: Session, actor_id: int) -> User:
    """Return the acting user if they are an enabled admin; refuse everyone else."""
    actor = session.get(User, actor_id)
    if actor is None or actor.disabled or actor.role != "admin":
        raise PermissionDeniedError("Only an administrator may do this.")
    return actor


def _target(session: Session, user_id: int) -> User:
    user = session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFoundError("No such user.")
    return user


def _audit(session: Session, actor: User, target: User, detail: str) -> None:
    session.add(Event(user_id=target.id, kind="account", detail=f"{detail} (by {actor.username})"))


def _check_username(username: str) -> str:
    username = username.strip().lower()
    if not _USERNAME.fullmatch(username):
        raise ValidationError(
            "Username must be 2–32 characters: lower-case letters, digits, '.', '_' or '-'.", field="username"
        )
    return username


def _check_name(name: str) -> str:
    """Return a display name without surrounding spaces; refuse one over the limit or with control characters."""
    name = unicodedata.normalize("NFC", name or "").strip()
    if len(name) > MAX_NAME_CHARS:
        raise ValidationError(f"Name is {len(name)} characters long; the limit is {MAX_NAME_CHARS}.", field="name")
    for ch in name:
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            raise ValidationError(
                f"Name contains an invisible or control character (U+{ord(ch):04X}); remove it.", field="name"
            )
    return name


def create_user(
    *,
    session: Session,
    username: str,
    password: str,
    role: str = "creator",
    name: str = "",
    email: str = "",
    min_password_chars: int = 10,
    must_change_password: bool = False,
) -> UserView:
    """Create a user; refuses a taken or malformed username and a weak password."""
    username = _check_username(username)
    name = _check_name(name)
    if role not in ROLES:
        raise ValidationError(f"Role must be one of {', '.join(ROLES)}.", field="role")
    if email and not _EMAIL.fullmatch(email):
        raise ValidationError("That does not look like an email address.", field="email")
    if session.execute(select(User.id).where(User.username == username)).first():
        raise ValidationError(f"User {username!r} already exists.", field="username")
    check_password(password, username=username, min_chars=min_password_chars)
    user = User(
        username=username,
        name=name or username,
        email=email,
        password_hash=hash_password(password),
        role=role,
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    return view_of(user)


def get_user(*, session: Session, username: str) -> UserView:
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFoundError(f"No user {username!r}.")
    return view_of(user)


def get_user_by_id(*, session: Session, user_id: int) -> UserView:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError("No such user.")
    return view_of(user)


def any_admin(*, session: Session) -> bool:
    return session.execute(select(User.id).where(User.role == "admin")).first() is not None


# -- admin operations ------------------------------------------------------


def list_users(*, session: Session, actor_id: int) -> list[UserView]:
    require_admin(session=session, actor_id=actor_id)
    return [view_of(u) for u in session.execute(select(User).order_by(User.username)).scalars()]


def admin_create_user(
    *, session: Session, actor_id: int, username: str, role: str, email: str = "", min_password_chars: int = 10
) -> tuple[UserView, str]:
    """Create a user with a random initial password that must be changed at first login."""
    actor = require_admin(session=session, actor_id=actor_id)
    password = generate_password()
    view = create_user(
        session=session,
        username=username,
        password=password,
        role=role,
        email=email,
        min_password_chars=min_password_chars,
        must_change_password=True,
    )
    _audit(session, actor, session.get(User, view.id), f"created as {role}")  # type: ignore[arg-type]
    return view, password


def invite_user(
    *, session: Session, actor_id: int, username: str, role: str, email: str, ttl_hours: int
) -> tuple[UserView, str]:
    """Create a user who sets their own password through a one-time link; return the token."""
    actor = require_admin(session=session, actor_id=actor_id)
    view = create_user(
        session=session,
        username=username,
        password=generate_password(),
        role=role,
        email=email,
        must_change_password=True,
    )
    user = _target(session, view.id)
    token = secrets.token_urlsafe(32)
    user.invite_token_hash = hashlib.sha256(token.encode()).hexdigest()
    user.invite_expires_at = utcnow() + timedelta(hours=ttl_hours)
    _audit(session, actor, user, f"invited as {role}")
    return view_of(user), token


def accept_invite(*, session: Session, token: str, password: str, min_password_chars: int) -> UserView:
    """Set the password of an invited user; the link works once and until it expires."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    user = session.execute(select(User).where(User.invite_token_hash == digest).with_for_update()).scalar_one_or_none()
    expires = user.invite_expires_at if user else None
    if user is None or expires is None or expires < utcnow() or user.disabled:
        raise ValidationError("This invitation link is not valid (it may have been used or have expired).")
    check_password(password, username=user.username, min_chars=min_password_chars)
    user.password_hash = hash_password(password)
    user.must_change_password = False
    user.invite_token_hash = None
    user.invite_expires_at = None
    session.add(Event(user_id=user.id, kind="account", detail="invitation accepted; password set"))
    return view_of(user)


def set_disabled(*, session: Session, actor_id: int, user_id: int, disabled: bool) -> UserView:
    """Disable (ending every session) or re-enable a user; nobody disables the last admin."""
    actor = require_admin(session=session, actor_id=actor_id)
    user = _target(session, user_id)
    if disabled and user.role == "admin" and _enabled_admins(session) <= 1 and not user.disabled:
        raise ValidationError("This is the last enabled administrator; make another admin first.")
    user.disabled = disabled
    if disabled:
        revoke_sessions(session=session, user=user, reason=f"disabled by {actor.username}")
    _audit(session, actor, user, "disabled" if disabled else "re-enabled")
    return view_of(user)


def reset_password(*, session: Session, actor_id: int, user_id: int) -> tuple[UserView, str]:
    """Give a user a new random password that must be changed; every session of theirs ends."""
    actor = require_admin(session=session, actor_id=actor_id)
    user = _target(session, user_id)
    password = generate_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    revoke_sessions(session=session, user=user, reason=f"password reset by {actor.username}")
    _audit(session, actor, user, "password reset")
    return view_of(user), password


def set_role(*, session: Session, actor_id: int, user_id: int, role: str) -> UserView:
    """Change a user's role; the last enabled admin stays an admin."""
    actor = require_admin(session=session, actor_id=actor_id)
    if role not in ROLES:
        raise ValidationError(f"Role must be one of {', '.join(ROLES)}.", field="role")
    user = _target(session, user_id)
    if user.role == "admin" and role != "admin" and not user.disabled and _enabled_admins(session) <= 1:
        raise ValidationError("This is the last enabled administrator; make another admin first.")
    user.role = role
    _audit(session, actor, user, f"role set to {role}")
    return view_of(user)


MAX_BUDGET_USD = Decimal("99999999")
"""Largest monthly budget, in US dollars (money columns hold eight digits before the point)."""

MAX_OPEN_CAP = 100_000
"""Largest open-generation cap (well inside a 32-bit integer column)."""


def check_limits(monthly_budget_usd: Decimal | None, max_open_generations: int | None) -> None:
    """Refuse a budget or cap the columns cannot hold or that makes no sense (None: the studio default)."""
    if monthly_budget_usd is not None:
        if not monthly_budget_usd.is_finite():
            raise ValidationError("The budget must be a finite amount.", field="monthly_budget_usd")
        if monthly_budget_usd < 0:
            raise ValidationError("A budget cannot be negative.", field="monthly_budget_usd")
        if monthly_budget_usd > MAX_BUDGET_USD:
            raise ValidationError(f"The budget can be at most ${MAX_BUDGET_USD:,.2f}.", field="monthly_budget_usd")
    if max_open_generations is not None:
        if max_open_generations < 1:
            raise ValidationError("The cap must be at least 1.", field="max_open_generations")
        if max_open_generations > MAX_OPEN_CAP:
            raise ValidationError(f"The cap can be at most {MAX_OPEN_CAP:,}.", field="max_open_generations")


def set_limits(
    *,
    session: Session,
    actor_id: int,
    user_id: int,
    monthly_budget_usd: Decimal | None,
    max_open_generations: int | None,
) -> UserView:
    """Set a user's monthly budget and open-generation cap (None: the studio default)."""
    actor = require_admin(session=session, actor_id=actor_id)
    check_limits(monthly_budget_usd, max_open_generations)
    user = _target(session, user_id)
    user.monthly_budget_usd = monthly_budget_usd
    user.max_open_generations = max_open_generations
    _audit(session, actor, user, f"limits set: budget {monthly_budget_usd}, open cap {max_open_generations}")
    return view_of(user)


def register(
    *, session: Session, username: str, email: str, password: str, allowed_domains: set[str], min_password_chars: int
) -> UserView:
    """Self-registration: only for configured email domains, and only ever as a creator."""
    domain = email.rsplit("@", 1)[-1].lower() if "@" in email else ""
    if not allowed_domains or domain not in allowed_domains:
        raise ValidationError("Registration is open only to addresses of this organisation.", field="email")
    view = create_user(
        session=session,
        username=username,
        password=password,
        role="creator",
        email=email,
        min_password_chars=min_password_chars,
    )
    session.add(Event(user_id=view.id, kind="account", detail=f"registered with {domain}"))
    return view


def _enabled_admins(session: Session) -> int:
    return int(
        session.execute(
            select(func.count()).select_from(User).where(User.role == "admin", User.disabled.is_(False))
        ).scalar_one()
    )


def account_events(*, session: Session, actor_id: int, limit: int = 200) -> list[tuple[datetime, str, str, str]]:
    """Logins, failures, locks and account changes, newest first: ``(at, username, kind, detail)``."""
    require_admin(session=session, actor_id=actor_id)
    rows = session.execute(
        select(Event.at, User.username, Event.kind, Event.detail)
        .outerjoin(User, User.id == Event.user_id)
        .where(Event.generation_id.is_(None))
        .order_by(Event.at.desc(), Event.id.desc())
        .limit(limit)
    ).all()
    return [(at, username or "—", kind, detail) for at, username, kind, detail in rows]
