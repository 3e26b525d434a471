"""Which providers this studio can use, with whose credentials: the one owner of provider access.

Credentials come from the user's own key, else the team's (both stored
encrypted), else the environment's; they are read at most every
``CREDENTIALS_TTL_SECONDS`` per user, so a poll does not query them each time.
Providers and the prompt helper are built once per set of credentials. Reading
credentials takes a database connection of its own: never call this while
holding a session. Imports no UI or worker code, and no provider SDK until a
provider is built.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.errors import ProviderUnavailableError
from core.providers import available_providers, make_prompt_helper, make_provider
from core.providers.base import PromptHelper, VideoProvider
from core.services.credentials import Vault, personal_key, team_credentials

CREDENTIALS_TTL_SECONDS = 5.0
"""How long a process reuses credentials read from the database, in seconds."""


class ProviderRegistry:
    """Providers with the credentials in force, per user, cached briefly."""

    def __init__(self, *, settings: Settings, sessions: sessionmaker[Session], vault: Vault) -> None:
        self.settings = settings
        self.sessions = sessions
        self.vault = vault
        self._lock = threading.Lock()
        self._credentials: dict[int | None, tuple[float, Settings]] = {}
        self._providers: dict[tuple[str, str, str, str], VideoProvider] = {}
        self._helpers: dict[str, PromptHelper] = {}

    def settings_for(self, user_id: int | None = None) -> Settings:
        """Settings with the credentials in force: the user's own key, else the team's, else the environment's."""
        hit = self._credentials.get(user_id)
        if hit is not None and time.monotonic() - hit[0] < CREDENTIALS_TTL_SECONDS:
            return hit[1]
        with self.sessions() as session:
            team = team_credentials(session=session, vault=self.vault)
            own = personal_key(session=session, vault=self.vault, user_id=user_id) if user_id else ""
        changes = {k: v for k, v in team.items() if v}
        if own:
            changes["gemini_api_key"] = own
        settings = self.settings.model_copy(update=changes) if changes else self.settings
        self._credentials[user_id] = (time.monotonic(), settings)
        return settings

    def forget(self) -> None:
        """Drop the cached credentials (after an admin or a user changed them)."""
        self._credentials.clear()

    def usable(self) -> set[str]:
        """Providers usable now (Veo once credentials are set, in the environment or by an admin)."""
        return available_providers(self.settings_for())

    def get(self, name: str, user_id: int | None = None) -> VideoProvider:
        """The provider called ``name`` with the credentials in force for ``user_id``, built once per key."""
        settings = self.settings_for(user_id) if name != "offline" else self.settings
        key = (name, settings.gemini_api_key, settings.vertex_project, settings.vertex_location)
        with self._lock:
            if key not in self._providers:
                self._providers[key] = make_provider(name, settings)
            return self._providers[key]

    def prompt_helper(self) -> PromptHelper:
        """The text model behind "Improve prompt"; ProviderUnavailableError says why there is none."""
        settings = self.settings_for()
        with self._lock:
            if settings.gemini_api_key not in self._helpers:
                self._helpers[settings.gemini_api_key] = make_prompt_helper(settings)
            return self._helpers[settings.gemini_api_key]

    def prompt_help_unavailable(self) -> str | None:
        """Why "Improve prompt" cannot work here, or None when it can."""
        try:
            self.prompt_helper()
        except ProviderUnavailableError as exc:
            return str(exc)
        return None
