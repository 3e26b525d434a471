"""Logging in, and keeping sessions honest.

Our login form (``pages/_ui/auth.py``) asks; this module decides, reading only
the one user who is logging in. Around streamlit-authenticator's old weaknesses
(see ARCHITECTURE.md, "Known traps") it keeps:

- failed logins counted per username (known or not, so a lock reveals nothing)
  and per client address, with a lock that always expires;
- the same answer in the same time for an unknown user and a wrong password
  (bcrypt runs on a dummy hash for unknown users);
- a password policy: minimum length, at most 72 bytes, not a common password
  (zxcvbn's frequency lists), not the username;
- session revocation: logout, a password change, a reset or disabling a user
  moves ``sessions_valid_after``, and every run refuses cookies issued before it
  (the issue time is signed into the cookie, never derived from a setting);
- the throttle's client address: the socket peer, or the address a trusted
  proxy forwarded — never an ``X-Forwarded-For`` the client wrote itself;
- an event for every login, failure and lock, for admins to see.

Services take ``session`` keyword-only and never commit.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import bcrypt
import jwt
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.errors import ValidationError
from core.models import ApiToken, Event, LoginThrottle, User, utcnow

MAX_PASSWORD_BYTES = 72
"""bcrypt reads at most this many bytes; longer passwords are refused, not cut."""

LOGIN_FAILED = "Wrong username or password."
"""The one answer to a failed login, whether the user is unknown or the password is wrong."""

_DUMMY_HASH = bcrypt.hashpw(b"not a password anyone has", bcrypt.gensalt(rounds=12))


@dataclass(frozen=True)
class Throttle:
    max_failures: int
    lock_seconds: int
    client_max_failures: int
    window_seconds: int


@dataclass(frozen=True)
class LoginResult:
    user_id: int | None
    username: str | None
    error: str | None
    must_change_password: bool = False


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def common_password(password: str) -> bool:
    """Whether the password is in zxcvbn's lists of common passwords or words."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    lowered = password.lower()
    return any(lowered in FREQUENCY_LISTS[name] for name in ("passwords", "english_wikipedia", "us_tv_and_film"))


def check_password(password: str, *, username: str = "", min_chars: int = 10) -> None:
    """Refuse a password that is too short, too long for bcrypt, common, or the username."""
    if len(password) < min_chars:
        raise ValidationError(f"Password must be at least {min_chars} characters.", field="password")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise ValidationError(f"Password must be at most {MAX_PASSWORD_BYTES} bytes.", field="password")
    if username and password.lower() == username.lower():
        raise ValidationError("Password must not be the username.", field="password")
    if common_password(password):
        raise ValidationError("This password is among the most common ones; choose another.", field="password")


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=12)).decode()


def _throttle_row(session: Session, key: str, now: datetime, window: int) -> LoginThrottle:
    row = session.get(LoginThrottle, key, with_for_update=True)
    if row is None:
        row = LoginThrottle(key=key, failures=0, window_started_at=now)
        session.add(row)
    elif _aware(row.window_started_at) < now - timedelta(seconds=window):  # type: ignore[operator]
        row.failures, row.window_started_at = 0, now
    return row


LOCKED_PREFIX = "Too many failed logins"
"""How every lock message starts (metrics tell a locked answer from a wrong password by it)."""


def _wait_message(until: datetime, now: datetime, who: str) -> str:
    minutes = max(1, round((until - now).total_seconds() / 60))
    return f"{LOCKED_PREFIX} {who}. Try again in {minutes} minute{'s' if minutes != 1 else ''}."


def _event(session: Session, user_id: int | None, kind: str, detail: str) -> None:
    session.add(Event(user_id=user_id, kind=kind, detail=detail))


def login(
    *, session: Session, username: str, password: str, client: str, throttle: Throttle, now: datetime | None = None
) -> LoginResult:
    """Check a login under the throttle; record what happened. Equal work for known and unknown users."""
    now = now or utcnow()
    name = (username or "").strip().lower()[:64]
    user_key, client_key = f"user:{name}", f"client:{client[:120]}"
    user_row = _throttle_row(session, user_key, now, throttle.window_seconds)
    client_row = _throttle_row(session, client_key, now, throttle.window_seconds)
    user = session.execute(select(User).where(User.username == name)).scalar_one_or_none()
    user_id = user.id if user else None
    for row, who in ((user_row, "for this account"), (client_row, "from your network")):
        locked = _aware(row.locked_until)
        if locked and locked > now:
            bcrypt.checkpw(b"x", _DUMMY_HASH)  # a locked answer takes as long as any other
            _event(session, user_id, "login_refused", f"{row.key.split(':')[0]} locked; client {client}")
            return LoginResult(None, None, _wait_message(locked, now, who))
    stored = user.password_hash.encode() if user else _DUMMY_HASH
    good = bcrypt.checkpw(password.encode()[:MAX_PASSWORD_BYTES], stored) and user is not None
    if good and user is not None and not user.disabled:
        user_row.failures = 0
        user_row.locked_until = None
        user.last_login_at = now
        _event(session, user.id, "login", f"client {client}")
        return LoginResult(user.id, user.username, None, user.must_change_password)
    if good and user is not None and user.disabled:
        _event(session, user.id, "login_refused", f"disabled account; client {client}")
        return LoginResult(None, None, "This account is disabled. Ask an administrator.")
    error = LOGIN_FAILED
    _event(session, user_id, "login_failed", f"username {name!r}; client {client}")
    for row, limit, who in (
        (user_row, throttle.max_failures, "for this account"),
        (client_row, throttle.client_max_failures, "from your network"),
    ):
        row.failures += 1
        if row.failures >= limit:
            row.locked_until = now + timedelta(seconds=throttle.lock_seconds)
            row.failures, row.window_started_at = 0, now
            _event(session, user_id, "login_locked", f"{row.key} locked for {throttle.lock_seconds} s")
            error = _wait_message(row.locked_until, now, who)
    return LoginResult(None, None, error)


def session_user(*, session: Session, username: str, issued_at: datetime | None) -> User | None:
    """The user a login cookie names, if the cookie still counts: enabled, and issued after any revocation."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or user.disabled:
        return None
    revoked = _aware(user.sessions_valid_after)
    if revoked is not None and (issued_at is None or issued_at <= revoked):
        return None
    return user


def revoke_sessions(
    *, session: Session, user: User, reason: str, now: datetime | None = None, tokens: bool = True
) -> None:
    """End every session of ``user``: cookies issued until now stop working; with ``tokens`` (a password
    change or reset, a disabled account) the user's API tokens are revoked too. Logging out of the page
    passes ``tokens=False``: a script's token outlives the browser session it was made in."""
    now = now or utcnow()
    user.sessions_valid_after = now
    _event(session, user.id, "sessions_revoked", reason)
    if tokens:
        session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )


def change_password(
    *,
    session: Session,
    user_id: int,
    current: str,
    new: str,
    min_chars: int,
    throttle: Throttle,
    now: datetime | None = None,
) -> str | None:
    """Change one's own password (the current one is checked); every session ends.

    A wrong current password counts toward the account's login lock, like a failed login, so a stolen
    session or token cannot guess it; it is returned (with the lock's sentence once locked), not raised, so
    the caller commits the count before refusing. Other refusals raise ``ValidationError``.
    """
    now = now or utcnow()
    user = session.get(User, user_id, with_for_update=True)
    if user is None:
        raise ValidationError("The current password is wrong.", field="current_password")
    row = _throttle_row(session, f"user:{user.username}", now, throttle.window_seconds)
    locked = _aware(row.locked_until)
    if locked and locked > now:
        return _wait_message(locked, now, "for this account")
    if not bcrypt.checkpw(current.encode()[:MAX_PASSWORD_BYTES], user.password_hash.encode()):
        _event(session, user.id, "password_change_failed", "the current password was wrong")
        row.failures += 1
        if row.failures < throttle.max_failures:
            return "The current password is wrong."
        row.locked_until = now + timedelta(seconds=throttle.lock_seconds)
        row.failures, row.window_started_at = 0, now
        _event(session, user.id, "login_locked", f"{row.key} locked for {throttle.lock_seconds} s")
        return _wait_message(row.locked_until, now, "for this account")
    if current == new:
        raise ValidationError("The new password must differ from the current one.", field="password")
    check_password(new, username=user.username, min_chars=min_chars)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    row.failures, row.locked_until = 0, None
    revoke_sessions(session=session, user=user, reason="password changed")
    return None


# -- the login cookie --------------------------------------------------------------

COOKIE_ALGORITHM = "HS256"
"""How login cookies are signed (with VEOGEN_COOKIE_KEY)."""


@dataclass(frozen=True)
class CookieClaims:
    """What a login cookie we signed says: whose it is and when it was issued."""

    username: str
    issued_at: datetime | None
    """None for a cookie signed before the issue time was part of it: it counts only while nothing was revoked."""


def encode_cookie(*, username: str, key: str, now: datetime, expiry_days: float) -> tuple[str, datetime]:
    """Sign a login cookie for ``username`` issued at ``now``; return it and when it expires.

    The claims are the ones streamlit-authenticator 0.4.2 wrote (``username``, ``exp_date``) plus
    ``issued_at``, which the revocation check compares with ``sessions_valid_after``.
    """
    expires = now + timedelta(days=expiry_days)
    claims = {"username": username, "exp_date": expires.timestamp(), "issued_at": now.timestamp()}
    return jwt.encode(claims, key, algorithm=COOKIE_ALGORITHM), expires


def decode_cookie(token: str | None, *, key: str, now: datetime, expiry_days: float) -> CookieClaims | None:
    """The claims of a login cookie we signed that is still valid, else None.

    A cookie is valid until its signed expiry, and no longer than ``expiry_days`` after its
    signed issue time: lowering VEOGEN_COOKIE_EXPIRY_DAYS shortens the cookies already out.
    """
    if not token:
        return None
    try:
        claims = jwt.decode(token, key, algorithms=[COOKIE_ALGORITHM])
        username, expires = claims["username"], float(claims["exp_date"])
        issued = claims.get("issued_at")
        issued_at = None if issued is None else datetime.fromtimestamp(float(issued), tz=UTC)
    except (jwt.PyJWTError, KeyError, TypeError, ValueError, OverflowError, OSError):
        return None
    if not isinstance(username, str) or not username or expires <= now.timestamp():
        return None
    if issued_at is not None and issued_at + timedelta(days=expiry_days) <= now:
        return None
    return CookieClaims(username, issued_at)


# -- the client address the throttle counts ----------------------------------------

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

UNKNOWN_CLIENT = "unknown"
"""The client of a connection whose peer address could not be read (all such clients share one count)."""


def _address(value: str) -> IPAddress | None:
    """An IP address from a socket peer or one X-Forwarded-For hop (an IPv4 port or a bracketed IPv6 allowed)."""
    text = value.strip().strip('"')
    if text.startswith("["):  # [2001:db8::1]:443
        text = text[1 : text.find("]")] if "]" in text else text
    elif text.count(":") == 1:  # 203.0.113.7:52100
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:127.0.0.1 on a dual-stack socket is 127.0.0.1
    return address


def client_address(peer: str | None, forwarded_for: Sequence[str], trusted_proxies: Sequence[IPNetwork]) -> str:
    """The address the login throttle counts a client under.

    It is the socket peer, unless the peer is one of ``trusted_proxies``: then the right-most
    ``X-Forwarded-For`` hop that is not a trusted proxy (hops to its left were written by the
    client and prove nothing). A header sent by any other peer is ignored.
    """
    address = _address(peer) if peer else None
    if address is None:
        return UNKNOWN_CLIENT

    def trusted(candidate: IPAddress) -> bool:
        return any(candidate in network for network in trusted_proxies)

    hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
    while trusted(address) and hops:
        hop = _address(hops.pop())
        if hop is None:
            break  # a trusted proxy wrote something that is not an address: count it under the proxy
        address = hop
    return str(address)
