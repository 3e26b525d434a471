"""Google's safety support codes, by category, and whether retrying can help.

A blocked Veo or Omni request carries a sentence ending in "Support codes:
NNNNNNNN". Google documents what each code means (docs.cloud.google.com,
Gemini Enterprise Agent Platform, "responsible AI" pages for Veo and for Gemini
image generation, read 2026-12-06); this table is that mapping, and the one
place that decides whether a creator is offered Retry. A retry sends the same
request again, so it is offered only where the block may not repeat (an
output-side filter can pass on another render); never for the categories
where Google refuses the subject itself (children, celebrities, personal data,
prohibited content). Imports nothing but the standard library.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class SafetyCategory:
    """One of Google's safety categories, as a creator reads it."""

    name: str
    advice: str
    """What to change, in plain words."""
    retry_can_help: bool


CHILD = SafetyCategory(
    "Children",
    "Google does not generate videos of children for this project. Describe adults, or leave people out.",
    retry_can_help=False,
)
CELEBRITY = SafetyCategory(
    "A well-known person",
    "Google does not generate photorealistic videos of prominent people. Describe a fictional person instead.",
    retry_can_help=False,
)
CATEGORIES: dict[str, SafetyCategory] = {
    "58061214": CHILD,
    "17301594": CHILD,
    "29310472": CELEBRITY,
    "15236754": CELEBRITY,
    "64151117": SafetyCategory(
        "A child or a well-known person",
        "Google blocked a photorealistic child or prominent person. Describe fictional adults instead.",
        retry_can_help=False,
    ),
    "42237218": SafetyCategory(
        "Video safety", "The rendered video broke a safety rule. Rephrase, or try again.", retry_can_help=True
    ),
    "62263041": SafetyCategory(
        "Dangerous content", "Remove dangerous acts or instructions from the prompt.", retry_can_help=False
    ),
    "57734940": SafetyCategory("Hate", "Remove hateful content from the prompt.", retry_can_help=False),
    "22137204": SafetyCategory("Hate", "The video was judged hateful. Rephrase, or try again.", retry_can_help=True),
    "42876398": SafetyCategory("Other", "Google blocked the prompt. Rephrase it.", retry_can_help=False),
    "74803281": SafetyCategory("Other", "The video was blocked. Rephrase, or try again.", retry_can_help=True),
    "29578790": SafetyCategory("Other", "The video was blocked. Rephrase, or try again.", retry_can_help=True),
    "39322892": SafetyCategory(
        "People or faces",
        "People or faces are not allowed with this project's settings. Leave people out, or try again.",
        retry_can_help=True,
    ),
    "92201652": SafetyCategory(
        "Personal information",
        "Remove personal data (card numbers, addresses, phone numbers) from the prompt.",
        retry_can_help=False,
    ),
    "89371032": SafetyCategory("Prohibited content", "Google does not make this content.", retry_can_help=False),
    "49114662": SafetyCategory("Prohibited content", "Google does not make this content.", retry_can_help=False),
    "72817394": SafetyCategory("Prohibited content", "Google does not make this content.", retry_can_help=False),
    "90789179": SafetyCategory("Sexual content", "Remove sexual content from the prompt.", retry_can_help=False),
    "63429089": SafetyCategory(
        "Sexual content", "The video was judged sexual. Rephrase, or try again.", retry_can_help=True
    ),
    "43188360": SafetyCategory(
        "Sexual content", "The video was judged sexual. Rephrase, or try again.", retry_can_help=True
    ),
    "78610348": SafetyCategory("Toxic language", "Remove toxic language from the prompt.", retry_can_help=False),
    "61493863": SafetyCategory("Violence", "Tone down the violence in the prompt.", retry_can_help=False),
    "56562880": SafetyCategory(
        "Violence", "The video was judged violent. Rephrase, or try again.", retry_can_help=True
    ),
    "32635315": SafetyCategory("Vulgar language", "Remove vulgar language from the prompt.", retry_can_help=False),
}
"""Support code → category (Google's published table; input-side codes block the prompt itself)."""

UNKNOWN = SafetyCategory(
    "Unspecified",
    "Google's safety filters blocked this request without saying why. Rephrase it, or try again.",
    retry_can_help=True,
)

_CODE = re.compile(r"\b(\d{8})\b")


def support_codes(reasons: Iterable[str]) -> list[str]:
    """The eight-digit support codes quoted in the provider's reasons, in order, without repeats."""
    found: list[str] = []
    for reason in reasons:
        for code in _CODE.findall(reason):
            if code not in found:
                found.append(code)
    return found


def categories(reasons: Iterable[str]) -> list[SafetyCategory]:
    """The categories the reasons name (``UNKNOWN`` when they quote no known code), without repeats."""
    found: list[SafetyCategory] = []
    for code in support_codes(reasons):
        category = CATEGORIES.get(code)
        if category is not None and category not in found:
            found.append(category)
    return found or [UNKNOWN]


def retry_can_help(reasons: Iterable[str]) -> bool:
    """Whether sending the same request again may pass: never when any named category forbids it."""
    return all(category.retry_can_help for category in categories(reasons))
