"""What a caller of the assembly asks for and gets back: the clips and soundtrack to join, and the reports.

Owns ``Clip``, ``Soundtrack``, ``JoinReport``, ``AssemblyReport`` and the words they use (the
kinds of join, the video and audio paths). Plain dataclasses: imports only the standard
library; never PyAV, another module of this package, streamlit, pages, workers or sqlalchemy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

JoinKind = Literal["cut", "crossfade"]
VideoPath = Literal["stream copy", "windowed re-encode", "full re-encode"]
AudioPath = Literal["copy", "windowed re-encode", "re-encode", "none"]


@dataclass(frozen=True)
class Clip:
    """One shot's chosen take, and how it meets the clip before it (ignored for the first clip)."""

    path: Path
    join: JoinKind = "cut"
    crossfade_seconds: float = 0.0


@dataclass(frozen=True)
class Soundtrack:
    """Music the creator uploaded: it replaces the clips' sound, or is mixed under it."""

    path: Path
    mode: Literal["replace", "mix"] = "mix"
    level: float = 0.5
    """Linear gain on the soundtrack, 0–1 (0.5 is −6 dB)."""


@dataclass(frozen=True)
class JoinReport:
    """What happened at the join that leads into clip ``clip``."""

    clip: int
    """Index in the clips given (from 0) of the clip the join leads into; messages count from 1."""
    kind: JoinKind
    seconds: float
    """Crossfade length as assembled (whole frames); 0 for a cut."""
    at_seconds: float
    """Film time where the clip starts."""
    video: Literal["copied", "re-encoded"]
    window: tuple[float, float] | None
    """Film seconds encoded around the join, or None when both sides were copied."""


@dataclass(frozen=True)
class AssemblyReport:
    """How a film was assembled."""

    duration_seconds: float
    video_path: VideoPath
    audio_path: AudioPath
    reason: str
    width: int
    height: int
    fps: float
    joins: tuple[JoinReport, ...]
    normalised_clips: tuple[int, ...]
    """Indexes (from 0) of clips encoded whole: their size, frame rate or encoder differs from the film's."""
    reencoded_seconds: float
    """Seconds of video we encoded; the rest was copied."""
    copied_seconds: float
