"""Uploaded images: check what a creator sends for Veo's image modes and keep a clean copy.

Owns every read of an uploaded image (first frame, last frame, reference images).
The content decides the format (magic bytes, never the file name or the claimed
MIME type); only that one Pillow decoder runs; the size is checked from the
header before anything is decoded; what comes out is a freshly encoded PNG or
JPEG with no metadata, so nothing the uploader embedded reaches storage or Veo.

Imports only the standard library, Pillow and ``core.errors``; never streamlit,
pages or workers. Pillow is imported inside :func:`check_image`, so the web side
of ``core`` may import this module without loading it.
"""

from __future__ import annotations

import hashlib
import io
import math
import unicodedata
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.errors import ValidationError

if TYPE_CHECKING:
    from PIL import Image

MAX_IMAGE_BYTES = 20 * 1024 * 1024
"""Largest upload accepted, in bytes (Veo accepts images up to 20 MB)."""

MAX_IMAGE_PIXELS = 4096 * 4096
"""Largest image accepted, in pixels (width × height), read from the header before decoding."""

MIN_IMAGE_SIDE = 64
"""Shortest width or height accepted, in pixels."""

ALLOWED_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "WEBP")
"""Formats accepted, by Pillow's name for them; recognised by their magic bytes."""

JPEG_QUALITY = 95
"""JPEG quality (1–95) used when re-encoding a JPEG upload."""

MAX_SHOWN_NAME_CHARS = 80
"""Longest file name shown in a message, in characters."""

_MB = 1024 * 1024
_ALLOWED_WORDS = "PNG, JPEG or WebP"
_UPLOAD_INSTEAD = f"Upload a {_ALLOWED_WORDS} image instead."
_EXPORT_INSTEAD = "Export it as PNG or JPEG and upload that."

# ISO base media "ftyp" brands of HEIF stills (HEIC) and AVIF.
_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"mif2", b"msf1"}
    | {b"avif", b"avis", b"avio"}
)


@dataclass(frozen=True)
class CleanImage:
    """An accepted upload, re-encoded: upright, RGB, alpha flattened onto white, no metadata.

    JPEG uploads are re-encoded as JPEG (quality :data:`JPEG_QUALITY`) so a large photo
    stays small; PNG and WebP uploads become lossless PNG.
    """

    data: bytes
    mime_type: str
    """``image/png`` or ``image/jpeg``."""
    width: int
    """In pixels, after the EXIF orientation was applied."""
    height: int
    """In pixels, after the EXIF orientation was applied."""
    sha256: str
    """Hex digest of ``data``."""


def sniff_format(data: bytes) -> str | None:
    """Name the image format from the file's first bytes: "PNG", "JPEG", "WEBP", or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def describe_content(data: bytes) -> str | None:
    """Say what a file that is not an accepted image looks like ("a GIF image"), or None."""
    found = _recognise(data)
    return found[0] if found else None


def check_image(data: bytes, *, name: str = "image", role: str = "image") -> CleanImage:
    """Check an uploaded image and return a clean re-encoded copy.

    Raises :class:`ValidationError` with ``field=role`` and a message naming the file
    when the upload is empty, too big, not a PNG, JPEG or WebP image, too many or too
    few pixels, corrupt, or animated.
    """
    shown = _shown_name(name)
    if not data:
        raise ValidationError(f"{shown} is empty.", field=role)
    if len(data) > MAX_IMAGE_BYTES:
        size_mb = math.ceil(len(data) * 10 / _MB) / 10  # rounded up, so it never reads as the limit
        raise ValidationError(
            f"{shown} is {size_mb:.1f} MB; images may be at most {MAX_IMAGE_BYTES / _MB:g} MB.", field=role
        )
    fmt = sniff_format(data)
    if fmt is None:
        raise ValidationError(_not_an_image(shown, data), field=role)

    from PIL import Image  # here, not at the top: the web side of core must not load Pillow on import

    # Pillow warns above its own pixel limit and raises at twice it; make the warning an error
    # too. (catch_warnings is process-wide: a thread racing it can at worst leave the filter on.)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with _open(data, fmt, shown, role) as img:
            _check_dimensions(img.size, shown, role)
            _decode(img, data, fmt, shown, role)
            if fmt in ("PNG", "WEBP") and getattr(img, "n_frames", 1) > 1:
                raise ValidationError(f"{shown} is animated; upload a still image.", field=role)
            try:
                clean = _flatten(_upright(img))
            except Exception as exc:  # any failure on untrusted pixels means we cannot use them
                raise ValidationError(_corrupt(shown, exc), field=role) from exc

    clean.info.clear()  # Pillow writes im.info's ICC profile into PNGs unless told otherwise
    out = io.BytesIO()
    if fmt == "JPEG":
        clean.save(out, "JPEG", quality=JPEG_QUALITY)
        mime_type = "image/jpeg"
    else:
        clean.save(out, "PNG")
        mime_type = "image/png"
    encoded = out.getvalue()
    return CleanImage(
        data=encoded,
        mime_type=mime_type,
        width=clean.width,
        height=clean.height,
        sha256=hashlib.sha256(encoded).hexdigest(),
    )


def _open(data: bytes, fmt: str, shown: str, role: str) -> Image.Image:
    from PIL import Image

    try:
        return Image.open(io.BytesIO(data), formats=[fmt])
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        limit = Image.MAX_IMAGE_PIXELS or 0
        over = 2 * limit if isinstance(exc, Image.DecompressionBombError) else limit
        raise ValidationError(
            f"{shown} is over {over / 1e6:.1f} megapixels; the limit is {MAX_IMAGE_PIXELS / 1e6:.1f} megapixels.",
            field=role,
        ) from exc
    except Image.UnidentifiedImageError as exc:  # its message shows an object address, not a reason
        raise ValidationError(_corrupt(shown, "its header is not valid"), field=role) from exc
    except Exception as exc:  # struct.error, SyntaxError, ...: the header is broken
        raise ValidationError(_corrupt(shown, exc), field=role) from exc


def _check_dimensions(size: tuple[int, int], shown: str, role: str) -> None:
    width, height = size
    if width * height > MAX_IMAGE_PIXELS:
        megapixels = math.ceil(width * height / 1e5) / 10
        raise ValidationError(
            f"{shown} is {width}×{height} pixels ({megapixels:.1f} megapixels); "
            f"the limit is {MAX_IMAGE_PIXELS / 1e6:.1f} megapixels.",
            field=role,
        )
    if min(width, height) < MIN_IMAGE_SIDE:
        raise ValidationError(
            f"{shown} is {width}×{height} pixels; images must be at least {MIN_IMAGE_SIDE} pixels on each side.",
            field=role,
        )


def _decode(img: Image.Image, data: bytes, fmt: str, shown: str, role: str) -> None:
    """Verify the file on a separate open (checksums), then decode ``img`` fully."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as probe:
            probe.verify()  # leaves probe unusable, hence the second open
        img.load()
    except Exception as exc:  # any decoder failure on untrusted bytes means the file is unreadable
        raise ValidationError(_corrupt(shown, exc), field=role) from exc


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a photo with unreadable EXIF is kept as stored."""
    from PIL import ImageOps

    try:
        return ImageOps.exif_transpose(img)
    except Exception:  # cameras write broken EXIF often enough; orientation is not worth refusing for
        return img


def _flatten(img: Image.Image) -> Image.Image:
    """Return an 8-bit RGB copy, with any transparency composited onto white."""
    from PIL import Image

    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        img = img.convert("I").point(lambda value: value / 256).convert("L")  # 16-bit grey to 8-bit
    has_alpha = img.mode in ("RGBA", "LA", "PA", "P") or "transparency" in img.info
    if not has_alpha:
        return img.convert("RGB")
    rgba = img.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    white.alpha_composite(rgba)
    return white.convert("RGB")


def _shown_name(name: str) -> str:
    """The file's name as a message may show it: no folders, no control characters, not too long."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    visible = "".join(ch for ch in base if not unicodedata.category(ch).startswith("C"))
    shown = " ".join(visible.split())
    if not shown:
        return "The image"
    if len(shown) > MAX_SHOWN_NAME_CHARS:
        stem, dot, ext = shown.rpartition(".")
        suffix = f".{ext}" if dot and stem and len(ext) <= 10 else ""
        shown = shown[: MAX_SHOWN_NAME_CHARS - len(suffix) - 1] + "…" + suffix
    return shown


def _corrupt(shown: str, cause: BaseException | str) -> str:
    """The message for an unreadable file, with a short reason (Pillow's, cleaned and cut)."""
    reason = " ".join("".join(ch for ch in str(cause) if ch.isprintable()).split())[:80]
    return f"{shown} is corrupt or truncated and could not be read ({reason or type(cause).__name__})."


def _not_an_image(shown: str, data: bytes) -> str:
    found = _recognise(data)
    if found is None:
        return f"{shown} is not a {_ALLOWED_WORDS} image. {_UPLOAD_INSTEAD}"
    what, advice = found
    return f"{shown} is not a {_ALLOWED_WORDS} image; it looks like {what}. {advice}"


def _recognise(data: bytes) -> tuple[str, str] | None:
    """What the content looks like, and what to do instead."""
    head = data[:64]
    signatures: tuple[tuple[bytes, str, str], ...] = (
        (b"GIF87a", "a GIF image", _EXPORT_INSTEAD),
        (b"GIF89a", "a GIF image", _EXPORT_INSTEAD),
        (b"II*\x00", "a TIFF image", _EXPORT_INSTEAD),
        (b"MM\x00*", "a TIFF image", _EXPORT_INSTEAD),
        (b"%PDF-", "a PDF document", _EXPORT_INSTEAD),
        (b"8BPS", "a Photoshop (PSD) file", _EXPORT_INSTEAD),
        (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "a JPEG 2000 image", _EXPORT_INSTEAD),
        (b"\xff\x4f\xff\x51", "a JPEG 2000 image", _EXPORT_INSTEAD),
        (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "a JPEG XL image", _EXPORT_INSTEAD),
        (b"\xff\x0a", "a JPEG XL image", _EXPORT_INSTEAD),
        (b"\x00\x00\x01\x00", "an icon (ICO) file", _UPLOAD_INSTEAD),
        (b"PK\x03\x04", "a ZIP archive (or an Office document)", _UPLOAD_INSTEAD),
        (b"PK\x05\x06", "a ZIP archive (or an Office document)", _UPLOAD_INSTEAD),
        (b"\x1f\x8b", "a gzip archive", _UPLOAD_INSTEAD),
        (b"\x1a\x45\xdf\xa3", "a WebM/MKV video", "Upload a still image, not a video."),
        (b"MZ", "a Windows program", _UPLOAD_INSTEAD),
        (b"\x7fELF", "a Linux program", _UPLOAD_INSTEAD),
    )
    for magic, what, advice in signatures:
        if head.startswith(magic):
            return what, advice
    if head.startswith(b"BM") and len(data) >= 26:
        return "a BMP image", _EXPORT_INSTEAD
    if head[:4] == b"RIFF":
        kind = {b"AVI ": "an AVI video", b"WAVE": "a WAV sound file"}.get(head[8:12], "a RIFF file")
        return kind, _UPLOAD_INSTEAD
    if head[4:8] == b"ftyp":
        return _recognise_iso_media(data)
    if head[4:8] in (b"moov", b"mdat", b"wide"):
        return "an MP4/MOV video", "Upload a still image, not a video."
    return _recognise_text(data[:1024])


def _recognise_iso_media(data: bytes) -> tuple[str, str]:
    box_end = min(int.from_bytes(data[:4], "big"), len(data), 1024)
    brands = {data[8:12]} | {data[i : i + 4] for i in range(16, box_end - 3, 4)}
    if brands & _HEIF_BRANDS:
        return "a HEIC/AVIF photo", "HEIC/AVIF photos are not supported; export as JPEG or PNG."
    return "an MP4/MOV video", "Upload a still image, not a video."


def _recognise_text(head: bytes) -> tuple[str, str] | None:
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        # A multi-byte character cut at the end of the sample is still text.
        try:
            text = head[:-3].decode("utf-8-sig")
        except UnicodeDecodeError:
            return None
    if any(not ch.isprintable() and ch not in "\t\r\n" for ch in text):
        return None
    lowered = text.lstrip().lower()
    if "<svg" in lowered and lowered.startswith("<"):
        return "an SVG drawing (text, not pixels)", _EXPORT_INSTEAD
    if lowered.startswith(("<!doctype html", "<html")):
        return "an HTML page", _UPLOAD_INSTEAD
    if lowered.startswith("<?xml"):
        return "an XML file", _UPLOAD_INSTEAD
    if lowered.startswith("data:image/"):
        return "a data URL (text)", "Upload the image file itself."
    return "a text file", _UPLOAD_INSTEAD
