"""Users: create, look up, and the credentials the login form checks against.

Passwords are bcrypt hashes; plain passwords are never stored or logged.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

import bcrypt
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NotFoundError, ValidationError
from core.models import User

ROLES = ("admin", "creator")
"""Every role a user can have."""

MIN_PASSWORD_CHARS = 10
"""Shortest password accepted."""

MAX_PASSWORD_BYTES = 72
"""bcrypt reads at most this many bytes; longer passwords are refused, not cut."""

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    name: str
    email: str
    role: str
    disabled: bool


def _view(user: User) -> UserView:
    return UserView(user.id, user.username, user.name, user.email, user.role, user.disabled)


def hash_password(password: str) -> str:
    """Validate and bcrypt-hash a password."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValidationError(f"Password must be at least {MIN_PASSWORD_CHARS} characters.", field="password")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise ValidationError(f"Password must be at most {MAX_PASSWORD_BYTES} bytes.", field="password")
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=12)).decode()


def generate_password() -> str:
    """Return a random password that passes validation."""
    return secrets.token_urlsafe(15)


def create_user(
    *, session: Session, username: str, password: str, role: str = "creator", name: str = "", email: str = ""
) -> UserView:
    """Create a user; refuses a taken or malformed username and a weak password."""
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise ValidationError(
            "Username must be 2–32 characters: lower-case letters, digits, '.', '_' or '-'.", field="username"
        )
    if role not in ROLES:
        raise ValidationError(f"Role must be one of {', '.join(ROLES)}.", field="role")
    if session.execute(select(User.id).where(User.username == username)).first():
        raise ValidationError(f"User {username!r} already exists.", field="username")
    user = User(username=username, name=name or username, email=email, password_hash=hash_password(password), role=role)
    session.add(user)
    session.flush()
    return _view(user)


def get_user(*, session: Session, username: str) -> UserView:
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFoundError(f"No user {username!r}.")
    return _view(user)


def any_admin(*, session: Session) -> bool:
    return session.execute(select(User.id).where(User.role == "admin")).first() is not None


def login_credentials(*, session: Session) -> dict[str, dict[str, dict[str, object]]]:
    """Return enabled users in the shape streamlit-authenticator reads (hashes, never passwords)."""
    users = session.execute(select(User).where(User.disabled.is_(False))).scalars()
    return {
        "usernames": {
            u.username: {
                "email": u.email,
                "first_name": u.name,
                "last_name": "",
                "password": u.password_hash,
                "roles": [u.role],
            }
            for u in users
        }
    }
