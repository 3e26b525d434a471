"""Quality and continuity checks on finished shots, with OpenCV: flags to show, never to block on.

Owns the reading of a shot's pictures for judgement: black or frozen stretches, a duration,
resolution or aspect ratio other than asked (a silent downgrade), a colour or exposure jump
at a join, the last frame as a PNG (for a continuation), and histogram matching of the next
shot's first-frame image to it. Files are opened only through ``core.media``'s MP4 reader
(its private ``_open``, so the same demuxer whitelist and truncation check apply).

Imports OpenCV, PyAV, Pillow and numpy at import time, so only workers import it; never the
web side of ``core`` (``core.studio``, ``core.services``, ``core.catalog``), streamlit, pages
or sqlalchemy.
"""

from __future__ import annotations

import io
import itertools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import av
import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from core.errors import MediaError
from core.media import _duration_seconds, _open, _video_stream, probe_video
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

JOIN_LONG_SIDE = 320
"""Pixels on the long side of the copies of the two frames compared at a join."""

JOIN_LUMA_JUMP = 12.0
"""Change of mean lightness (CIE L*, 0–100) across a join that is flagged: about one stop on a mid-tone scene.

Within offline previews, frames one second apart differ by at most 1.9.
"""

JOIN_COLOUR_SHIFT = 10.0
"""Colour shift across a join that is flagged, in CIE a*b* units (see :func:`check_join`).

Within offline previews, frames one second apart shift by at most 2.9; a cast of 20 RGB levels
(red up, blue down) measures 12–17, one of 10 levels 6–9.
"""


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


class Asked(Protocol):
    """What a shot asked for: ``GenerationParams``, a request, a movie's shot."""

    @property
    def duration_seconds(self) -> float: ...
    @property
    def resolution(self) -> str: ...
    @property
    def aspect_ratio(self) -> str: ...


_Gray = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class _Sample:
    seconds: float
    gray: _Gray
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


def check_join(previous_path: Path, next_path: Path) -> Flag | None:
    """Flag a strong exposure or colour jump from the previous shot's last frame to the next's first.

    Exposure is the change of mean lightness (L*); colour is the earth mover's distance between
    the frames' a* histograms and between their b* histograms, combined as one shift in the
    a*b* plane. Meant for continuations, extensions and crossfades; a cut changes colour on purpose.
    """
    before = _channels(_lab(_last_frame(previous_path)))  # L*, a*, b*
    after = _channels(_lab(_first_frame(next_path)))
    light_before, light_after = (float(cv2.mean(lab[0])[0]) * 100 / 255 for lab in (before, after))
    shift = float(np.hypot(_earth_movers(before[1], after[1]), _earth_movers(before[2], after[2])))
    if abs(light_after - light_before) > JOIN_LUMA_JUMP:
        change = "brighter" if light_after > light_before else "darker"
        also = " and its colours shift" if shift > JOIN_COLOUR_SHIFT else ""
        return Flag(
            kind=FlagKind.EXPOSURE_JUMP,
            message=(
                f"The picture gets much {change} at the join{also}: "
                f"brightness {light_before:.0f} → {light_after:.0f} out of 100."
            ),
            measured=light_after - light_before,
            expected=JOIN_LUMA_JUMP,
            unit="L* (0-100)",
        )
    if shift > JOIN_COLOUR_SHIFT:
        return Flag(
            kind=FlagKind.COLOUR_JUMP,
            message=(
                f"The colours shift sharply at the join (by {shift:.0f}; a smooth join stays under "
                f"{JOIN_COLOUR_SHIFT:g})."
            ),
            measured=shift,
            expected=JOIN_COLOUR_SHIFT,
            unit="a*b* (CIELAB)",
        )
    return None


def last_frame_png(path: Path) -> bytes:
    """Return the video's last frame, at full size, as a PNG."""
    return _png(_u8(_last_frame(path).to_ndarray(format="rgb24")))


def match_histogram(image_png: bytes, reference_png: bytes) -> bytes:
    """Recolour the image so each of its L*, a*, b* histograms matches the reference's; PNG out, same size.

    CIELAB rather than RGB: lightness and the two colour axes are nearly independent, so matching
    them one by one moves exposure and colour cast without inventing hues, as matching the
    correlated R, G and B channels one by one can. Accepts PNG or JPEG (what ``core.images`` keeps).
    """
    image = _u8(cv2.cvtColor(_decode_image(image_png, "the image to recolour"), cv2.COLOR_RGB2LAB))
    reference = _u8(cv2.cvtColor(_decode_image(reference_png, "the reference image"), cv2.COLOR_RGB2LAB))
    pairs = zip(_channels(image), _channels(reference), strict=True)
    channels = [cv2.LUT(mine, _matching_lut(mine, theirs)) for mine, theirs in pairs]
    return _png(_u8(cv2.cvtColor(cv2.merge(channels), cv2.COLOR_LAB2RGB)))


# --- the format: duration, resolution, aspect ratio ---------------------------------


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


# --- black and frozen stretches -----------------------------------------------------

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


def _small_gray(frame: av.VideoFrame) -> _Gray:
    """The frame's luma, shrunk by area averaging to SAMPLE_LONG_SIDE, in full range."""
    tv_range = frame.format.name in _YUV_8BIT and not frame.format.name.startswith("yuvj") and frame.color_range != 2
    if frame.format.name not in _YUV_8BIT:
        frame = frame.reformat(format="gray")
    plane = frame.planes[0]
    rows = np.frombuffer(memoryview(plane), np.uint8)[: plane.height * plane.line_size]
    luma = rows.reshape(plane.height, plane.line_size)[:, : plane.width]
    small = _shrink(luma, SAMPLE_LONG_SIDE)
    return _u8(cv2.LUT(small, _TV_TO_FULL) if tv_range else small)


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


def _changed(before: _Gray, after: _Gray) -> tuple[float, float]:
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


# --- frames and images --------------------------------------------------------------


def _first_frame(path: Path) -> av.VideoFrame:
    with _open(path) as container:
        for frame in container.decode(_video_stream(container)):
            return frame
    raise MediaError("the video file is corrupt or truncated: no frame could be decoded")


def _last_frame(path: Path) -> av.VideoFrame:
    """Seek to the keyframe before the last second, decode to the end, keep the latest frame."""
    with _open(path) as container:
        stream = _video_stream(container)
        duration = _duration_seconds(container, stream)
        if stream.time_base is not None:
            target = int(max(0.0, duration - 1.0) / stream.time_base) + (stream.start_time or 0)
            container.seek(target, stream=stream, backward=True, any_frame=False)
        last = _latest(container.decode(stream))
        if last is None:  # a seek that found no keyframe: read it all
            container.seek(0, stream=stream, backward=True, any_frame=False)
            last = _latest(container.decode(stream))
    if last is None:
        raise MediaError("the video file is corrupt or truncated: no frame could be decoded")
    return last


def _latest(frames: Iterator[av.VideoFrame]) -> av.VideoFrame | None:
    latest = None
    for frame in frames:
        if latest is None or (frame.pts or 0) >= (latest.pts or 0):
            latest = frame
    return latest


def _lab(frame: av.VideoFrame) -> npt.NDArray[np.uint8]:
    """The frame shrunk to JOIN_LONG_SIDE by area averaging, in 8-bit CIELAB (OpenCV's scaling)."""
    rgb = _shrink(_u8(frame.to_ndarray(format="rgb24")), JOIN_LONG_SIDE)
    return _u8(cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB))


def _shrink(picture: _Gray, long_side: int) -> _Gray:
    """A copy at most ``long_side`` pixels on its long side, each pixel the average of those it covers."""
    height, width = picture.shape[:2]
    scale = long_side / max(width, height)
    if scale >= 1:
        return picture.copy()
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return _u8(cv2.resize(picture, size, interpolation=cv2.INTER_AREA))


def _channels(picture: _Gray) -> list[_Gray]:
    return [_u8(channel) for channel in cv2.split(picture)]


def _histogram(channel: _Gray) -> npt.NDArray[np.float64]:
    counts = cv2.calcHist([channel], [0], None, [256], [0, 256]).ravel().astype(np.float64)
    return counts / max(counts.sum(), 1.0)


def _earth_movers(a: _Gray, b: _Gray) -> float:
    """Earth mover's distance between two 8-bit channels' histograms, in channel units.

    In one dimension it is the area between the two cumulative histograms: how far, on average,
    each pixel's value has to move to turn one picture's distribution into the other's.
    """
    return float(np.abs(np.cumsum(_histogram(a)) - np.cumsum(_histogram(b))).sum())


def _matching_lut(source: _Gray, reference: _Gray) -> _Gray:
    """The table that sends each source value to the reference value at the same cumulative share."""
    source_cdf, reference_cdf = np.cumsum(_histogram(source)), np.cumsum(_histogram(reference))
    return np.minimum(np.searchsorted(reference_cdf, source_cdf - 1e-9), 255).astype(np.uint8)


def _decode_image(data: bytes, what: str) -> npt.NDArray[np.uint8]:
    try:
        with Image.open(io.BytesIO(data), formats=["PNG", "JPEG"]) as image:
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except Exception as exc:  # any decoder failure means we cannot use these bytes
        raise MediaError(f"{what} is not a readable PNG or JPEG image ({type(exc).__name__}: {exc})") from exc


def _u8(array: object) -> _Gray:
    """The array as uint8 (OpenCV's and PyAV's stubs type their results loosely)."""
    return np.asarray(array, dtype=np.uint8)


def _png(rgb: npt.NDArray[np.uint8]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buffer, format="PNG")
    return buffer.getvalue()
