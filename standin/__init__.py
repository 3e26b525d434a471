"""A local stand-in for Google's video APIs, for tests and demos. It is not Google.

``VeoStandIn`` is a small HTTP server that answers the unmodified google-genai client (Gemini API and
Vertex AI shapes): Veo's long-running operations, Gemini Omni Flash through the Interactions API, Files,
models, a text model and the WebhookService, with real, locally rendered MP4s, signed webhook deliveries
and the faults a test switches on. Nothing here calls Google or costs money. See ``standin/README.md``.

Never imported by ``core``, ``workers`` or ``pages``: only tests, benches and demos use it.
"""

from standin.behaviour import DEFAULT_FILTER_REASON, DEFAULT_SUPPORT_CODE, Behaviour, Stats
from standin.models import (
    DEFAULT_GEMINI_MODELS,
    DEFAULT_RETIRED_MODELS,
    DEFAULT_VERTEX_MODELS,
    ENHANCE_SUFFIX,
    LEGACY_GEMINI_VEO,
    OMNI_MODELS,
    TEXT_MODELS,
    VEO_MODELS,
    OmniModel,
    VeoModel,
    enhance_prompt,
)
from standin.oauth import service_account_file
from standin.protocol import FILE_URI
from standin.server import VeoStandIn
from standin.signing import SentDelivery, WebhookVerificationError, send_delivery, sign, verify

__all__ = [
    "DEFAULT_FILTER_REASON",
    "DEFAULT_GEMINI_MODELS",
    "DEFAULT_RETIRED_MODELS",
    "DEFAULT_SUPPORT_CODE",
    "DEFAULT_VERTEX_MODELS",
    "ENHANCE_SUFFIX",
    "FILE_URI",
    "LEGACY_GEMINI_VEO",
    "OMNI_MODELS",
    "TEXT_MODELS",
    "VEO_MODELS",
    "Behaviour",
    "OmniModel",
    "SentDelivery",
    "Stats",
    "VeoModel",
    "VeoStandIn",
    "WebhookVerificationError",
    "enhance_prompt",
    "send_delivery",
    "service_account_file",
    "sign",
    "verify",
]
