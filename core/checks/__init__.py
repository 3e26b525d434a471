"""Quality and continuity checks on finished shots, with OpenCV: flags to show, never to block on.

Owns the reading of a shot's pictures for judgement: black or frozen stretches, a duration,
resolution or aspect ratio other than asked (a silent downgrade), a colour or exposure jump
at a join, the last frame as a PNG (for a continuation), and histogram matching of the next
shot's first-frame image to it. Files are opened only through ``core.media``'s MP4 reader
(its private ``_open``, so the same demuxer whitelist and truncation check apply).

The package, a module for each part; each imports only the ones listed before it:

- ``flags``: what a check reports (``Flag``, ``FlagKind``);
- ``pictures``: a video's first and last frames, and pictures shrunk by area averaging;
- ``shot``: ``check_shot``: the format asked for, black and frozen stretches;
- ``join``: ``check_join``, ``last_frame_png`` and ``match_histogram``: continuity across a join;
- this module: the public API.

The package imports OpenCV, PyAV, Pillow and numpy at import time, so only workers import
it; never the web side of ``core`` (``core.studio``, ``core.services``, ``core.catalog``),
streamlit, pages or sqlalchemy.
"""

from __future__ import annotations

from core.checks.flags import Flag, FlagKind
from core.checks.join import (
    JOIN_COLOUR_SHIFT,
    JOIN_LONG_SIDE,
    JOIN_LUMA_JUMP,
    check_join,
    last_frame_png,
    match_histogram,
)
from core.checks.shot import (
    ASPECT_RATIO_TOLERANCE,
    BLACK_BRIGHT_LUMA,
    BLACK_MAX_BRIGHT_FRACTION,
    BLACK_MEAN_LUMA,
    BLACK_MIN_SECONDS,
    DURATION_TOLERANCE_FRAMES,
    FROZEN_CHANGED_FRACTION,
    FROZEN_MEAN_DIFF,
    FROZEN_MIN_SECONDS,
    FROZEN_PIXEL_DIFF,
    RESOLUTION_TOLERANCE_PIXELS,
    SAMPLE_FPS,
    SAMPLE_LONG_SIDE,
    SHORT_SIDES,
    Asked,
    check_shot,
)

__all__ = [
    "ASPECT_RATIO_TOLERANCE",
    "BLACK_BRIGHT_LUMA",
    "BLACK_MAX_BRIGHT_FRACTION",
    "BLACK_MEAN_LUMA",
    "BLACK_MIN_SECONDS",
    "DURATION_TOLERANCE_FRAMES",
    "FROZEN_CHANGED_FRACTION",
    "FROZEN_MEAN_DIFF",
    "FROZEN_MIN_SECONDS",
    "FROZEN_PIXEL_DIFF",
    "JOIN_COLOUR_SHIFT",
    "JOIN_LONG_SIDE",
    "JOIN_LUMA_JUMP",
    "RESOLUTION_TOLERANCE_PIXELS",
    "SAMPLE_FPS",
    "SAMPLE_LONG_SIDE",
    "SHORT_SIDES",
    "Asked",
    "Flag",
    "FlagKind",
    "check_join",
    "check_shot",
    "last_frame_png",
    "match_histogram",
]
