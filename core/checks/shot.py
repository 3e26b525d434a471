"""A finished shot's checks (``check_shot``): the format asked for, and black or frozen stretches.

Owns the format checks (a duration, resolution or aspect ratio other than asked: a silent
downgrade), sampling a shot's frames in time as shrunk full-range luma, and the black and
frozen stretches found in the samples, with the thresholds of each. Imports OpenCV, PyAV,
numpy, ``core.media``, ``core.params``, ``core.errors``, ``.flags`` and ``.pictures``; never
streamlit, pages or sqlalchemy.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import av
import cv2
import numpy as np

from core.checks.flags import Flag, FlagKind
from core.checks.pictures import Gray, shrink, u8
from core.errors import MediaError
from core.media import _open, _video_stream, probe_video
from core.params import VideoFacts

SAMPLE_FPS = 8.0
"""Frames per second looked at by the black and frozen checks (every third frame at 24 fps).

Every frame is decoded (H.264 cannot skip), but only these are measured, so a stretch's edges
are known to one sampling interval (0.125 s).
"""

SAMPLE_LONG_SIDE = 160
"""Pixels on the long side of the grayscale copy each sampled frame is shrunk to (area average).

Averaging ~12×12 pixels of a 1080p frame into one removes encoder noise before frames are compared.
"""

BLACK_MEAN_LUMA = 16.0
"""A black frame's mean luma (full range, 0–255) is under this: 6% of white.

The darkest offline previews ("black", "night") sample at 18.6 and 22.2 at their darkest; the
lit-pixel rule below, not this margin, is what keeps dark scenes from reading as black.
"""

BLACK_BRIGHT_LUMA = 48
"""Luma (0–255) above which a pixel of the shrunk copy counts as lit."""

BLACK_MAX_BRIGHT_FRACTION = 0.001
"""A black frame has at most this share of lit pixels: a night sky with a moon is dark, not black.

One pixel in a thousand is a 45×45 patch at 1080p, something a viewer sees. The darkest offline
previews have 4–6% of their pixels lit; encoded black frames have none.
"""

BLACK_MIN_SECONDS = 0.5
"""Shortest black stretch flagged, in seconds; a quick dip through black is a transition."""

FROZEN_PIXEL_DIFF = 6
"""Luma levels (0–255) by which a pixel of the shrunk copies must change to count as changed."""

FROZEN_CHANGED_FRACTION = 0.002
"""Two samples show the same picture only if under this share of their pixels changed (local motion).

Identical frames re-encoded by x264 (CRF 18–35, keyframes between them) change at most 0.01% of
their pixels; the stillest offline preview changes at least 1.2% from one sample to the next.
"""

FROZEN_MEAN_DIFF = 0.5
"""Two samples show the same picture only if their mean absolute luma difference (0–255) is under this.

This catches slow global change (a long fade) that changes no pixel by much. Identical frames
re-encoded measure 0.02 (CRF 18–23) to 0.40 (CRF 35); ffmpeg's freezedetect uses 0.26 (-60 dB).
"""

FROZEN_MIN_SECONDS = 1.0
"""Shortest frozen stretch flagged, in seconds."""

DURATION_TOLERANCE_FRAMES = 2
"""A clip may differ from the asked duration by this many frames before it is flagged."""

RESOLUTION_TOLERANCE_PIXELS = 8
"""The short side may differ from the asked resolution's by this many pixels (1088 for 1080)."""

ASPECT_RATIO_TOLERANCE = 0.02
"""Relative difference of width/height from the asked ratio tolerated (854×480 is 16:9)."""

SHORT_SIDES = {"240p": 240, "360p": 360, "480p": 480, "720p": 720, "1080p": 1080, "1440p": 1440, "4k": 2160}
"""Pixels on the short side of the frame, by resolution label (9:16 720p is 720×1280)."""


class Asked(Protocol):
    """What a shot asked for: ``GenerationParams``, a request, a movie's shot."""

    @property
    def duration_seconds(self) -> float: ...
    @property
    def resolution(self) -> str: ...
    @property
    def aspect_ratio(self) -> str: ...


@dataclass(frozen=True)
class _Sample:
    seconds: float
    gray: Gray
    black: bool
    luma: float


def check_shot(path: Path, asked: Asked, *, facts: VideoFacts | None = None) -> list[Flag]:
    """Flag what is wrong with a finished shot: format first, then stretches in time order.

    ``facts`` is the shot's probe, when the caller has it already. Raises MediaError for an
    unreadable file, ValueError for a resolution or aspect ratio label it cannot read.
    """
    facts = facts or probe_video(path)
    flags = _check_format(facts, asked)
    samples = _sample(path)
    flags += _black_stretches(samples, facts.duration_seconds)
    flags += _frozen_stretches(samples, facts.duration_seconds)
    return flags


def _check_format(facts: VideoFacts, asked: Asked) -> list[Flag]:
    flags = []
    tolerance = DURATION_TOLERANCE_FRAMES / facts.fps
    if abs(facts.duration_seconds - asked.duration_seconds) > tolerance:
        flags.append(
            Flag(
                kind=FlagKind.DURATION,
                message=f"Asked for {asked.duration_seconds:g} s, got {facts.duration_seconds:.1f} s.",
                measured=facts.duration_seconds,
                expected=float(asked.duration_seconds),
                unit="seconds",
            )
        )
    short, wanted = min(facts.width, facts.height), _short_side(asked.resolution)
    if abs(short - wanted) > RESOLUTION_TOLERANCE_PIXELS:
        downgrade = ": a silent downgrade" if short < wanted else ""
        flags.append(
            Flag(
                kind=FlagKind.RESOLUTION,
                message=f"Asked for {asked.resolution}, got {_resolution_label(short)}{downgrade}.",
                measured=float(short),
                expected=float(wanted),
                unit="pixels on the short side",
            )
        )
    ratio, wanted_ratio = facts.width / facts.height, _ratio(asked.aspect_ratio)
    if abs(ratio / wanted_ratio - 1) > ASPECT_RATIO_TOLERANCE:
        flags.append(
            Flag(
                kind=FlagKind.ASPECT_RATIO,
                message=f"Asked for {asked.aspect_ratio}, got {_ratio_label(facts.width, facts.height)}.",
                measured=ratio,
                expected=wanted_ratio,
                unit="width / height",
            )
        )
    return flags


def _short_side(resolution: str) -> int:
    label = resolution.strip().lower()
    if label in SHORT_SIDES:
        return SHORT_SIDES[label]
    found = re.fullmatch(r"(\d{3,4})p", label)
    if not found:
        raise ValueError(f"unknown resolution {resolution!r}")
    return int(found.group(1))


def _resolution_label(short: int) -> str:
    for label, pixels in SHORT_SIDES.items():
        if abs(short - pixels) <= RESOLUTION_TOLERANCE_PIXELS:
            return label
    return f"{short}p"


def _ratio(aspect_ratio: str) -> float:
    found = re.fullmatch(r"\s*(\d+)\s*:\s*(\d+)\s*", aspect_ratio)
    if not found or not int(found.group(1)) or not int(found.group(2)):
        raise ValueError(f"unknown aspect ratio {aspect_ratio!r}")
    return int(found.group(1)) / int(found.group(2))


def _ratio_label(width: int, height: int) -> str:
    for label in ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9"):
        if abs(width / height / _ratio(label) - 1) <= ASPECT_RATIO_TOLERANCE:
            return f"{label} ({width}×{height})"
    return f"{width}×{height}"


# Limited-range ("TV") luma 16–235 stretched to 0–255, so the thresholds read the same for every file.
_TV_TO_FULL = np.clip(np.round((np.arange(256) - 16) * 255 / 219), 0, 255).astype(np.uint8)
_YUV_8BIT = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21"})


def _sample(path: Path) -> list[_Sample]:
    """Decode every frame; keep a shrunk full-range luma copy of one every 1/SAMPLE_FPS seconds."""
    samples: list[_Sample] = []
    with _open(path) as container:
        stream = _video_stream(container)
        stream.codec_context.thread_type = "AUTO"
        origin, due = stream.start_time or 0, 0.0
        for frame in container.decode(stream):
            if frame.pts is None or frame.time_base is None:
                continue
            seconds = float((frame.pts - origin) * frame.time_base)
            if seconds + 1e-3 < due:
                continue
            gray = _small_gray(frame)
            luma = float(cv2.mean(gray)[0])
            lit = np.count_nonzero(gray > BLACK_BRIGHT_LUMA) / gray.size
            black = bool(luma < BLACK_MEAN_LUMA and lit <= BLACK_MAX_BRIGHT_FRACTION)
            samples.append(_Sample(seconds, gray, black, luma))
            due = (math.floor(seconds * SAMPLE_FPS + 1e-3) + 1) / SAMPLE_FPS
    if not samples:
        raise MediaError("the video file is corrupt or truncated: no frame could be decoded")
    return samples


def _small_gray(frame: av.VideoFrame) -> Gray:
    """The frame's luma, shrunk by area averaging to SAMPLE_LONG_SIDE, in full range."""
    tv_range = frame.format.name in _YUV_8BIT and not frame.format.name.startswith("yuvj") and frame.color_range != 2
    if frame.format.name not in _YUV_8BIT:
        frame = frame.reformat(format="gray")
    plane = frame.planes[0]
    rows = np.frombuffer(memoryview(plane), np.uint8)[: plane.height * plane.line_size]
    luma = rows.reshape(plane.height, plane.line_size)[:, : plane.width]
    small = shrink(luma, SAMPLE_LONG_SIDE)
    return u8(cv2.LUT(small, _TV_TO_FULL) if tv_range else small)


def _black_stretches(samples: list[_Sample], duration: float) -> list[Flag]:
    flags = []
    for first, last in _runs([s.black for s in samples]):
        start, end = samples[first].seconds, _end(samples, last, duration)
        if end - start >= BLACK_MIN_SECONDS:
            flags.append(
                Flag(
                    kind=FlagKind.BLACK,
                    message=_stretch_sentence(start, end, duration, "are black", "The whole shot is black."),
                    measured=max(s.luma for s in samples[first : last + 1]),
                    expected=BLACK_MEAN_LUMA,
                    unit="mean luma (0-255)",
                    start_seconds=start,
                    end_seconds=end,
                )
            )
    return flags


def _frozen_stretches(samples: list[_Sample], duration: float) -> list[Flag]:
    """Runs of samples each the same picture as the one before; black ones are the black check's."""
    pairs = list(itertools.pairwise(samples))
    changed = [_changed(a.gray, b.gray) for a, b in pairs]
    same = [
        share < FROZEN_CHANGED_FRACTION and mean < FROZEN_MEAN_DIFF and not (a.black and b.black)
        for (share, mean), (a, b) in zip(changed, pairs, strict=True)
    ]
    flags = []
    for first, last in _runs(same):  # pair i joins samples i and i + 1
        start, end = samples[first].seconds, _end(samples, last + 1, duration)
        if end - start >= FROZEN_MIN_SECONDS:
            flags.append(
                Flag(
                    kind=FlagKind.FROZEN,
                    message=_stretch_sentence(start, end, duration, "are frozen", "The whole shot is a still picture."),
                    measured=max(share for share, _ in changed[first : last + 1]),
                    expected=FROZEN_CHANGED_FRACTION,
                    unit="share of pixels changed between samples",
                    start_seconds=start,
                    end_seconds=end,
                )
            )
    return flags


def _changed(before: Gray, after: Gray) -> tuple[float, float]:
    """The share of pixels changed by more than FROZEN_PIXEL_DIFF, and the mean absolute difference."""
    diff = cv2.absdiff(before, after)
    return np.count_nonzero(diff > FROZEN_PIXEL_DIFF) / diff.size, float(cv2.mean(diff)[0])


def _runs(marks: list[bool]) -> list[tuple[int, int]]:
    """(first, last) index of each run of True."""
    runs, first = [], None
    for i, mark in enumerate([*marks, False]):
        if mark and first is None:
            first = i
        elif not mark and first is not None:
            runs.append((first, i - 1))
            first = None
    return runs


def _end(samples: list[_Sample], last: int, duration: float) -> float:
    """Where a stretch whose last sample is ``last`` ends: the next sample, or the clip's end."""
    return samples[last + 1].seconds if last + 1 < len(samples) else max(duration, samples[last].seconds)


def _stretch_sentence(start: float, end: float, duration: float, verb: str, whole: str) -> str:
    if start <= 1 / SAMPLE_FPS and end >= duration - 1 / SAMPLE_FPS:
        return whole
    return f"Seconds {start:.1f}–{end:.1f} {verb}."
