"""The stand-in's knobs (:class:`Behaviour`), how a knob value is checked, and its counters (:class:`Stats`).

Standard library only.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from standin.models import DEFAULT_GEMINI_MODELS, DEFAULT_RETIRED_MODELS, DEFAULT_VERTEX_MODELS, known_model
from standin.protocol import FAULT_MESSAGES

DEFAULT_SUPPORT_CODE = "58061214"
DEFAULT_FILTER_REASON = (
    "Your prompt could not be turned into a video because of our safety policies. "
    f"You have not been charged. Try rephrasing it. Support codes: {DEFAULT_SUPPORT_CODE}"
)
DEFAULT_ERROR_MESSAGE = "Video generation failed due to an internal error. Please try again."
OUTCOMES = ("success", "filtered", "error", "no_video", "expired")
RENDER_RESOLUTIONS = ("240p", "360p", "720p", "1080p")
"""Resolutions the offline renderer draws; anything else requested is drawn at 240p."""
FAULT_STATUSES = (408, 409, 429, 500, 503, 504)
"""What ``interaction_fault_status`` and ``webhook_fault_status`` may be."""
PROMPT_TRIGGERS = {"[[rai]]": "filtered", "[[fail]]": "error", "[[novideo]]": "no_video", "[[expire]]": "expired"}
"""Prompt keywords that override ``Behaviour.outcome`` for one job; ``[[rai:N]]`` is filtered with support code N,
and ``[[slow]]`` multiplies latency by 10."""
_RAI_CODE = re.compile(r"\[\[rai:(\d{1,12})\]\]")


@dataclass
class Behaviour:
    """Switches a test flips; outcome, latency and poll counts are fixed per job when it is submitted."""

    latency_seconds: float = 0.0
    """Time from submit until the operation or interaction may be done."""
    submit_answer_delay_seconds: float = 0.0
    """How long an accepted Veo submit waits before answering: the job exists, the answer is late (lost if the
    caller dies meanwhile)."""
    polls_before_done: int = 0
    """Polls answered "pending" before a Veo operation or a background interaction is done."""
    submit_429_count: int = 0
    """The next N Veo submits get 429 RESOURCE_EXHAUSTED (counts down)."""
    retry_delay_seconds: int = 2
    """The ``RetryInfo.retryDelay`` sent with 429s."""
    submit_5xx_count: int = 0
    """The next N Veo submits get ``submit_5xx_code`` (counts down)."""
    submit_5xx_code: int = 503
    poll_5xx_count: int = 0
    """The next N Veo polls get ``poll_5xx_code`` (counts down)."""
    poll_5xx_code: int = 503
    rpm_limit: int | None = None
    """Accepted Veo submits per rolling minute; more get 429. None means no limit."""
    max_concurrent: int | None = None
    """Veo operations not yet done; a submit beyond this gets 429. None means no limit."""
    outcome: str = "success"
    """success | filtered | error | no_video | expired."""
    filter_reasons: list[str] = field(default_factory=lambda: [DEFAULT_FILTER_REASON])
    support_code: str = DEFAULT_SUPPORT_CODE
    """The "Support codes:" number of a filtered interaction (``[[rai:N]]`` in a prompt overrides it)."""
    error_code: int = 13
    """gRPC code put in a failed operation's ``error``."""
    error_message: str = DEFAULT_ERROR_MESSAGE
    download_expired: bool = False
    """Every download answers 404, as after Google's 2-day retention."""
    retention_seconds: float = 2 * 24 * 3600
    """Age after which operations, interactions and their files answer 404."""
    redirect_downloads: bool = False
    """Downloads answer 302 to ``/blob/{id}``, which serves the bytes."""
    generate_content_fail: bool = False
    """``:generateContent`` answers 503."""
    render_resolution: str = "240p"
    """240p | 360p | 720p | 1080p, or "requested" to draw at the request's resolution when the renderer knows it."""

    gemini_models: list[str] = field(default_factory=lambda: list(DEFAULT_GEMINI_MODELS))
    """Veo/Omni ids the Gemini API serves (listed, and accepted by the Gemini routes); TEXT_MODELS come on top."""
    vertex_models: list[str] = field(default_factory=lambda: list(DEFAULT_VERTEX_MODELS))
    """Veo/Omni ids Vertex serves."""
    retired_models: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_RETIRED_MODELS))
    """Shut-down id → replacement: answered 404 "… is no longer available" unless the surface serves the id."""

    file_processing_polls: int = 1
    """``files.get`` reads of a new file that report PROCESSING before it is ACTIVE."""
    interaction_get_inline: bool = True
    """``GET interactions/{id}`` returns the video inline even when created with delivery "uri" (part 2 §2.4)."""
    interaction_fault_status: int | None = None
    """408 | 409 | 429 | 500 | 503 | 504: what the next ``interaction_fault_count`` interaction creates get."""
    interaction_fault_count: int = 0
    """How many ``POST …/interactions`` get ``interaction_fault_status`` (counts down)."""
    webhook_fault_status: int | None = None
    """The same for ``POST …/webhooks`` (webhook creation)."""
    webhook_fault_count: int = 0
    fault_after_create: bool = False
    """A faulted create still creates the interaction or webhook, then answers the fault (a lost answer)."""

    drop_deliveries: bool = False
    """Webhook deliveries are lost without being sent (the log says "dropped")."""
    delivery_delay_seconds: float = 0.0
    """Time from an event until its first delivery attempt."""
    delivery_retry_seconds: float = 1.0
    """Wait before the first retry of a failed delivery; it doubles for each further retry."""
    delivery_max_attempts: int = 5
    """Attempts per delivery, the first included."""
    disable_after_failures: int = 5
    """Consecutive failed attempts after which a webhook becomes ``disabled_due_to_failed_deliveries``."""

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def prompt_outcome(prompt: str, behaviour: Behaviour) -> tuple[str, str]:
    """The outcome a prompt asks for (its keyword, else the knob) and the support code of a filtered one."""
    coded = _RAI_CODE.search(prompt)
    if coded:
        return "filtered", coded.group(1)
    outcome = next((o for k, o in PROMPT_TRIGGERS.items() if k in prompt), behaviour.outcome)
    return outcome, behaviour.support_code


def latency_of(prompt: str, behaviour: Behaviour) -> float:
    """Seconds a job takes: the knob, times 10 for ``[[slow]]``."""
    return behaviour.latency_seconds * (10 if "[[slow]]" in prompt else 1)


_HINTS = typing.get_type_hints(Behaviour)
_CHOICES: dict[str, tuple[Any, ...]] = {
    "outcome": OUTCOMES,
    "render_resolution": (*RENDER_RESOLUTIONS, "requested"),
    "submit_5xx_code": tuple(c for c in FAULT_MESSAGES if c >= 500),
    "poll_5xx_code": tuple(c for c in FAULT_MESSAGES if c >= 500),
    "interaction_fault_status": FAULT_STATUSES,
    "webhook_fault_status": FAULT_STATUSES,
}
_AT_LEAST_ONE = ("delivery_max_attempts", "disable_after_failures")


def checked(name: str, value: Any) -> Any:
    """Return ``value`` fit for knob ``name``, or raise ValueError saying why not."""
    if name not in _HINTS:
        raise ValueError(f"unknown setting {name!r}; known: {', '.join(_HINTS)}")
    hint = _HINTS[name]
    allowed = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    choices = _CHOICES.get(name)
    if choices and value is not None and value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}, not {value!r}")
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if value is None and type(None) in allowed:
        return None
    if float in allowed and is_number and math.isfinite(value) and value >= 0:
        return float(value)
    if int in allowed and is_number and isinstance(value, int) and value >= (1 if name in _AT_LEAST_ONE else 0):
        return value
    if bool in allowed and isinstance(value, bool):
        return value
    if str in allowed and isinstance(value, str) and (value or name != "support_code"):
        return value
    if list[str] in allowed and isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        unknown = [v for v in value if name.endswith("_models") and not known_model(v)]
        if unknown:
            raise ValueError(
                f"{name}: no catalogue entry for {', '.join(unknown)} (see standin.VEO_MODELS, OMNI_MODELS)"
            )
        return list(value)
    pairs = value.items() if isinstance(value, dict) else [(None, None)]
    if dict[str, str] in allowed and all(isinstance(k, str) and isinstance(v, str) for k, v in pairs):
        return dict(value)
    raise ValueError(f"{name} cannot be {value!r} (expected {hint}, not negative)")


@dataclass(frozen=True)
class Stats:
    """A snapshot of what the stand-in has seen since start or the last reset."""

    submissions: int
    """Accepted Veo submits, i.e. operations created (each would be paid for)."""
    submissions_per_prompt: dict[str, int]
    submit_requests: int
    """Every Veo submit request that passed auth, accepted or not."""
    rejected_submits: dict[str, int]
    """Refused Veo submits by HTTP status, e.g. {"429": 2}."""
    seconds_generated: dict[str, float]
    """Per model: seconds × samples of operations and interactions that finished successfully."""
    polls: int
    """Veo polls."""
    downloads: int
    """Video bodies served."""
    generate_content_calls: int
    in_flight: int
    """Operations and interactions submitted and not yet done."""
    peak_in_flight: int
    posts: dict[str, int]
    """Every POST received, by route ("predictLongRunning", "interactions.create", "webhooks.create", …),
    counted before auth and faults."""
    interactions_created: int
    """Interactions created (each would be paid for), including those whose answer was a fault."""
    interactions_per_prompt: dict[str, int]
    interaction_gets: int
    file_gets: int
    """``files.get`` reads."""
    deliveries: dict[str, int]
    """Webhook delivery attempts by result: "delivered", "failed", "dropped", "abandoned"."""

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
