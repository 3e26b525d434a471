"""core.media on real files: probes, thumbnails, posters, and refusing broken media."""

from __future__ import annotations

import hashlib
import io
import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from core.errors import MediaError
from core.media import make_poster, make_thumbnail, probe_video, sha256_file
from core.providers.base import GenerationRequest
from core.providers.offline import render_video


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 2 s landscape and a 1 s portrait offline render, 240p."""
    folder = tmp_path_factory.mktemp("videos")
    paths = {"landscape": folder / "landscape.mp4", "portrait": folder / "portrait.mp4"}
    prompt = "a lighthouse on a cliff at dawn, waves crashing"
    render_video(
        GenerationRequest(model="m", prompt=prompt, duration_seconds=2, resolution="240p"), 0, paths["landscape"]
    )
    render_video(
        GenerationRequest(model="m", prompt=prompt, duration_seconds=1, resolution="240p", aspect_ratio="9:16"),
        0,
        paths["portrait"],
    )
    return paths


def _jpeg(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data), formats=["JPEG"])
    image.load()
    return image


def _write_mp4(path: Path, *, video: bool, audio: bool, container_format: str = "mp4") -> None:
    """Write a tiny real file: 12 frames of 64×48 video and/or 0.5 s of silent AAC."""
    with av.open(str(path), "w", format=container_format) as out:
        # every stream must exist before the first packet is muxed
        vstream = out.add_stream("libx264" if container_format == "mp4" else "mpeg4", rate=24) if video else None
        astream = out.add_stream("aac", rate=48000, layout="mono") if audio else None
        if vstream is not None:
            vstream.width, vstream.height, vstream.pix_fmt = 64, 48, "yuv420p"
            for i in range(12):
                frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, dtype=np.uint8), format="rgb24")
                frame.pts, frame.time_base = i, Fraction(1, 24)
                out.mux(vstream.encode(frame))
            out.mux(vstream.encode(None))
        if astream is not None:
            for i in range(24):
                aframe = av.AudioFrame.from_ndarray(np.zeros((1, 1024), dtype=np.float32), format="fltp", layout="mono")
                aframe.sample_rate, aframe.pts, aframe.time_base = 48000, i * 1024, Fraction(1, 48000)
                out.mux(astream.encode(aframe))
            out.mux(astream.encode(None))


def test_sha256_file_matches_hashlib(videos: dict[str, Path]) -> None:
    path = videos["landscape"]
    assert sha256_file(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_probe_reports_what_the_file_holds(videos: dict[str, Path]) -> None:
    path = videos["landscape"]
    info = probe_video(path)
    assert abs(info.duration_seconds - 2.0) <= 1 / 24
    assert info.fps == 24.0
    assert (info.width, info.height) == (426, 240)
    assert info.codec == "h264"
    assert info.has_audio is False
    assert info.size_bytes == path.stat().st_size
    assert info.sha256 == sha256_file(path)


def test_probe_sees_an_audio_track(tmp_path: Path) -> None:
    path = tmp_path / "with_audio.mp4"
    _write_mp4(path, video=True, audio=True)
    info = probe_video(path)
    assert info.has_audio is True
    assert (info.width, info.height, info.codec) == (64, 48, "h264")


@pytest.mark.parametrize(("which", "max_width"), [("landscape", 320), ("landscape", 100), ("portrait", 120)])
def test_thumbnail_is_a_small_jpeg_with_the_video_aspect(videos: dict[str, Path], which: str, max_width: int) -> None:
    info = probe_video(videos[which])
    thumb = _jpeg(make_thumbnail(videos[which], max_width=max_width))
    assert thumb.format == "JPEG"
    assert thumb.width == min(max_width, info.width)
    assert abs(thumb.width / thumb.height - info.width / info.height) < 0.02


def test_thumbnail_never_upscales(videos: dict[str, Path]) -> None:
    thumb = _jpeg(make_thumbnail(videos["landscape"], max_width=1000))
    assert thumb.size == (426, 240)


def test_thumbnail_shows_the_requested_moment(videos: dict[str, Path]) -> None:
    start = np.asarray(_jpeg(make_thumbnail(videos["landscape"], at_fraction=0.0)), dtype=np.int16)
    end = np.asarray(_jpeg(make_thumbnail(videos["landscape"], at_fraction=1.0)), dtype=np.int16)
    assert start.shape == end.shape
    assert np.abs(start - end).mean() > 1  # shapes have moved, words have appeared


@pytest.mark.parametrize(("max_width", "at_fraction"), [(0, 0.5), (320, -0.1), (320, 1.5)])
def test_thumbnail_refuses_nonsense_arguments(videos: dict[str, Path], max_width: int, at_fraction: float) -> None:
    with pytest.raises(ValueError):
        make_thumbnail(videos["landscape"], max_width=max_width, at_fraction=at_fraction)


def test_poster_is_the_first_frame_at_full_size(videos: dict[str, Path]) -> None:
    assert _jpeg(make_poster(videos["landscape"])).size == (426, 240)
    assert _jpeg(make_poster(videos["portrait"])).size == (240, 426)


@pytest.mark.parametrize("action", [probe_video, make_thumbnail, make_poster])
def test_truncated_file_is_refused(videos: dict[str, Path], tmp_path: Path, action: object) -> None:
    data = videos["landscape"].read_bytes()
    half = tmp_path / "half.mp4"
    half.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError, match="corrupt or truncated"):
        action(half)  # type: ignore[operator]


@pytest.mark.parametrize(
    "content",
    [os.urandom(64 * 1024), b"", b"\x00\x00\x00\x18ftypisom" + os.urandom(4096), b"<html>not a video</html>"],
)
def test_garbage_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "garbage.mp4"
    path.write_bytes(content)
    for action in (probe_video, make_thumbnail, make_poster):
        with pytest.raises(MediaError, match="corrupt or truncated"):
            action(path)


def test_file_without_video_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audio_only.mp4"
    _write_mp4(path, video=False, audio=True)
    with pytest.raises(MediaError, match="no video stream"):
        probe_video(path)


def test_other_containers_are_not_demuxed(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"  # a Matroska file with a misleading name
    _write_mp4(path, video=True, audio=False, container_format="matroska")
    with pytest.raises(MediaError, match="corrupt or truncated"):
        probe_video(path)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="does not exist"):
        probe_video(tmp_path / "nope.mp4")
