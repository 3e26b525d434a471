"""The film's pictures for encoding: the clips' frames at the film's rate and size, blended across crossfades.

Owns decoding a clip from a given frame (at another frame rate, the frame nearest in time),
fitting a frame to the film's size and pixel format (scaled, centred on black), and the
dissolve of one frame into another. Imports the standard library, PyAV, numpy,
``core.errors``, ``.plan`` and ``.sources``; never streamlit, pages, workers or sqlalchemy.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import av
import numpy as np

from core.assembly.plan import Film
from core.assembly.sources import open_clip
from core.errors import MediaError


def film_frames(film: Film, first: int, end: int) -> Iterator[av.VideoFrame]:
    """The film's frames [first, end) at its size: the clips' frames, blended across crossfades."""
    readers: dict[int, Generator[av.VideoFrame, None, None]] = {}

    def frame(clip: int, k: int) -> av.VideoFrame:
        if clip not in readers:
            readers[clip] = _clip_frames(film, clip, k)
        return next(readers[clip])

    i = 0
    try:
        for f in range(first, end):
            while film.starts[i] + film.lengths[i] <= f:
                if i in readers:
                    readers.pop(i).close()
                i += 1
            k, after = f - film.starts[i], i + 1
            if after < len(film.starts) and film.starts[after] <= f:  # inside the crossfade into `after`
                p = f - film.starts[after]
                yield _blend(frame(i, k), frame(after, p), (p + 1) / (film.fades[after] + 1))
            else:
                yield frame(i, k)
    finally:
        for reader in readers.values():
            reader.close()


def _clip_frames(film: Film, clip: int, first: int) -> Generator[av.VideoFrame, None, None]:
    """Clip ``clip``'s frames from ``first`` to its film length, one per film frame, at the film's size.

    A clip at another frame rate shows, at each film frame, its frame nearest in time.
    """
    source, count = film.sources[clip], film.lengths[clip]
    half = 1 / (2 * film.fps)
    k = first
    with open_clip(source.path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if first:
            container.seek(source.start_pts + int(first / film.fps / source.time_base), stream=stream)
        held: av.VideoFrame | None = None
        for decoded in container.decode(stream):
            if decoded.pts is None:
                continue
            t = (decoded.pts - source.start_pts) * source.time_base
            while held is not None and k < count and k / film.fps + half < t:
                yield _fit(held, film)
                k += 1
            if k >= count:
                return
            held = decoded
    if held is None:
        raise MediaError(f"clip {clip + 1} ({source.path.name}): no frame could be decoded")
    while k < count:
        yield _fit(held, film)
        k += 1


def _fit(frame: av.VideoFrame, film: Film) -> av.VideoFrame:
    """The frame at the film's size and pixel format: scaled to fit, centred on black."""
    if (frame.width, frame.height, frame.format.name) == (film.width, film.height, "yuv420p"):
        return frame
    scale = min(film.width / frame.width, film.height / frame.height)
    w = min(film.width, max(2, round(frame.width * scale / 2) * 2))
    h = min(film.height, max(2, round(frame.height * scale / 2) * 2))
    small = frame.reformat(width=w, height=h, format="yuv420p", interpolation="BICUBIC")
    if (w, h) == (film.width, film.height):
        return small
    planes = small.to_ndarray().reshape(-1)
    y, u, v = planes[: w * h].reshape(h, w), planes[w * h : w * h * 5 // 4], planes[w * h * 5 // 4 :]
    canvas_y = np.full((film.height, film.width), 16, np.uint8)
    canvas_u = np.full((film.height // 2, film.width // 2), 128, np.uint8)
    canvas_v = canvas_u.copy()
    top, left = (film.height - h) // 4 * 2, (film.width - w) // 4 * 2
    canvas_y[top : top + h, left : left + w] = y
    canvas_u[top // 2 : (top + h) // 2, left // 2 : (left + w) // 2] = u.reshape(h // 2, w // 2)
    canvas_v[top // 2 : (top + h) // 2, left // 2 : (left + w) // 2] = v.reshape(h // 2, w // 2)
    packed = np.concatenate([canvas_y.reshape(-1), canvas_u.reshape(-1), canvas_v.reshape(-1)])
    return av.VideoFrame.from_ndarray(packed.reshape(film.height * 3 // 2, film.width), format="yuv420p")


def _blend(outgoing: av.VideoFrame, incoming: av.VideoFrame, weight: float) -> av.VideoFrame:
    """``incoming`` over ``outgoing`` at ``weight`` (0–1), plane by plane in YUV, like a dissolve."""
    mixed = outgoing.to_ndarray().astype(np.int16)
    step = incoming.to_ndarray().astype(np.int16)
    step -= mixed  # in place, in 16 bits: half the time of a float or 32-bit blend
    step *= round(weight * 128)
    step += 64
    step >>= 7
    mixed += step
    return av.VideoFrame.from_ndarray(mixed.astype(np.uint8), format="yuv420p")
