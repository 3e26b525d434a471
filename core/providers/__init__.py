"""Video providers behind one Protocol; adapters load lazily so the web process stays light.

``veo`` (google-genai) is imported only when a Veo provider or the prompt
helper is first built, never by the web process's page rendering.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import ProviderUnavailableError

if TYPE_CHECKING:
    from core.config import Settings
    from core.providers.base import PromptHelper, VideoProvider


def available_providers(settings: Settings) -> set[str]:
    """Return the names of the providers this studio can use now."""
    names = {"offline"}
    if settings.veo_configured and settings.provider != "offline":
        names.add("veo")
    return names


def make_provider(name: str, settings: Settings) -> VideoProvider:
    """Build the provider called ``name``, importing its adapter on first use."""
    if name == "offline":
        from core.providers.offline import OfflineProvider

        return OfflineProvider()
    if name == "veo":
        if not settings.veo_configured:
            raise ProviderUnavailableError(
                "Veo is not configured: set VEOGEN_GEMINI_API_KEY or VEOGEN_VERTEX_PROJECT.", code="UNAVAILABLE"
            )
        from core.providers.veo import VeoProvider

        return VeoProvider.from_settings(settings)
    raise ProviderUnavailableError(f"provider {name!r} is not available", code="UNAVAILABLE")


def make_prompt_helper(settings: Settings) -> PromptHelper:
    """Build the "improve prompt" helper, or say why there is none."""
    if not settings.gemini_api_key:
        raise ProviderUnavailableError(
            "Prompt help needs a Gemini API key (VEOGEN_GEMINI_API_KEY).", code="UNAVAILABLE"
        )
    from core.providers.veo import GeminiPromptHelper

    return GeminiPromptHelper.from_settings(settings)
