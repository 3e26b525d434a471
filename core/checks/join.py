"""Continuity across a join: a colour or exposure jump flagged, the last frame kept, the next image recoloured.

Owns ``check_join`` (lightness and a*b* histograms compared in CIELAB), ``last_frame_png`` (a
continuation's starting picture) and ``match_histogram`` (the next shot's first-frame image
recoloured to the last frame), with their thresholds. Imports OpenCV, PyAV, Pillow, numpy,
``core.errors``, ``.flags`` and ``.pictures``; never streamlit, pages or sqlalchemy.
"""

from __future__ import annotations

import io
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from core.checks.flags import Flag, FlagKind
from core.checks.pictures import Gray, first_frame, last_frame, shrink, u8
from core.errors import MediaError

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


def check_join(previous_path: Path, next_path: Path) -> Flag | None:
    """Flag a strong exposure or colour jump from the previous shot's last frame to the next's first.

    Exposure is the change of mean lightness (L*); colour is the earth mover's distance between
    the frames' a* histograms and between their b* histograms, combined as one shift in the
    a*b* plane. Meant for continuations, extensions and crossfades; a cut changes colour on purpose.
    """
    before = _channels(_lab(last_frame(previous_path)))  # L*, a*, b*
    after = _channels(_lab(first_frame(next_path)))
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
    return _png(u8(last_frame(path).to_ndarray(format="rgb24")))


def match_histogram(image_png: bytes, reference_png: bytes) -> bytes:
    """Recolour the image so each of its L*, a*, b* histograms matches the reference's; PNG out, same size.

    CIELAB rather than RGB: lightness and the two colour axes are nearly independent, so matching
    them one by one moves exposure and colour cast without inventing hues, as matching the
    correlated R, G and B channels one by one can. Accepts PNG or JPEG (what ``core.images`` keeps).
    """
    image = u8(cv2.cvtColor(_decode_image(image_png, "the image to recolour"), cv2.COLOR_RGB2LAB))
    reference = u8(cv2.cvtColor(_decode_image(reference_png, "the reference image"), cv2.COLOR_RGB2LAB))
    pairs = zip(_channels(image), _channels(reference), strict=True)
    channels = [cv2.LUT(mine, _matching_lut(mine, theirs)) for mine, theirs in pairs]
    return _png(u8(cv2.cvtColor(cv2.merge(channels), cv2.COLOR_LAB2RGB)))


def _lab(frame: av.VideoFrame) -> npt.NDArray[np.uint8]:
    """The frame shrunk to JOIN_LONG_SIDE by area averaging, in 8-bit CIELAB (OpenCV's scaling)."""
    rgb = shrink(u8(frame.to_ndarray(format="rgb24")), JOIN_LONG_SIDE)
    return u8(cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB))


def _channels(picture: Gray) -> list[Gray]:
    return [u8(channel) for channel in cv2.split(picture)]


def _histogram(channel: Gray) -> npt.NDArray[np.float64]:
    counts = cv2.calcHist([channel], [0], None, [256], [0, 256]).ravel().astype(np.float64)
    return counts / max(counts.sum(), 1.0)


def _earth_movers(a: Gray, b: Gray) -> float:
    """Earth mover's distance between two 8-bit channels' histograms, in channel units.

    In one dimension it is the area between the two cumulative histograms: how far, on average,
    each pixel's value has to move to turn one picture's distribution into the other's.
    """
    return float(np.abs(np.cumsum(_histogram(a)) - np.cumsum(_histogram(b))).sum())


def _matching_lut(source: Gray, reference: Gray) -> Gray:
    """The table that sends each source value to the reference value at the same cumulative share."""
    source_cdf, reference_cdf = np.cumsum(_histogram(source)), np.cumsum(_histogram(reference))
    return np.minimum(np.searchsorted(reference_cdf, source_cdf - 1e-9), 255).astype(np.uint8)


def _decode_image(data: bytes, what: str) -> npt.NDArray[np.uint8]:
    try:
        with Image.open(io.BytesIO(data), formats=["PNG", "JPEG"]) as image:
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except Exception as exc:  # any decoder failure means we cannot use these bytes
        raise MediaError(f"{what} is not a readable PNG or JPEG image ({type(exc).__name__}: {exc})") from exc


def _png(rgb: npt.NDArray[np.uint8]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buffer, format="PNG")
    return buffer.getvalue()
