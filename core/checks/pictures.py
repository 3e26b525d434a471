"""A video's pictures read for judgement: its first and last frames, and pictures shrunk by area averaging.

Owns reading a frame from either end of a video, through ``core.media``'s MP4 reader (its
private ``_open``, so the same demuxer whitelist and truncation check apply), shrinking a
picture so encoder noise averages out, and the 8-bit arrays OpenCV and PyAV hand back.
Imports OpenCV, PyAV, numpy, ``core.media`` and ``core.errors``; never streamlit, pages or
sqlalchemy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

from core.errors import MediaError
from core.media import _duration_seconds, _open, _video_stream

Gray = npt.NDArray[np.uint8]
"""An 8-bit picture as OpenCV holds it: one channel (luma) or several (RGB, CIELAB)."""


def first_frame(path: Path) -> av.VideoFrame:
    with _open(path) as container:
        for frame in container.decode(_video_stream(container)):
            return frame
    raise MediaError("the video file is corrupt or truncated: no frame could be decoded")


def last_frame(path: Path) -> av.VideoFrame:
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


def shrink(picture: Gray, long_side: int) -> Gray:
    """A copy at most ``long_side`` pixels on its long side, each pixel the average of those it covers."""
    height, width = picture.shape[:2]
    scale = long_side / max(width, height)
    if scale >= 1:
        return picture.copy()
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return u8(cv2.resize(picture, size, interpolation=cv2.INTER_AREA))


def u8(array: object) -> Gray:
    """The array as uint8 (OpenCV's and PyAV's stubs type their results loosely)."""
    return np.asarray(array, dtype=np.uint8)
