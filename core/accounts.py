"""Accounts: logging in, sessions, every user method, credentials — the noun class that owns their transactions.

Each method owns its transaction and calls the services in core/services (auth,
users, credentials), which check roles themselves. Built by
``core.studio.build_studio`` with its dependencies; pages reach it as
``studio.accounts``. Imports no UI code.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from core import metrics
from core.config import Settings
from core.db import transaction
from core.errors import NotFoundError, ValidationError
from core.models import User
from core.providers.registry import ProviderRegistry
from core.services import auth, credentials, users
from core.services.auth import LoginResult, Throttle
from core.services.credentials import CredentialView, Vault
from core.services.users import UserView


class Accounts:
    """Login, sessions, users and credentials for one studio."""

    def __init__(
        self, *, settings: Settings, sessions: sessionmaker[Session], vault: Vault, providers: ProviderRegistry
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.vault = vault
        self.providers = providers
        self.throttle = Throttle(
            max_failures=self.settings.login_max_failures,
            lock_seconds=self.settings.login_lock_seconds,
            client_max_failures=self.settings.login_client_max_failures,
            window_seconds=self.settings.login_window_seconds,
        )

    # -- login and sessions ---------------------------------------------------

    def login(self, username: str, password: str, client: str) -> LoginResult:
        """Check a login under the throttle, and record it."""
        with transaction(self.sessions) as session:
            result = auth.login(
                session=session,
                username=username,
                password=password,
                client=client or "unknown",
                throttle=self.throttle,
            )
        locked = bool(result.error and result.error.startswith(auth.LOCKED_PREFIX))
        metrics.LOGINS.labels("ok" if result.user_id else "locked" if locked else "failed").inc()
        return result

    def issue_cookie(self, username: str) -> tuple[str, datetime]:
        """Sign a login cookie for ``username``, issued now; return it and when it expires."""
        return auth.encode_cookie(
            username=username,
            key=self.settings.resolved_cookie_key(),
            now=datetime.now(UTC),
            expiry_days=self.settings.cookie_expiry_days,
        )

    def read_cookie(self, token: str | None) -> auth.CookieClaims | None:
        """Whose a login cookie is and when it was issued, if we signed it and it has not expired."""
        return auth.decode_cookie(
            token,
            key=self.settings.resolved_cookie_key(),
            now=datetime.now(UTC),
            expiry_days=self.settings.cookie_expiry_days,
        )

    def client_address(self, peer: str | None, forwarded_for: Sequence[str]) -> str:
        """The address the login throttle counts a connection under (see ``auth.client_address``)."""
        return auth.client_address(peer, forwarded_for, self.settings.trusted_proxy_networks())

    def session_user(self, username: str, issued_at: datetime | None) -> UserView | None:
        """The user of a session that still counts (enabled, not revoked since ``issued_at``), else None."""
        with self.sessions() as session:
            user = auth.session_user(session=session, username=username, issued_at=issued_at)
            return users.view_of(user) if user else None

    def logout(self, user_id: int) -> None:
        """End every session of the user (a copied cookie stops working too)."""
        with transaction(self.sessions) as session:
            user = session.get(User, user_id)
            if user is not None:
                auth.revoke_sessions(session=session, user=user, reason="logged out", tokens=False)

    def change_password(self, user_id: int, current: str, new: str) -> None:
        """Change one's own password; a wrong current one counts toward the account's login lock."""
        with transaction(self.sessions) as session:
            refusal = auth.change_password(
                session=session,
                user_id=user_id,
                current=current,
                new=new,
                min_chars=self.settings.min_password_chars,
                throttle=self.throttle,
            )
        if refusal is not None:  # raised after the commit, so the failure stays counted
            raise ValidationError(refusal, field="current_password")

    def register(self, username: str, email: str, password: str) -> UserView:
        """Self-registration (off unless VEOGEN_SELF_REGISTRATION): creators with an allowed email domain."""
        if not self.settings.self_registration:
            raise ValidationError("Registration is closed; ask an administrator for an account.")
        with transaction(self.sessions) as session:
            return users.register(
                session=session,
                username=username,
                email=email,
                password=password,
                allowed_domains=self.settings.allowed_registration_domains(),
                min_password_chars=self.settings.min_password_chars,
            )

    def accept_invite(self, token: str, password: str) -> UserView:
        with transaction(self.sessions) as session:
            return users.accept_invite(
                session=session, token=token, password=password, min_password_chars=self.settings.min_password_chars
            )

    # -- the shell and the first start ---------------------------------------------

    def by_username(self, username: str) -> UserView:
        """A user by name (NotFoundError when there is none); pages re-read the role with it."""
        with self.sessions() as session:
            return users.get_user(session=session, username=username)

    def add_user(
        self, username: str, password: str, role: str = "creator", *, email: str = "", name: str = ""
    ) -> UserView:
        """Create a user with a password chosen by the operator at the shell (``veogen user add``), no actor.

        Pages never call this: an admin on the Users page uses :meth:`create_user`,
        which checks the role and gives a one-time password.
        """
        with transaction(self.sessions) as session:
            return users.create_user(
                session=session,
                username=username,
                password=password,
                role=role,
                email=email,
                name=name,
                min_password_chars=self.settings.min_password_chars,
            )

    def ensure_admin(self, password: str = "") -> str | None:
        """Create the first admin if there is none; return its password when one was made."""
        with transaction(self.sessions) as session:
            if users.any_admin(session=session):
                return None
            chosen = password or users.generate_password()
            users.create_user(
                session=session,
                username="admin",
                password=chosen,
                role="admin",
                name="Administrator",
                min_password_chars=self.settings.min_password_chars,
            )
            return chosen

    # -- admin ----------------------------------------------------------------

    def list_users(self, actor_id: int) -> list[UserView]:
        with self.sessions() as session:
            return users.list_users(session=session, actor_id=actor_id)

    def user(self, actor_id: int, user_id: int) -> UserView:
        with self.sessions() as session:
            users.require_admin(session=session, actor_id=actor_id)
            return users.get_user_by_id(session=session, user_id=user_id)

    def create_user(self, actor_id: int, username: str, role: str, email: str = "") -> tuple[UserView, str]:
        """Create a user with an initial password (returned once) that must be changed."""
        with transaction(self.sessions) as session:
            return users.admin_create_user(
                session=session,
                actor_id=actor_id,
                username=username,
                role=role,
                email=email,
                min_password_chars=self.settings.min_password_chars,
            )

    def invite_user(self, actor_id: int, username: str, role: str, email: str = "") -> tuple[UserView, str]:
        """Create a user and return a one-time link where they set their password."""
        with transaction(self.sessions) as session:
            view, token = users.invite_user(
                session=session,
                actor_id=actor_id,
                username=username,
                role=role,
                email=email,
                ttl_hours=self.settings.invite_ttl_hours,
            )
        return view, f"{self.settings.public_url.rstrip('/')}/?invite={token}"

    def set_disabled(self, actor_id: int, user_id: int, disabled: bool) -> UserView:
        with transaction(self.sessions) as session:
            return users.set_disabled(session=session, actor_id=actor_id, user_id=user_id, disabled=disabled)

    def reset_password(self, actor_id: int, user_id: int) -> tuple[UserView, str]:
        with transaction(self.sessions) as session:
            return users.reset_password(session=session, actor_id=actor_id, user_id=user_id)

    def set_role(self, actor_id: int, user_id: int, role: str) -> UserView:
        with transaction(self.sessions) as session:
            return users.set_role(session=session, actor_id=actor_id, user_id=user_id, role=role)

    def set_limits(
        self, actor_id: int, user_id: int, monthly_budget_usd: Decimal | None, max_open_generations: int | None
    ) -> UserView:
        with transaction(self.sessions) as session:
            return users.set_limits(
                session=session,
                actor_id=actor_id,
                user_id=user_id,
                monthly_budget_usd=monthly_budget_usd,
                max_open_generations=max_open_generations,
            )

    def events(self, actor_id: int, limit: int = 200) -> list[tuple[datetime, str, str, str]]:
        """Logins, failures, locks and account changes, newest first (admins only)."""
        with self.sessions() as session:
            return users.account_events(session=session, actor_id=actor_id, limit=limit)

    # -- credentials ------------------------------------------------------------

    def team_credentials(self, actor_id: int) -> list[CredentialView]:
        with self.sessions() as session:
            return credentials.team_credential_views(session=session, vault=self.vault, actor_id=actor_id)

    def set_team_credential(self, actor_id: int, name: str, value: str) -> CredentialView:
        with transaction(self.sessions) as session:
            view = credentials.set_team_credential(
                session=session, vault=self.vault, actor_id=actor_id, name=name, value=value
            )
        self.providers.forget()
        return view

    def personal_key(self, user_id: int) -> CredentialView:
        with self.sessions() as session:
            value = credentials.personal_key(session=session, vault=self.vault, user_id=user_id)
        return CredentialView("personal_key", bool(value), credentials.masked(value))

    def set_personal_key(self, user_id: int, value: str) -> CredentialView:
        with transaction(self.sessions) as session:
            if session.get(User, user_id) is None:
                raise NotFoundError("No such user.")
            view = credentials.set_personal_key(session=session, vault=self.vault, user_id=user_id, value=value)
        self.providers.forget()
        return view
