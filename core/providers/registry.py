"""Which models a creator may use, through which credential: the one owner of provider access.

A creator has at most two Google credentials: a Gemini API key (their own, else
the team's, else the environment's; both stored encrypted) and a Vertex AI
project (the team's, else the environment's). Each credential's live model list
(core/providers/live.py) intersected with the catalog is what it offers; the
offline renderer is always offered. Credentials are read at most every
``CREDENTIALS_TTL_SECONDS`` per user, providers are built once per credential.
Reading credentials takes a database connection of its own: never call this
while holding a session. Imports no UI or worker code, and no provider SDK until
a provider is built or a list is read.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from redis import Redis
from sqlalchemy.orm import Session, sessionmaker

from core import catalog
from core.catalog import ModelSpec, Offer
from core.config import Settings
from core.errors import ProviderUnavailableError, ValidationError
from core.providers import list_models, make_prompt_helper, make_provider
from core.providers.base import PromptHelper, VideoProvider
from core.providers.live import LiveModels, ModelList, fingerprint
from core.services.credentials import Vault, personal_key, personal_key_owners, team_credentials

CREDENTIALS_TTL_SECONDS = 5.0
"""How long a process reuses credentials read from the database, in seconds."""

SURFACE_LABELS = {"gemini": "Gemini API", "vertex": "Vertex AI", "local": "this machine"}


@dataclass(frozen=True)
class Credential:
    """One way to reach Google: a Gemini API key or a Vertex project, with where it came from."""

    surface: str
    """``gemini`` or ``vertex``."""
    label: str
    """Whose it is, for the Create page: "your own Gemini API key", "the team's Vertex project p"."""
    settings: Settings
    """The studio's settings narrowed to this credential alone."""

    @property
    def key(self) -> str:
        s = self.settings
        return fingerprint(self.surface, s.gemini_api_key, s.vertex_project, s.vertex_location, s.veo_base_url)


@dataclass(frozen=True)
class CredentialModels:
    """What one credential offers now, for the Settings page."""

    credential: str
    surface_label: str
    offered: list[str]
    """Labels of the catalog's models its live list holds (not retired there)."""
    read_at: datetime | None
    error: str = ""


class ProviderRegistry:
    """Credentials, model lists and providers per user, cached briefly."""

    def __init__(self, *, settings: Settings, sessions: sessionmaker[Session], vault: Vault, redis: Redis) -> None:
        self.settings = settings
        self.sessions = sessions
        self.vault = vault
        self.live = LiveModels(redis=redis, ttl_seconds=settings.models_refresh_hours * 3600)
        self._lock = threading.Lock()
        self._credentials: dict[int | None, tuple[float, list[Credential]]] = {}
        self._providers: dict[tuple[str, str, str], VideoProvider] = {}
        self._helpers: dict[str, PromptHelper] = {}

    # -- credentials ------------------------------------------------------------

    def credentials(self, user_id: int | None = None) -> list[Credential]:
        """The user's Google credentials in force: a Gemini API key first, then a Vertex project."""
        hit = self._credentials.get(user_id)
        if hit is not None and time.monotonic() - hit[0] < CREDENTIALS_TTL_SECONDS:
            return hit[1]
        with self.sessions() as session:
            team = team_credentials(session=session, vault=self.vault)
            own = personal_key(session=session, vault=self.vault, user_id=user_id) if user_id else ""
        found: list[Credential] = []
        base = self.settings
        if self.settings.provider != "offline":
            key, whose = (own, "your own") if own else (team.get("gemini_api_key", ""), "the team's")
            if not key and base.gemini_api_key:
                key, whose = base.gemini_api_key, "the server's"
            if key:
                narrowed = base.model_copy(update={"gemini_api_key": key, "vertex_project": ""})
                found.append(Credential("gemini", f"{whose} Gemini API key", narrowed))
            project = team.get("vertex_project") or base.vertex_project
            if project:
                location = team.get("vertex_location") or base.vertex_location
                narrowed = base.model_copy(
                    update={"gemini_api_key": "", "vertex_project": project, "vertex_location": location}
                )
                whose = "the team's" if team.get("vertex_project") else "the server's"
                found.append(Credential("vertex", f"{whose} Vertex AI project {project}", narrowed))
        self._credentials[user_id] = (time.monotonic(), found)
        return found

    def settings_for(self, user_id: int | None = None) -> Settings:
        """The studio's settings with the user's credentials in force (the team's, for ``None``): key and project."""
        changes: dict[str, object] = {}
        for found in self.credentials(user_id):
            if found.surface == "gemini":
                changes["gemini_api_key"] = found.settings.gemini_api_key
            else:
                changes["vertex_project"] = found.settings.vertex_project
                changes["vertex_location"] = found.settings.vertex_location
        return self.settings.model_copy(update=changes) if changes else self.settings

    def credential(self, user_id: int | None, surface: str) -> Credential:
        """The user's credential on ``surface``; ProviderUnavailableError when there is none any more."""
        for found in self.credentials(user_id):
            if found.surface == surface:
                return found
        raise ProviderUnavailableError(
            f"No {SURFACE_LABELS.get(surface, surface)} credential is configured for this generation any more.",
            code="UNAVAILABLE",
        )

    def forget(self) -> None:
        """Drop the cached credentials (after an admin or a user changed them)."""
        self._credentials.clear()

    # -- models -------------------------------------------------------------------

    def model_list(self, credential: Credential, *, fresh: bool = False) -> ModelList:
        """The credential's live model list (read now when ``fresh``, else from the shared cache)."""
        settings = credential.settings

        def read() -> frozenset[str]:
            return list_models(settings)

        if fresh:
            return self.live.refresh(credential.key, read)
        return self.live.get(credential.key, read)

    def refresh_models(self) -> int:
        """Read again the live lists of the studio's credentials and of every personal key; returns how many."""
        with self.sessions() as session:
            owners = personal_key_owners(session=session)
        seen: dict[str, Credential] = {}
        for user_id in (None, *owners):
            for credential in self.credentials(user_id):
                seen.setdefault(credential.key, credential)
        for credential in seen.values():
            self.model_list(credential, fresh=True)
        return len(seen)

    def forget_models(self, user_id: int | None, surface: str | None) -> None:
        """Google said a model is gone: read this credential's list again on next use."""
        try:
            self.live.forget(self.credential(user_id, surface or "gemini").key)
        except ProviderUnavailableError:
            return

    def offers(self, user_id: int | None = None) -> list[Offer]:
        """Models the user may pick now, in catalog order, each with the credential that serves it.

        A model is offered on a surface when the catalog drives it there, Google
        has not retired it there, and the credential's live list has it.
        """
        found: dict[str, Offer] = {}
        for credential in self.credentials(user_id):
            listed = self.model_list(credential).ids
            for spec in catalog.MODELS.values():
                if spec.id in found or credential.surface not in spec.surfaces:
                    continue
                if spec.retired_on(credential.surface) is None and spec.id in listed:
                    found[spec.id] = Offer(spec, credential.surface, credential.label)
        local = catalog.MODELS[catalog.OFFLINE_MODEL]
        found[local.id] = Offer(local, "local", SURFACE_LABELS["local"])
        return [found[m] for m in catalog.MODELS if m in found]

    def offer(self, user_id: int | None, model_id: str) -> Offer:
        """The offer of ``model_id`` to this user, or a ValidationError saying why there is none."""
        spec = catalog.get_model(model_id)
        for offer in self.offers(user_id):
            if offer.spec.id == spec.id:
                return offer
        if spec.retired and (spec.retired_everywhere or self._retired_where_offered(user_id, spec)):
            raise ValidationError(spec.retirement_message(), field="model")
        where = " or ".join(SURFACE_LABELS[s] for s in spec.surfaces)
        raise ValidationError(
            f"{spec.label} is not available with the credentials configured here (it needs {where} access, "
            "and Google must list it for that credential).",
            field="model",
        )

    def _retired_where_offered(self, user_id: int | None, spec: ModelSpec) -> bool:
        surfaces = {c.surface for c in self.credentials(user_id)}
        return any(spec.retired_on(s) for s in surfaces & set(spec.surfaces))

    def model_lists(self) -> list[CredentialModels]:
        """Each of the studio's credentials with the models it offers and when its list was read."""
        found = []
        for credential in self.credentials():
            listing = self.model_list(credential)
            offered = [
                spec.label
                for spec in catalog.MODELS.values()
                if credential.surface in spec.surfaces
                and spec.retired_on(credential.surface) is None
                and spec.id in listing.ids
            ]
            found.append(
                CredentialModels(
                    credential=credential.label,
                    surface_label=SURFACE_LABELS[credential.surface],
                    offered=offered,
                    read_at=datetime.fromtimestamp(listing.read_at, UTC) if listing.read_at else None,
                    error=listing.error,
                )
            )
        return found

    def unavailable_reasons(self, user_id: int | None = None) -> list[str]:
        """Credentials whose model list could not be read, and why (for the Create page)."""
        return [
            f"Could not read the models of {c.label}: {listing.error}"
            for c in self.credentials(user_id)
            if (listing := self.model_list(c)).error
        ]

    def usable(self) -> set[str]:
        """Backends offered to someone with the studio's own credentials (the offline renderer always)."""
        return {offer.spec.provider for offer in self.offers()}

    # -- providers ------------------------------------------------------------------

    def get(self, name: str, user_id: int | None = None, surface: str | None = None) -> VideoProvider:
        """The ``name`` backend on the user's credential for ``surface``, built once per credential.

        ``surface`` None (rows made before surfaces were recorded) means the old
        rule: Vertex when a project is configured, else the Gemini API key.
        """
        if name == "offline":
            settings, key = self.settings, "local"
        else:
            credentials = self.credentials(user_id)
            if surface is None:
                surface = "vertex" if any(c.surface == "vertex" for c in credentials) else "gemini"
            credential = self.credential(user_id, surface)
            settings, key = credential.settings, credential.key
        with self._lock:
            if (name, surface or "local", key) not in self._providers:
                self._providers[(name, surface or "local", key)] = make_provider(name, settings)
            return self._providers[(name, surface or "local", key)]

    def prompt_helper(self) -> PromptHelper:
        """The text model behind "Improve prompt"; ProviderUnavailableError says why there is none."""
        gemini = next((c for c in self.credentials() if c.surface == "gemini"), None)
        settings = gemini.settings if gemini else self.settings.model_copy(update={"gemini_api_key": ""})
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
