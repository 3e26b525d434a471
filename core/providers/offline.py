"""OfflineProvider: a deterministic local preview renderer. It is not AI.

It draws a real H.264 MP4 from the prompt — a gradient coloured by the prompt's words,
a few moving shapes, the words themselves revealed one by one and a caption saying
what it is — so the whole studio works with no credentials and no cost. The same
request always gives the same bytes.

The operation name encodes the whole request, so the provider keeps no state: any
worker on any machine can poll or fetch any operation.

Imports the standard library, numpy, PyAV, Pillow, ``core.providers.base`` and
``core.errors``; never streamlit, pages, workers or sqlalchemy.
"""

from __future__ import annotations

import base64
import binascii
import colorsys
import hashlib
import json
import math
import os
import re
import tempfile
import unicodedata
import zlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from core.errors import ProviderError
from core.providers.base import GenerationRequest, OperationState, ProviderVideo

FPS = 24
"""Frames per second of every rendered video."""

SHORT_SIDE_PIXELS = {"240p": 240, "360p": 360, "720p": 720, "1080p": 1080}
"""Pixels on the short side of the frame, by resolution name."""

ASPECT_RATIOS = {"16:9": (16, 9), "9:16": (9, 16)}
"""Width:height of each supported aspect ratio."""

MAX_DURATION_SECONDS = 60
"""Longest video the renderer accepts, in seconds."""

MAX_SAMPLE_COUNT = 4
"""Most videos one request may ask for."""

CAPTION = "offline preview · not AI"
"""Drawn in a corner of every frame so nobody mistakes a preview for a Veo video."""

OPERATION_PREFIX = "offline/"

_MAX_PAYLOAD_BYTES = 256 * 1024  # decompression cap, so a forged name cannot balloon
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
# What Pillow's built-in font can draw; anything else is shown as "?".
_FONT_CHARS = frozenset("".join(chr(c) for c in range(32, 127)) + "·‘’“”…«»©°")
_FOLD = str.maketrans({"—": "-", "–": "-", "\u2212": "-", "\u00a0": " "})
# Colours a prompt may name, so "a red car" looks red.
# fmt: off
_NAMED_COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (200, 40, 40), "orange": (235, 130, 30), "yellow": (230, 200, 40), "green": (50, 160, 70),
    "blue": (40, 90, 210), "purple": (130, 60, 180), "violet": (140, 80, 200), "pink": (230, 110, 170),
    "brown": (120, 75, 40), "black": (20, 20, 24), "white": (235, 235, 235), "grey": (128, 128, 128),
    "gray": (128, 128, 128), "gold": (212, 175, 55), "silver": (190, 195, 200), "teal": (30, 140, 140),
    "cyan": (40, 200, 220), "sunset": (240, 110, 60), "ocean": (20, 90, 150), "forest": (30, 100, 50),
    "night": (15, 20, 60), "fire": (230, 80, 20), "snow": (225, 235, 245), "desert": (210, 170, 110),
}
# fmt: on


class OfflineProvider:
    """Renders previews locally and instantly; free, deterministic, and not AI."""

    name = "offline"
    label = "Offline preview renderer (local, not AI)"
    idempotent_submit = True

    def submit(self, request: GenerationRequest) -> str:
        """Return the operation name that encodes ``request``; nothing is rendered yet."""
        problem = _request_problem(request)
        if problem:
            raise ProviderError(problem, code="INVALID_ARGUMENT", retryable=False)
        return encode_operation_name(request)

    def poll(self, operation_name: str) -> OperationState:
        """Report the operation as done, with one video per requested sample."""
        try:
            request = decode_operation_name(operation_name)
        except ValueError:
            return OperationState(kind="failed", code="NOT_FOUND", message="unknown offline operation", retryable=False)
        return OperationState(
            kind="succeeded",
            videos=tuple(
                ProviderVideo(uri=f"{operation_name}#{i}", mime_type="video/mp4") for i in range(request.sample_count)
            ),
        )

    def fetch(self, video: ProviderVideo, dest: Path) -> None:
        """Render the sample named by ``video.uri`` into ``dest`` as an MP4."""
        operation_name, _, index_text = video.uri.rpartition("#")
        try:
            request = decode_operation_name(operation_name)
            index = int(index_text)
        except ValueError as exc:
            raise ProviderError("unknown offline video", code="NOT_FOUND") from exc
        if not 0 <= index < request.sample_count:
            raise ProviderError("unknown offline video", code="NOT_FOUND")
        render_video(request, index, dest)


def encode_operation_name(request: GenerationRequest) -> str:
    """Return ``offline/`` plus the request as compressed, URL-safe base64 JSON."""
    payload = json.dumps(request.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    token = base64.urlsafe_b64encode(zlib.compress(payload, 9)).rstrip(b"=")
    return OPERATION_PREFIX + token.decode("ascii")


def decode_operation_name(operation_name: str) -> GenerationRequest:
    """Return the request an operation name encodes; raise ValueError if it encodes none."""
    token = operation_name.removeprefix(OPERATION_PREFIX)
    if token == operation_name or not _TOKEN.fullmatch(token):
        raise ValueError("not an offline operation name")
    try:
        packed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        inflater = zlib.decompressobj()
        payload = inflater.decompress(packed, _MAX_PAYLOAD_BYTES)
        if not inflater.eof or inflater.unconsumed_tail:
            raise ValueError("payload is truncated or too large")
        data = json.loads(payload.decode("utf-8"))
    except (binascii.Error, zlib.error, UnicodeDecodeError, RecursionError) as exc:
        raise ValueError("not an offline operation name") from exc
    if not isinstance(data, dict):
        raise ValueError("payload is not an object")
    try:
        request = GenerationRequest.from_dict(data)
    except TypeError as exc:
        raise ValueError("payload lacks request fields") from exc
    problem = _request_problem(request)
    if problem:
        raise ValueError(problem)
    return request


def frame_size(resolution: str, aspect_ratio: str) -> tuple[int, int]:
    """Return (width, height) for a resolution name and aspect ratio; both even."""
    short = SHORT_SIDE_PIXELS[resolution]
    w, h = ASPECT_RATIOS[aspect_ratio]
    long_side = round(short * max(w, h) / min(w, h) / 2) * 2
    return (long_side, short) if w >= h else (short, long_side)


def render_video(request: GenerationRequest, sample_index: int, dest: Path) -> None:
    """Render sample ``sample_index`` of ``request`` into ``dest`` as an H.264 MP4.

    Writes to a temporary file beside ``dest`` and renames it, so ``dest`` is never
    left half-written.
    """
    problem = _request_problem(request)
    if problem:
        raise ProviderError(problem, code="INVALID_ARGUMENT")
    scene = _Scene.build(request, sample_index, *frame_size(request.resolution, request.aspect_ratio))
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    try:
        _encode(scene, request.duration_seconds * FPS, Path(tmp_name))
        os.replace(tmp_name, dest)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _request_problem(request: GenerationRequest) -> str:
    """Say what is wrong with the request for this renderer, or return ""."""
    r = request
    for field in ("model", "prompt", "negative_prompt", "aspect_ratio", "resolution"):
        if not isinstance(getattr(r, field), str):
            return f"{field} must be text"
    if r.resolution not in SHORT_SIDE_PIXELS:
        return f"resolution must be one of {', '.join(SHORT_SIDE_PIXELS)}, not {r.resolution!r}"
    if r.aspect_ratio not in ASPECT_RATIOS:
        return f"aspect_ratio must be one of {', '.join(ASPECT_RATIOS)}, not {r.aspect_ratio!r}"
    if not _is_int(r.duration_seconds) or not 1 <= r.duration_seconds <= MAX_DURATION_SECONDS:
        return f"duration_seconds must be a whole number from 1 to {MAX_DURATION_SECONDS}"
    if not _is_int(r.sample_count) or not 1 <= r.sample_count <= MAX_SAMPLE_COUNT:
        return f"sample_count must be a whole number from 1 to {MAX_SAMPLE_COUNT}"
    if r.seed is not None and not _is_int(r.seed):
        return "seed must be a whole number or empty"
    return ""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- rendering ---------------------------------------------------------------------

_U8 = npt.NDArray[np.uint8]
_U16 = npt.NDArray[np.uint16]
_RGB = tuple[int, int, int]


@dataclass(frozen=True)
class _Layer:
    """An RGBA picture ready for fast blending: colour×alpha and 256−alpha, both uint16."""

    premultiplied: _U16
    inverse_alpha: _U16

    @classmethod
    def from_image(cls, image: Image.Image) -> _Layer:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.uint32)
        alpha = (rgba[..., 3:4] * 257 + 128) >> 8  # 0..255 → 0..256, so >> 8 divides
        return cls((rgba[..., :3] * alpha).astype(np.uint16), (256 - alpha).astype(np.uint16))

    @property
    def size(self) -> tuple[int, int]:
        return int(self.premultiplied.shape[1]), int(self.premultiplied.shape[0])

    def blend(self, frame: _U8, x: int, y: int, rows: slice = slice(None), cols: int = -1) -> None:
        """Draw rows ``rows`` and the first ``cols`` columns of this layer with its top-left at (x, y)."""
        width, height = self.size
        src = range(height)[rows]
        c1 = width if cols < 0 else min(cols, width)
        fy0, fx0 = max(y, 0), max(x, 0)
        fy1, fx1 = min(y + len(src), frame.shape[0]), min(x + c1, frame.shape[1])
        if fy0 >= fy1 or fx0 >= fx1:
            return
        sy, sx = src.start + fy0 - y, fx0 - x
        cut = (slice(sy, sy + fy1 - fy0), slice(sx, sx + fx1 - fx0))
        region = frame[fy0:fy1, fx0:fx1]
        region[...] = (self.premultiplied[cut] + region * self.inverse_alpha[cut]) >> 8


@dataclass(frozen=True)
class _Shape:
    layer: _Layer
    start: tuple[float, float]
    velocity: tuple[float, float]  # pixels per second

    def position(self, t: float, width: int, height: int) -> tuple[int, int]:
        """Bounce off the frame edges: each coordinate is a triangle wave of time."""
        w, h = self.layer.size
        return (
            _bounce(self.start[0] + self.velocity[0] * t, width - w),
            _bounce(self.start[1] + self.velocity[1] * t, height - h),
        )


@dataclass(frozen=True)
class _Scene:
    """Everything drawn once; each frame is then a crop plus a few blends."""

    width: int
    height: int
    duration: float
    background: _U8  # wider than the frame, panned across it
    shapes: tuple[_Shape, ...]
    text: _Layer | None
    text_box: tuple[int, int, int]  # x, y, visible height
    line_height: int
    word_ends: tuple[tuple[int, int], ...]  # per word: (line, right edge in the text layer)
    labels: tuple[tuple[_Layer, int, int], ...]  # layer, x, y

    @classmethod
    def build(cls, request: GenerationRequest, index: int, width: int, height: int) -> _Scene:
        key = f"{request.prompt}|{request.negative_prompt}|{request.seed}|{index}"
        rng = np.random.default_rng(int.from_bytes(hashlib.sha256(key.encode()).digest(), "big"))
        short = min(width, height)
        words = request.prompt.split()
        palette = _palette(words) or [_word_colour(request.prompt)]
        background = _gradient(palette, rng, width + width // 5, height)

        shapes = []
        for _ in range(int(rng.integers(3, 7))):
            size = int(short * rng.uniform(0.1, 0.24))
            colour = _brighten(palette[int(rng.integers(len(palette)))])
            image = _shape_image(int(rng.integers(4)), size, colour)
            speed, angle = short * rng.uniform(0.2, 0.5), rng.uniform(0, 2 * math.pi)
            start = (rng.uniform(0, width - size), rng.uniform(0, height - size))
            velocity = (speed * math.cos(angle), speed * math.sin(angle))
            shapes.append(_Shape(_Layer.from_image(image), start, velocity))

        margin, top = max(8, width // 16), int(height * 0.14)
        text, word_ends, line_height = _text_layer(words, max(12, round(short * 0.075)), width - 2 * margin)

        small, pad = _font(max(10, round(short * 0.042))), max(4, short // 40)
        seed = "auto" if request.seed is None else str(request.seed)
        info = _label_image(f"sample {index + 1}/{request.sample_count} · seed {seed}", small)
        caption = _label_image(CAPTION, small)
        return cls(
            width=width,
            height=height,
            duration=float(request.duration_seconds),
            background=background,
            shapes=tuple(shapes),
            text=text,
            text_box=(margin, top, int(height * 0.86) - top),
            line_height=line_height,
            word_ends=word_ends,
            labels=(
                (_Layer.from_image(info), pad, pad),
                (_Layer.from_image(caption), width - caption.width - pad, height - caption.height - pad),
            ),
        )

    def draw(self, frame_index: int) -> _U8:
        t = frame_index / FPS
        progress = t / self.duration
        pan = int((self.background.shape[1] - self.width) * progress)
        frame = self.background[:, pan : pan + self.width].copy()
        for shape in self.shapes:
            shape.layer.blend(frame, *shape.position(t, self.width, self.height))
        self._draw_text(frame, progress)
        for layer, x, y in self.labels:
            layer.blend(frame, x, y)
        return frame

    def _draw_text(self, frame: _U8, progress: float) -> None:
        """Reveal the words one by one (all shown by 80% of the video), scrolling if long."""
        if self.text is None:
            return
        shown = min(len(self.word_ends), 1 + int(progress / 0.8 * len(self.word_ends)))
        line, right = self.word_ends[shown - 1]
        x, y, view = self.text_box
        lh, layer_height = self.line_height, self.text.size[1]
        top = min(max(0, (line + 1) * lh - view), max(0, layer_height - view))  # scroll offset
        current = line * lh
        self.text.blend(frame, x, y, slice(top, min(current, top + view)))  # lines already complete
        if current < top + view:
            cut = slice(max(current, top), min(current + lh, top + view))
            self.text.blend(frame, x, y + cut.start - top, cut, right)  # the line being revealed


def _encode(scene: _Scene, frame_count: int, path: Path) -> None:
    preset = "ultrafast" if min(scene.width, scene.height) <= 360 else "veryfast"
    with av.open(str(path), "w", format="mp4", container_options={"movflags": "+faststart"}) as out:
        out.metadata["comment"] = "VeoGen offline preview renderer (local, not AI)"
        stream = out.add_stream("libx264", rate=FPS, options={"preset": preset, "crf": "23"})
        stream.width, stream.height, stream.pix_fmt = scene.width, scene.height, "yuv420p"
        stream.codec_context.gop_size = FPS  # a keyframe every second, so a one-seek thumbnail lands near its target
        # x264's output depends on its thread count; fix it so every host makes the same bytes.
        stream.codec_context.thread_count = 4
        for i in range(frame_count):
            frame = av.VideoFrame.from_ndarray(scene.draw(i), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def _bounce(p: float, span: int) -> int:
    if span <= 0:
        return 0
    p %= 2 * span
    return int(2 * span - p if p > span else p)


def _palette(words: list[str]) -> list[_RGB]:
    """One colour per distinct word: colours the prompt names, then longest words first."""
    cleaned = list(dict.fromkeys(c for c in map(_clean, words) if c))
    others = sorted((w for w in cleaned if w not in _NAMED_COLOURS), key=len, reverse=True)
    return [_NAMED_COLOURS[w] for w in cleaned if w in _NAMED_COLOURS] + [_word_colour(w) for w in others]


def _clean(word: str) -> str:
    word = re.sub(r"[^\w]", "", word.lower())
    return word[:-1] if word[:-1] in _NAMED_COLOURS and word[-1:] in ("s", "y") else word


def _word_colour(word: str) -> _RGB:
    clean = _clean(word)
    if clean in _NAMED_COLOURS:
        return _NAMED_COLOURS[clean]
    d = hashlib.sha256(clean.encode()).digest()
    r, g, b = colorsys.hsv_to_rgb(d[0] / 255, 0.45 + d[1] / 255 * 0.45, 0.35 + d[2] / 255 * 0.4)
    return round(r * 255), round(g * 255), round(b * 255)


def _brighten(c: _RGB) -> _RGB:
    r, g, b = (min(255, int(x * 1.25 + 50)) for x in c)
    return r, g, b


def _gradient(palette: list[_RGB], rng: np.random.Generator, w: int, h: int) -> _U8:
    """A diagonal gradient through three palette colours, a little darkened for legible text."""
    stops = np.array([palette[i % len(palette)] for i in range(3)], dtype=np.float32) * 0.8
    angle = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    along = xs / w * math.cos(angle) + ys / h * math.sin(angle)
    along = (along - along.min()) / max(float(along.max() - along.min()), 1e-6) * 2  # 0..2
    first, second = np.clip(along, 0, 1)[..., None], np.clip(along - 1, 0, 1)[..., None]
    rgb = stops[0] * (1 - first) + stops[1] * (first - second) + stops[2] * second
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _shape_image(kind: int, size: int, colour: _RGB) -> Image.Image:
    """Draw a circle, rounded square, triangle or ring at 4× and shrink it, for smooth edges."""
    big = size * 4
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw, fill, box = ImageDraw.Draw(image), (*colour, 215), (0, 0, big - 1, big - 1)
    if kind == 0:
        draw.ellipse(box, fill=fill)
    elif kind == 1:
        draw.rounded_rectangle(box, radius=big // 6, fill=fill)
    elif kind == 2:
        draw.polygon([(big / 2, 0), (big - 1, big - 1), (0, big - 1)], fill=fill)
    else:
        draw.ellipse(box, outline=fill, width=max(4, big // 8))
    return image.resize((size, size), Image.Resampling.LANCZOS)


def _printable(word: str) -> str:
    """Fold a word to what the built-in font can draw (é→e, —→-, others → "?")."""
    folded = unicodedata.normalize("NFKD", word.translate(_FOLD))
    return "".join(ch if ch in _FONT_CHARS else "?" for ch in folded if not unicodedata.combining(ch))


def _text_layer(words: list[str], size: int, max_width: int) -> tuple[_Layer | None, tuple[tuple[int, int], ...], int]:
    """Lay the words out in centred lines; return the layer, where each word ends, and the line height."""
    font = _font(size)
    ascent, descent = font.getmetrics()
    line_height = int((ascent + descent) * 1.2)
    lines: list[list[str]] = []
    for piece in (p for w in words for p in _fit(_printable(w), font, max_width)):
        if lines and font.getlength(" ".join([*lines[-1], piece])) <= max_width:
            lines[-1].append(piece)
        else:
            lines.append([piece])
    if not lines:
        return None, (), line_height

    stroke = max(1, size // 14)
    image = Image.new("RGBA", (max_width, line_height * len(lines)), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    ends: list[tuple[int, int]] = []
    for n, line in enumerate(lines):
        text = " ".join(line)
        left = (max_width - font.getlength(text)) / 2
        draw.text(
            (left, n * line_height), text, font=font, fill=(255, 255, 255, 255),
            stroke_width=stroke, stroke_fill=(0, 0, 0, 230),
        )  # fmt: skip
        for k in range(len(line)):
            right = left + font.getlength(" ".join(line[: k + 1])) + stroke
            ends.append((n, min(max_width, math.ceil(right))))
    return _Layer.from_image(image), tuple(ends), line_height


def _fit(word: str, font: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    """Split a word too wide for a line into pieces that fit."""
    pieces = []
    while len(word) > 1 and font.getlength(word) > max_width:
        cut = max(1, int(len(word) * max_width / font.getlength(word)) - 1)
        pieces.append(word[:cut])
        word = word[cut:]
    return [*pieces, word]


def _font(size: int) -> ImageFont.FreeTypeFont:
    """Pillow's built-in scalable font, so no system fonts are needed."""
    font = ImageFont.load_default(size=size)
    if not isinstance(font, ImageFont.FreeTypeFont):
        raise RuntimeError("the offline renderer needs Pillow built with FreeType")
    return font


def _label_image(text: str, font: ImageFont.FreeTypeFont) -> Image.Image:
    left, top, right, bottom = (int(v) for v in font.getbbox(text, stroke_width=1))
    image = Image.new("RGBA", (right - left + 2, bottom - top + 2), (0, 0, 0, 0))
    ImageDraw.Draw(image).text(
        (1 - left, 1 - top), text, font=font, fill=(255, 255, 255, 210), stroke_width=1, stroke_fill=(0, 0, 0, 160)
    )
    return image
