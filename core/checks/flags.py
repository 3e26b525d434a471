"""What a quality or continuity check reports: a ``Flag`` of a ``FlagKind``, with a sentence for the creator.

Owns the flags' fields and kinds, which the pipeline stores as JSON. Imports only the
standard library; never OpenCV, PyAV, another module of this package, streamlit, pages or
sqlalchemy.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FlagKind(StrEnum):
    """What a flag is about."""

    BLACK = "black"
    FROZEN = "frozen"
    DURATION = "duration"
    RESOLUTION = "resolution"
    ASPECT_RATIO = "aspect_ratio"
    EXPOSURE_JUMP = "exposure_jump"
    COLOUR_JUMP = "colour_jump"


@dataclass(frozen=True)
class Flag:
    """One thing a check noticed about a shot or a join, with a sentence for the creator."""

    kind: FlagKind
    message: str
    """A plain sentence: "Seconds 2.0–3.5 are black."."""
    measured: float
    """What was measured, in ``unit``: for a stretch its worst frame (brightest black, most changed frozen)."""
    expected: float
    """What was asked for, or the threshold the measurement crossed."""
    unit: str
    start_seconds: float | None = None
    """Where a stretch starts (its first sample); None for a flag about the whole clip or a join."""
    end_seconds: float | None = None
    """Where a stretch ends (the first sample after it, or the clip's end)."""
