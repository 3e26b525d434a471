"""Personal access tokens: the noun class that owns their transactions.

Making, listing and revoking tokens (a user's own; an admin's for anyone) and
checking the one a REST API request presents; the rules are functions in
``core/services/tokens.py`` that take a session and never commit. Built by
``core.studio.build_studio``; the API and the Account page reach it as
``studio.tokens``. Imports no UI, API or worker code.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.services import tokens
from core.services.tokens import TokenCheck, TokenView


class Tokens:
    """A user's personal access tokens, and the check of a presented one."""

    def __init__(self, *, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def create(self, user_id: int, name: str, scopes: list[str] | tuple[str, ...], days: int) -> tuple[TokenView, str]:
        """Make a token; return it and its secret, which is shown once and never stored."""
        with transaction(self.sessions) as session:
            return tokens.create_token(session=session, user_id=user_id, name=name, scopes=scopes, days=days)

    def list_mine(self, user_id: int) -> list[TokenView]:
        """The user's tokens, newest first (active, expired, revoked and ended alike)."""
        with self.sessions() as session:
            return tokens.list_tokens(session=session, user_id=user_id)

    def revoke(self, user_id: int, token_id: int) -> TokenView:
        """Revoke one of the user's own tokens (another user's id answers "No such token.")."""
        with transaction(self.sessions) as session:
            return tokens.revoke_token(session=session, actor_id=user_id, token_id=token_id)

    def list_all(self, actor_id: int) -> list[TokenView]:
        """For an admin: everyone's tokens, newest first."""
        with self.sessions() as session:
            return tokens.list_all_tokens(session=session, actor_id=actor_id)

    def revoke_any(self, actor_id: int, token_id: int) -> TokenView:
        """For an admin: revoke anyone's token."""
        with transaction(self.sessions) as session:
            return tokens.revoke_token(session=session, actor_id=actor_id, token_id=token_id, as_admin=True)

    def authenticate(self, secret: str | None) -> TokenCheck:
        """Whose the presented token is and what it may do, or why it does not count; notes its use."""
        with self.sessions() as session:
            check = tokens.check_token(session=session, secret=secret)
        if check.owner is not None and check.touch:
            with transaction(self.sessions) as session:
                tokens.touch_token(session=session, token_id=check.owner.token_id)
        return check
