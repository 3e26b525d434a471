"""Media inspection: checksum, probe, thumbnail and poster of the MP4 files we store.

Owns every read of a video file's contents. Only local files we wrote ourselves are
opened, always through the file protocol and the MP4/MOV demuxer, so no other FFmpeg
demuxer or protocol ever runs on them.

Imports only the standard library, PyAV, Pillow, numpy and ``core.errors``; never
streamlit, pages, workers or sqlalchemy.
"""

from __future__ import annotations

import hashlib
import io
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import av
import av.container
import av.video.stream
from PIL import Image

from core.errors import MediaError
from core.params import VideoFacts

MP4_DEMUXER = "mov,mp4,m4a,3gp,3g2,mj2"
"""FFmpeg's name for the one demuxer we allow: ISO base media (MP4/MOV)."""

THUMBNAIL_JPEG_QUALITY = 85
"""JPEG quality (1–95) of thumbnails."""

POSTER_JPEG_QUALITY = 90
"""JPEG quality (1–95) of posters."""

_CORRUPT = "the video file is corrupt or truncated"


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of the file's bytes, read in chunks."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def probe_video(path: Path) -> VideoFacts:
    """Read a video's metadata, decode its first frame, and return what was found.

    Raises MediaError when the file is missing, is not a readable MP4, is truncated,
    has no video stream or no duration, or its first frame cannot be decoded.
    """
    with _open(path) as container:
        stream = _video_stream(container)
        duration = _duration_seconds(container, stream)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate or rate <= 0:
            raise MediaError(f"{_CORRUPT}: the video stream has no frame rate")
        width, height = stream.codec_context.width, stream.codec_context.height
        if width <= 0 or height <= 0:
            raise MediaError(f"{_CORRUPT}: the video stream has no picture size")
        codec = stream.codec_context.name
        has_audio = len(container.streams.audio) > 0
        _first_frame(container, stream)
    return VideoFacts(
        duration_seconds=duration,
        fps=float(rate),
        width=width,
        height=height,
        codec=codec,
        has_audio=has_audio,
        size_bytes=path.stat().st_size,
        sha256=sha256_file(path),
    )


def make_thumbnail(path: Path, *, max_width: int = 320, at_fraction: float = 0.5) -> bytes:
    """Return a JPEG of the frame near ``at_fraction`` of the video, at most ``max_width`` wide.

    Costs one seek to the keyframe before that point and one decoded frame.
    """
    if max_width < 1:
        raise ValueError("max_width must be at least 1")
    if not 0.0 <= at_fraction <= 1.0:
        raise ValueError("at_fraction must be between 0 and 1")
    with _open(path) as container:
        stream = _video_stream(container)
        duration = _duration_seconds(container, stream)
        if stream.time_base is None:
            raise MediaError(f"{_CORRUPT}: the video stream has no time base")
        target = int(at_fraction * duration / stream.time_base) + (stream.start_time or 0)
        try:
            container.seek(target, stream=stream, backward=True, any_frame=False)
        except av.FFmpegError as exc:
            raise MediaError(f"{_CORRUPT}: cannot seek ({exc})") from exc
        image = _first_frame(container, stream)
    if image.width > max_width:
        height = max(1, round(image.height * max_width / image.width))
        image = image.resize((max_width, height), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return _jpeg(image, THUMBNAIL_JPEG_QUALITY)


def make_poster(path: Path) -> bytes:
    """Return the first frame of the video at full size as a JPEG."""
    with _open(path) as container:
        image = _first_frame(container, _video_stream(container))
    return _jpeg(image, POSTER_JPEG_QUALITY)


@contextmanager
def _open(path: Path) -> Iterator[av.container.InputContainer]:
    """Open a local MP4 for reading, turning every failure into a MediaError."""
    if not path.is_file():
        raise MediaError(f"the video file does not exist: {path.name}")
    # "file:" plus the whitelist keep FFmpeg from treating any part of the path as
    # another protocol; the explicit format stops demuxer probing.
    try:
        container = av.open(
            "file:" + str(path.resolve()),
            format=MP4_DEMUXER,
            container_options={"protocol_whitelist": "file"},
        )
    except av.FFmpegError as exc:
        raise MediaError(f"{_CORRUPT}: FFmpeg cannot read it ({_reason(exc)})") from exc
    except OSError as exc:
        raise MediaError(f"{_CORRUPT}: {exc.strerror or exc}") from exc
    try:
        _check_boxes(path, path.stat().st_size)
        yield container
    except av.FFmpegError as exc:
        raise MediaError(f"{_CORRUPT}: FFmpeg cannot read it ({_reason(exc)})") from exc
    finally:
        container.close()


def _reason(exc: av.FFmpegError) -> str:
    # str(exc) repeats the full path; the reason alone is what a person needs.
    return str(exc.strerror or exc)


def _check_boxes(path: Path, size_bytes: int) -> None:
    """Walk the top-level MP4 boxes and fail if one claims more bytes than the file has.

    FFmpeg happily reads the first half of a fast-start MP4 (the index is complete,
    only the media data is cut), so truncation has to be caught here.
    """
    offset = 0
    with path.open("rb") as f:
        while size_bytes - offset >= 8:
            f.seek(offset)
            header = f.read(16)
            box_size, box_type = struct.unpack(">I4s", header[:8])
            name = box_type.decode("ascii", "replace") if box_type.isalnum() else "?"
            if box_size == 1:
                if len(header) < 16:
                    raise MediaError(f"{_CORRUPT}: the '{name}' box header is cut off")
                box_size = struct.unpack(">Q", header[8:16])[0]
            elif box_size == 0:  # the box runs to the end of the file
                return
            if box_size < 8:
                raise MediaError(f"{_CORRUPT}: the '{name}' box at byte {offset} is malformed")
            if offset + box_size > size_bytes:
                raise MediaError(
                    f"{_CORRUPT}: the '{name}' box needs {offset + box_size} bytes but the file has only {size_bytes}"
                )
            offset += box_size


def _video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream:
    if not container.streams.video:
        raise MediaError(f"{_CORRUPT}: it contains no video stream")
    return container.streams.video[0]


def _duration_seconds(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    duration: float | None = None
    if stream.duration and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    elif container.duration:
        duration = float(Fraction(container.duration, av.time_base))
    if not duration or duration <= 0:
        raise MediaError(f"{_CORRUPT}: its duration is zero or unknown")
    return duration


def _first_frame(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> Image.Image:
    """Decode the next frame of ``stream`` (the first one, unless we have seeked)."""
    try:
        for frame in container.decode(stream):
            return frame.to_image()
    except av.FFmpegError as exc:
        raise MediaError(f"{_CORRUPT}: the first frame cannot be decoded ({_reason(exc)})") from exc
    raise MediaError(f"{_CORRUPT}: no frame could be decoded")


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
