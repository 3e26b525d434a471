"""OfflineProvider: stateless operation names and deterministic, prompt-driven MP4s."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import ProviderError
from core.media import make_poster, probe_video, sha256_file
from core.providers.base import GenerationRequest, ProviderVideo, VideoProvider
from core.providers.offline import OfflineProvider, decode_operation_name, frame_size, render_video


def _request(**overrides: object) -> GenerationRequest:
    values: dict[str, object] = {
        "model": "veo-3.0-fast-generate-001",
        "prompt": "A red fox runs through a snowy forest at sunset",
        "duration_seconds": 1,
        "resolution": "240p",
        "seed": 42,
    }
    values.update(overrides)
    return GenerationRequest(**values)  # type: ignore[arg-type]


def _render(tmp_path: Path, name: str, request: GenerationRequest, index: int = 0) -> Path:
    provider = OfflineProvider()
    state = provider.poll(provider.submit(request))
    dest = tmp_path / name
    provider.fetch(state.videos[index], dest)
    return dest


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_says_what_it_is() -> None:
    provider: VideoProvider = OfflineProvider()
    assert provider.name == "offline"
    assert provider.label == "Offline preview renderer (local, not AI)"
    assert provider.idempotent_submit is True


def test_operation_name_is_deterministic_and_round_trips() -> None:
    provider = OfflineProvider()
    request = _request(prompt='Ünïcødé 日本 — "quotes" #hash ' * 20, negative_prompt="blur", seed=None)
    name = provider.submit(request)
    assert name.startswith("offline/")
    assert "#" not in name and "=" not in name
    assert provider.submit(request) == name
    assert decode_operation_name(name) == request
    assert provider.submit(_request(prompt="something else")) != name


@pytest.mark.parametrize("sample_count", [1, 3])
def test_poll_succeeds_with_one_video_per_sample(sample_count: int) -> None:
    provider = OfflineProvider()
    name = provider.submit(_request(sample_count=sample_count))
    state = provider.poll(name)
    assert state.kind == "succeeded"
    assert state.videos == tuple(ProviderVideo(uri=f"{name}#{i}", mime_type="video/mp4") for i in range(sample_count))


@pytest.mark.parametrize(
    "name",
    [
        "",
        "offline/",
        "offline/not base64!",
        "operations/abc123",
        "offline/" + _b64(b"not zlib at all"),
        "offline/" + _b64(zlib.compress(b"not json")),
        "offline/" + _b64(zlib.compress(b"[1, 2, 3]")),
        "offline/" + _b64(zlib.compress(b'{"prompt": "no model"}')),
        "offline/" + _b64(zlib.compress(json.dumps({**_request().to_dict(), "resolution": "4k"}).encode())),
        "offline/" + _b64(zlib.compress(json.dumps({**_request().to_dict(), "duration_seconds": "4"}).encode())),
        "offline/" + _b64(zlib.compress(b" " * 1_000_000)),
    ],
)
def test_poll_of_unknown_name_fails_as_not_found(name: str) -> None:
    state = OfflineProvider().poll(name)
    assert state.kind == "failed"
    assert state.code == "NOT_FOUND"
    assert state.message == "unknown offline operation"
    assert state.retryable is False
    assert state.videos == ()


@pytest.mark.parametrize(
    ("field", "value"),
    [("resolution", "4k"), ("aspect_ratio", "1:1"), ("duration_seconds", 0), ("sample_count", 5)],
)
def test_submit_refuses_what_it_cannot_render(field: str, value: object) -> None:
    with pytest.raises(ProviderError) as caught:
        OfflineProvider().submit(_request(**{field: value}))
    assert caught.value.code == "INVALID_ARGUMENT"
    assert field in str(caught.value)


def test_fetch_of_unknown_video_raises_not_found(tmp_path: Path) -> None:
    provider = OfflineProvider()
    name = provider.submit(_request())
    for uri in (f"{name}#1", f"{name}#x", name, "offline/garbage#0"):
        with pytest.raises(ProviderError) as caught:
            provider.fetch(ProviderVideo(uri=uri), tmp_path / "v.mp4")
        assert caught.value.code == "NOT_FOUND"
    assert not (tmp_path / "v.mp4").exists()


@pytest.mark.parametrize(
    ("resolution", "aspect_ratio", "duration", "size"),
    [
        ("240p", "16:9", 2, (426, 240)),
        ("240p", "9:16", 1, (240, 426)),
        ("360p", "16:9", 1, (640, 360)),
        ("360p", "9:16", 1, (360, 640)),
    ],
)
def test_rendered_video_has_the_requested_shape(
    tmp_path: Path, resolution: str, aspect_ratio: str, duration: int, size: tuple[int, int]
) -> None:
    request = _request(resolution=resolution, aspect_ratio=aspect_ratio, duration_seconds=duration)
    info = probe_video(_render(tmp_path, "v.mp4", request))
    assert abs(info.duration_seconds - duration) <= 1 / 24 + 1e-9
    assert info.fps == 24.0
    assert (info.width, info.height) == size
    assert info.codec == "h264"
    assert info.has_audio is False


def test_frame_sizes_of_larger_resolutions() -> None:
    assert frame_size("720p", "16:9") == (1280, 720)
    assert frame_size("720p", "9:16") == (720, 1280)
    assert frame_size("1080p", "16:9") == (1920, 1080)
    assert frame_size("1080p", "9:16") == (1080, 1920)


def test_rendered_video_is_fast_start_and_leaves_no_partial_file(tmp_path: Path) -> None:
    path = _render(tmp_path, "v.mp4", _request())
    data, offset, boxes = path.read_bytes(), 0, []
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        boxes.append(kind)
        offset += size
    assert boxes.index(b"moov") < boxes.index(b"mdat")  # browsers can start playing at once
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]


def test_same_request_gives_identical_bytes(tmp_path: Path) -> None:
    first = _render(tmp_path, "a.mp4", _request())
    second = tmp_path / "b.mp4"
    render_video(_request(), 0, second)
    assert sha256_file(first) == sha256_file(second)


@pytest.mark.parametrize(
    "change",
    [{"prompt": "A blue whale sings under the ocean"}, {"seed": 43}, {"negative_prompt": "rain"}],
)
def test_different_request_gives_different_bytes(tmp_path: Path, change: dict[str, object]) -> None:
    base = _render(tmp_path, "a.mp4", _request())
    other = _render(tmp_path, "b.mp4", _request(**change))
    assert sha256_file(base) != sha256_file(other)


def test_samples_of_one_request_differ(tmp_path: Path) -> None:
    request = _request(sample_count=2)
    assert sha256_file(_render(tmp_path, "a.mp4", request, 0)) != sha256_file(_render(tmp_path, "b.mp4", request, 1))


def test_picture_depends_on_the_prompt(tmp_path: Path) -> None:
    def mean_colour(prompt: str) -> np.ndarray:
        poster = make_poster(_render(tmp_path, f"{len(prompt)}.mp4", _request(prompt=prompt)))
        (tmp_path / "p.jpg").write_bytes(poster)
        with Image.open(tmp_path / "p.jpg") as image:
            return np.asarray(image.convert("RGB"), dtype=np.float64).mean(axis=(0, 1))

    warm = mean_colour("a red fire in the desert")
    cool = mean_colour("blue ocean under a cyan night sky at sea")
    assert np.abs(warm - cool).sum() > 30
    assert warm[0] > cool[0] and warm[2] < cool[2]
