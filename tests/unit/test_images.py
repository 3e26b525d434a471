"""core.images: uploads are judged by content, limited before decoding, and re-encoded clean."""

from __future__ import annotations

import hashlib
import io
import random
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from core import images
from core.errors import ValidationError

ROOT = Path(__file__).resolve().parents[2]


def encode(img: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def noise(size=(128, 96), mode="RGB") -> Image.Image:
    """Incompressible pixels, so a cut file is cut in the middle of its image data."""
    rng = random.Random(7)
    return Image.frombytes(mode, size, rng.randbytes(size[0] * size[1] * len(mode)))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny real PNG whose IHDR says it is width × height, with a correct CRC."""
    data = bytearray(encode(Image.new("RGB", (64, 64), "navy"), "PNG"))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def refused(data: bytes, *, name: str = "upload.png", role: str = "first_frame") -> str:
    with pytest.raises(ValidationError) as err:
        images.check_image(data, name=name, role=role)
    assert err.value.field == role
    return str(err.value)


def reopen(clean: images.CleanImage) -> Image.Image:
    img = Image.open(io.BytesIO(clean.data))
    img.load()
    return img


@pytest.mark.parametrize(
    ("fmt", "mime", "stored_as"),
    [("PNG", "image/png", "PNG"), ("JPEG", "image/jpeg", "JPEG"), ("WEBP", "image/png", "PNG")],
)
def test_png_jpeg_and_webp_are_accepted_and_re_encoded(fmt, mime, stored_as):
    data = encode(Image.new("RGB", (320, 180), (10, 120, 200)), fmt)
    clean = images.check_image(data, name=f"frame.{fmt.lower()}", role="first_frame")
    assert (clean.width, clean.height) == (320, 180)
    assert clean.mime_type == mime
    assert clean.sha256 == hashlib.sha256(clean.data).hexdigest()
    out = reopen(clean)
    assert out.format == stored_as
    assert out.mode == "RGB"
    assert out.size == (320, 180)


def test_the_smallest_and_largest_allowed_sizes_pass():
    assert images.check_image(encode(Image.new("L", (64, 64)), "PNG")).width == 64
    wide = images.check_image(encode(Image.new("L", (images.MAX_IMAGE_PIXELS // 64, 64)), "PNG"))
    assert wide.width * wide.height == images.MAX_IMAGE_PIXELS


def test_exif_orientation_is_applied_and_exif_is_dropped():
    img = Image.new("RGB", (200, 100), "white")
    img.paste((255, 0, 0), (0, 0, 20, 100))  # a red strip down the stored left edge
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # "rotate 90° clockwise to display"
    exif[ExifTags.Base.Make] = "SpyCam"
    data = encode(img, "JPEG", exif=exif, quality=95)

    clean = images.check_image(data, name="phone.jpg", role="first_frame")

    assert (clean.width, clean.height) == (100, 200)
    out = reopen(clean)
    assert out.format == "JPEG"
    assert out.size == (100, 200)
    red, green, _ = out.getpixel((50, 5))  # the left edge is now the top
    assert red > 200 and green < 60
    assert "exif" not in out.info
    assert len(out.getexif()) == 0
    assert b"SpyCam" not in clean.data


def test_icc_profiles_and_text_chunks_are_stripped():
    from PIL import PngImagePlugin

    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "<script>alert(1)</script>")
    png = encode(Image.new("RGB", (80, 80), "teal"), "PNG", pnginfo=text, icc_profile=b"not really an ICC profile")
    jpeg = encode(Image.new("RGB", (80, 80), "teal"), "JPEG", icc_profile=b"not really an ICC profile")
    for data in (png, jpeg):
        clean = images.check_image(data, role="reference_1")
        out = reopen(clean)
        assert "icc_profile" not in out.info
        assert "Comment" not in out.info
        assert b"script" not in clean.data
        assert b"not really" not in clean.data


def test_transparency_is_flattened_onto_white():
    img = Image.new("RGBA", (80, 80), (255, 0, 0, 0))
    img.paste((0, 0, 255, 128), (40, 0, 80, 80))
    clean = images.check_image(encode(img, "PNG"), role="last_frame")
    out = reopen(clean)
    assert out.mode == "RGB"
    assert out.getpixel((10, 10)) == (255, 255, 255)
    r, g, b = out.getpixel((60, 10))
    assert b == 255 and 120 <= r <= 135 and 120 <= g <= 135


def test_transparent_webp_is_flattened_too():
    clean = images.check_image(encode(Image.new("RGBA", (80, 80), (0, 0, 0, 0)), "WEBP", lossless=True))
    assert reopen(clean).getpixel((5, 5)) == (255, 255, 255)


def palette_with_transparency() -> Image.Image:
    img = Image.new("P", (80, 80), 1)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.info["transparency"] = 1
    return img


@pytest.mark.parametrize(
    ("img", "fmt", "pixel"),
    [
        (Image.new("1", (80, 80), 1), "PNG", (255, 255, 255)),
        (Image.new("L", (80, 80), 77), "PNG", (77, 77, 77)),
        (Image.new("LA", (80, 80), (0, 0)), "PNG", (255, 255, 255)),
        (palette_with_transparency(), "PNG", (255, 255, 255)),
        (Image.new("I;16", (80, 80), 40000), "PNG", (156, 156, 156)),
        (Image.new("CMYK", (80, 80), (0, 0, 0, 0)), "JPEG", (255, 255, 255)),
        (Image.new("L", (80, 80), 200), "JPEG", (200, 200, 200)),
    ],
    ids=["1-bit", "grey", "grey+alpha", "palette+tRNS", "16-bit grey", "CMYK JPEG", "grey JPEG"],
)
def test_every_pixel_layout_becomes_8_bit_rgb(img, fmt, pixel):
    out = reopen(images.check_image(encode(img, fmt), role="reference_2"))
    assert out.mode == "RGB"
    assert all(abs(a - b) <= 2 for a, b in zip(out.getpixel((40, 40)), pixel, strict=True))


def test_content_decides_the_format_not_the_name():
    data = encode(Image.new("RGB", (100, 100), "orange"), "PNG")
    clean = images.check_image(data, name="holiday.jpg", role="first_frame")
    assert clean.mime_type == "image/png"


def test_the_same_upload_always_gives_the_same_bytes():
    data = encode(noise(), "JPEG")
    assert images.check_image(data).sha256 == images.check_image(data).sha256


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (encode(Image.new("RGB", (80, 80)), "GIF"), "it looks like a GIF image. Export it as PNG or JPEG"),
        (encode(Image.new("RGB", (80, 80)), "BMP"), "it looks like a BMP image."),
        (encode(Image.new("RGB", (80, 80)), "TIFF"), "it looks like a TIFF image."),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "it looks like a PDF document."),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "it looks like an SVG drawing"),
        (b"<svg onload=alert(1)>", "it looks like an SVG drawing"),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "it looks like an HTML page."),
        (b"PK\x03\x04\x14\x00\x00\x00", "it looks like a ZIP archive"),
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41", "it looks like an MP4/MOV video."),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ", "it looks like an MP4/MOV video."),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIC/AVIF photos are not supported; export as JPEG"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", "HEIC/AVIF photos are not supported; export as JPEG"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heix", "it looks like a HEIC/AVIF photo."),
    ],
    ids=["gif", "bmp", "tiff", "pdf", "svg", "bare-svg", "html", "zip", "mp4", "mov", "heic", "avif", "heif"],
)
def test_other_files_are_refused_saying_what_they_look_like(data, words):
    message = refused(data, name="upload.png", role="first_frame")
    assert message.startswith("upload.png is not a PNG, JPEG or WebP image; ")
    assert words in message


def test_random_bytes_are_refused_without_a_guess():
    data = random.Random(1).randbytes(4096)
    assert images.describe_content(data) is None
    assert refused(data, name="blob.webp", role="reference_3") == (
        "blob.webp is not a PNG, JPEG or WebP image. Upload a PNG, JPEG or WebP image instead."
    )


def test_sniffing_reads_magic_bytes_only():
    assert images.sniff_format(encode(Image.new("RGB", (8, 8)), "PNG")) == "PNG"
    assert images.sniff_format(encode(Image.new("RGB", (8, 8)), "JPEG")) == "JPEG"
    assert images.sniff_format(encode(Image.new("RGB", (8, 8)), "WEBP")) == "WEBP"
    assert images.sniff_format(b"RIFF\x00\x00\x00\x00AVI LIST") is None
    assert images.sniff_format(b"\x89PN") is None
    assert images.sniff_format(b"") is None
    assert images.describe_content(b"RIFF\x00\x00\x00\x00AVI LIST") == "an AVI video"
    assert images.describe_content(b"hello, world\n") == "a text file"
    assert set(images.ALLOWED_FORMATS) == {"PNG", "JPEG", "WEBP"}


def test_an_empty_upload_is_refused():
    assert refused(b"", name="blank.png", role="last_frame") == "blank.png is empty."


def test_an_oversized_upload_is_refused_before_anything_else():
    data = b"\x89PNG\r\n\x1a\n" + bytes(int(31.2 * 1024 * 1024) - 8)
    assert refused(data, name="huge.png", role="reference_1") == "huge.png is 31.2 MB; images may be at most 20 MB."


def test_one_byte_over_the_limit_never_reads_as_the_limit():
    data = b"\xff\xd8\xff" + bytes(images.MAX_IMAGE_BYTES - 2)
    assert refused(data, name="a.jpg") == "a.jpg is 20.1 MB; images may be at most 20 MB."


def test_a_header_claiming_a_huge_image_is_refused_without_decoding():
    data = png_claiming(20000, 20000)
    started = time.perf_counter()
    message = refused(data, name="bomb.png", role="first_frame")
    assert time.perf_counter() - started < 1.0
    assert message.startswith("bomb.png is over ")
    assert "megapixels; the limit is 16.8 megapixels." in message


def test_a_header_over_pillows_warning_limit_is_refused_not_warned_about():
    message = refused(png_claiming(10000, 10000), name="big.png", role="last_frame")
    assert "megapixels; the limit is 16.8 megapixels." in message


def test_too_many_pixels_names_the_size():
    assert refused(png_claiming(10000, 8000), name="pano.png", role="reference_2") == (
        "pano.png is 10000×8000 pixels (80.0 megapixels); the limit is 16.8 megapixels."
    )


def test_one_pixel_over_the_limit_is_refused():
    assert "4097×4096 pixels" in refused(png_claiming(4097, 4096))


@pytest.mark.parametrize("size", [(32, 32), (640, 63)])
def test_too_small_images_are_refused(size):
    message = refused(encode(Image.new("RGB", size), "PNG"), name="icon.png", role="reference_1")
    assert message == (f"icon.png is {size[0]}×{size[1]} pixels; images must be at least 64 pixels on each side.")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_a_truncated_file_is_corrupt(fmt):
    data = encode(noise(), fmt)
    message = refused(data[: len(data) * 6 // 10], name="cut.bin", role="first_frame")
    assert message.startswith("cut.bin is corrupt or truncated and could not be read (")


def test_a_bad_png_checksum_is_corrupt():
    data = bytearray(encode(noise(), "PNG"))
    data[100] ^= 0xFF  # inside the first IDAT chunk; its CRC no longer matches
    assert "is corrupt or truncated" in refused(bytes(data))


def test_a_broken_header_is_corrupt():
    data = bytearray(encode(noise(), "PNG"))
    data[12:16] = b"XXXX"  # the IHDR chunk is gone
    message = refused(bytes(data), name="head.png")
    assert message == "head.png is corrupt or truncated and could not be read (its header is not valid)."


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_animated_images_are_refused(fmt):
    frames = [Image.new("RGB", (80, 80), colour) for colour in ("red", "green", "blue")]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)
    assert refused(data, name="loop.png", role="reference_3") == "loop.png is animated; upload a still image."


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("../../etc/passwd\x00.png", "passwd.png"),
        ("C:\\Users\\me\\Desktop\\cat.png", "cat.png"),
        ("cat\u202egnp.exe", "catgnp.exe"),
        ("line\r\nbreak.png", "linebreak.png"),
        ("\x00\x01", "The image"),
        ("dir/", "The image"),
    ],
)
def test_the_name_shown_is_safe(name, shown):
    assert refused(b"", name=name) == f"{shown} is empty."


def test_a_long_name_is_cut_but_keeps_its_extension():
    message = refused(b"", name="x" * 500 + ".png")
    shown = message.removesuffix(" is empty.")
    assert len(shown) == images.MAX_SHOWN_NAME_CHARS
    assert shown.endswith("….png")


def test_importing_the_module_does_not_load_pillow():
    code = "import sys, core.images; print('PIL' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
