"""A local stand-in for Google's Veo REST API, for tests and demos. It is not Google.

``VeoStandIn`` is a small HTTP server that answers the unmodified google-genai client
(Gemini API and Vertex AI shapes) with real, locally rendered MP4s and with the faults a
test switches on. Nothing here calls Google or costs money. See ``standin/README.md``.

Never imported by ``core``, ``workers`` or ``pages``: only tests, benches and demos use it.
"""

from standin.veo import (
    DEFAULT_FILTER_REASON,
    ENHANCE_SUFFIX,
    FILE_URI,
    TEXT_MODELS,
    VEO_MODELS,
    Behaviour,
    Stats,
    VeoModel,
    VeoStandIn,
    enhance_prompt,
)

__all__ = [
    "DEFAULT_FILTER_REASON",
    "ENHANCE_SUFFIX",
    "FILE_URI",
    "TEXT_MODELS",
    "VEO_MODELS",
    "Behaviour",
    "Stats",
    "VeoModel",
    "VeoStandIn",
    "enhance_prompt",
]
