"""Video providers behind one Protocol; adapters load lazily so the web process stays light.

``veo`` and ``omni`` (google-genai) are imported only when a provider, the
prompt helper or a model list is first needed, never by the web process's page
rendering.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import ProviderUnavailableError

if TYPE_CHECKING:
    from core.config import Settings
    from core.providers.base import PromptHelper, VideoProvider


def make_provider(name: str, settings: Settings) -> VideoProvider:
    """Build the backend called ``name`` on the one credential in ``settings``, importing its adapter on first use."""
    if name == "offline":
        from core.providers.offline import OfflineProvider

        return OfflineProvider()
    if name == "veo":
        from core.providers.veo import VeoProvider

        return VeoProvider.from_settings(settings)
    if name == "omni":
        from core.providers.omni import OmniProvider

        return OmniProvider.from_settings(settings)
    raise ProviderUnavailableError(f"provider {name!r} is not available", code="UNAVAILABLE")


def list_models(settings: Settings) -> frozenset[str]:
    """The model ids the one credential in ``settings`` may use now (``models.list()``); ProviderError if unread."""
    from core.providers.google import list_model_ids

    return list_model_ids(settings)


def make_prompt_helper(settings: Settings) -> PromptHelper:
    """Build the "improve prompt" helper, or say why there is none."""
    if not settings.gemini_api_key:
        raise ProviderUnavailableError(
            "Prompt help needs a Gemini API key (VEOGEN_GEMINI_API_KEY).", code="UNAVAILABLE"
        )
    from core.providers.veo import GeminiPromptHelper

    return GeminiPromptHelper.from_settings(settings)
