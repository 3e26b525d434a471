"""core.checks on real clips made to be black, frozen and mismatched, and on the offline renderer's own."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import asdict, replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from core.checks import (
    BLACK_MEAN_LUMA,
    FROZEN_CHANGED_FRACTION,
    JOIN_COLOUR_SHIFT,
    JOIN_LUMA_JUMP,
    Flag,
    FlagKind,
    check_join,
    check_shot,
    last_frame_png,
    match_histogram,
)
from core.errors import MediaError
from core.images import check_image
from core.providers.base import GenerationRequest
from core.providers.offline import render_video

FPS = 24

Frames = list[np.ndarray]


def ask(duration: int = 4, resolution: str = "240p", aspect_ratio: str = "16:9") -> GenerationRequest:
    return GenerationRequest(
        model="m", prompt="p", duration_seconds=duration, resolution=resolution, aspect_ratio=aspect_ratio
    )


def render(folder: Path, request: GenerationRequest) -> Path:
    path = folder / f"render{len(list(folder.glob('render*.mp4')))}.mp4"
    render_video(request, 0, path)
    return path


def decode(path: Path) -> Frames:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def write_clip(path: Path, frames: Iterable[np.ndarray]) -> Path:
    """Encode RGB frames as an H.264 MP4 at 24 fps, as a provider would deliver it."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=FPS, options={"preset": "ultrafast", "crf": "23"})
        for i, rgb in enumerate(frames):
            if i == 0:
                stream.width, stream.height, stream.pix_fmt = rgb.shape[1], rgb.shape[0], "yuv420p"
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb, dtype=np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("checks")


@pytest.fixture(scope="module")
def shot(folder: Path) -> Frames:
    """The decoded frames of a 4 s, 240p offline render: 96 frames of real, moving content."""
    return decode(render(folder, replace(ask(), prompt="a red kite over green hills under a blue sky")))


def kinds(flags: list[Flag]) -> list[FlagKind]:
    return [flag.kind for flag in flags]


# --- clean clips: the offline renderer's normal output is never flagged -------------


@pytest.mark.parametrize(
    "asked",
    [
        replace(ask(), prompt="a red kite over green hills under a blue sky"),
        replace(ask(), prompt="a black cat asleep at night"),
        replace(ask(duration=2), prompt="snow"),
        replace(ask(aspect_ratio="9:16"), prompt="a grey concrete wall, nothing moves"),
        replace(ask(duration=6), prompt="sunset over the ocean, slow and calm, golden light on the water"),
        replace(ask(duration=2, resolution="360p"), prompt="desert"),
    ],
    ids=lambda asked: asked.prompt.split(",")[0],
)
def test_the_offline_renderers_clips_are_not_flagged(folder: Path, asked: GenerationRequest) -> None:
    assert check_shot(render(folder, asked), asked) == []


def test_a_clip_split_in_two_joins_smoothly(folder: Path, shot: Frames) -> None:
    first, second = write_clip(folder / "a.mp4", shot[:48]), write_clip(folder / "b.mp4", shot[48:])
    assert check_join(first, second) is None


# --- black ---------------------------------------------------------------------------


def test_an_all_black_clip_is_one_black_flag_not_a_frozen_one(folder: Path) -> None:
    path = write_clip(folder / "black.mp4", [np.zeros((240, 426, 3), np.uint8)] * 48)
    flags = check_shot(path, ask(duration=2))
    assert kinds(flags) == [FlagKind.BLACK]
    assert flags[0].message == "The whole shot is black."
    assert (flags[0].start_seconds, flags[0].end_seconds) == (0.0, 2.0)
    assert flags[0].measured < flags[0].expected == BLACK_MEAN_LUMA


def test_a_black_stretch_is_flagged_with_its_seconds(folder: Path, shot: Frames) -> None:
    frames = [np.zeros_like(f) if 48 <= i < 84 else f for i, f in enumerate(shot)]
    flags = check_shot(write_clip(folder / "black_stretch.mp4", frames), ask())
    assert kinds(flags) == [FlagKind.BLACK]
    assert (flags[0].start_seconds, flags[0].end_seconds) == (2.0, 3.5)
    assert flags[0].message == "Seconds 2.0–3.5 are black."
    assert json.loads(json.dumps(asdict(flags[0])))["kind"] == "black"  # plain data, ready to store on the shot


def test_a_quick_dip_to_black_and_a_dark_frame_with_a_light_are_not_black(folder: Path, shot: Frames) -> None:
    def night(i: int) -> np.ndarray:
        dark = np.full_like(shot[0], 4)
        x = 100 + 4 * (i - 60)
        dark[100:116, x : x + 16] = 255  # a moon crossing the sky: 0.25% of the frame, mean luma 4.6
        return dark

    frames = [np.zeros_like(f) if 48 <= i < 54 else night(i) if 60 <= i < 96 else f for i, f in enumerate(shot)]
    assert check_shot(write_clip(folder / "dip.mp4", frames), ask()) == []


# --- frozen --------------------------------------------------------------------------


def test_a_frozen_stretch_is_flagged_with_its_seconds(folder: Path, shot: Frames) -> None:
    frames = [shot[48] if 48 <= i < 84 else f for i, f in enumerate(shot)]
    flags = check_shot(write_clip(folder / "frozen.mp4", frames), ask())
    assert kinds(flags) == [FlagKind.FROZEN]
    assert (flags[0].start_seconds, flags[0].end_seconds) == (2.0, 3.5)
    assert flags[0].message == "Seconds 2.0–3.5 are frozen."
    assert flags[0].measured < FROZEN_CHANGED_FRACTION


def test_a_still_picture_and_a_short_pause(folder: Path, shot: Frames) -> None:
    still = check_shot(write_clip(folder / "still.mp4", [shot[10]] * 48), ask(duration=2))
    assert [(f.kind, f.message) for f in still] == [(FlagKind.FROZEN, "The whole shot is a still picture.")]
    pause = [shot[48] if 48 <= i < 60 else f for i, f in enumerate(shot)]  # half a second
    assert check_shot(write_clip(folder / "pause.mp4", pause), ask()) == []


# --- what was asked ------------------------------------------------------------------


def test_a_shorter_clip_than_asked(folder: Path, shot: Frames) -> None:
    path = write_clip(folder / "short.mp4", shot)
    flags = check_shot(path, ask(duration=8))
    assert [(f.kind, f.message, f.measured, f.expected) for f in flags] == [
        (FlagKind.DURATION, "Asked for 8 s, got 4.0 s.", 4.0, 8.0)
    ]
    assert check_shot(write_clip(folder / "one_frame_short.mp4", shot[:-1]), ask()) == []


def test_720p_when_1080p_was_asked_is_a_silent_downgrade(folder: Path) -> None:
    frames = [np.full((720, 1280, 3), 40 + 4 * i, np.uint8) for i in range(24)]
    flags = check_shot(write_clip(folder / "720p.mp4", frames), ask(duration=1, resolution="1080p"))
    assert [(f.kind, f.message, f.measured, f.expected) for f in flags] == [
        (FlagKind.RESOLUTION, "Asked for 1080p, got 720p: a silent downgrade.", 720.0, 1080.0)
    ]


def test_9_16_when_16_9_was_asked(folder: Path, shot: Frames) -> None:
    portrait = [np.full((426, 240, 3), 40 + 4 * i, np.uint8) for i in range(24)]
    flags = check_shot(write_clip(folder / "portrait.mp4", portrait), ask(duration=1))
    assert [(f.kind, f.message) for f in flags] == [(FlagKind.ASPECT_RATIO, "Asked for 16:9, got 9:16 (240×426).")]


# --- joins ---------------------------------------------------------------------------


def test_an_exposure_jump_at_a_join(folder: Path, shot: Frames) -> None:
    darker = [(f * 0.45).astype(np.uint8) for f in shot[48:]]
    flag = check_join(write_clip(folder / "j1.mp4", shot[:48]), write_clip(folder / "j2.mp4", darker))
    assert flag is not None and flag.kind == FlagKind.EXPOSURE_JUMP
    assert flag.measured < -JOIN_LUMA_JUMP
    assert flag.message.startswith("The picture gets much darker at the join")


def test_a_colour_jump_at_a_join(folder: Path, shot: Frames) -> None:
    cast = np.array([-50, 10, 60], np.int16)  # to blue, brightness about the same
    cooler = [np.clip(f.astype(np.int16) + cast, 0, 255).astype(np.uint8) for f in shot[48:]]
    flag = check_join(write_clip(folder / "k1.mp4", shot[:48]), write_clip(folder / "k2.mp4", cooler))
    assert flag is not None and flag.kind == FlagKind.COLOUR_JUMP
    assert flag.measured > JOIN_COLOUR_SHIFT
    assert flag.message.startswith("The colours shift sharply at the join")


# --- last frame and histogram matching -----------------------------------------------


def test_last_frame_png_is_the_last_frame_and_passes_the_upload_check(folder: Path, shot: Frames) -> None:
    path = write_clip(folder / "last.mp4", shot)
    data = last_frame_png(path)
    clean = check_image(data, name="last.png", role="first_frame")
    assert (clean.mime_type, clean.width, clean.height) == ("image/png", 426, 240)
    with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
        assert np.array_equal(np.asarray(image), decode(path)[-1])


def test_histogram_matching_moves_the_colour_towards_the_reference(shot: Frames) -> None:
    image, reference = shot[0], np.clip(shot[0].astype(np.int16) * 0.6 + [60, 20, -30], 0, 255).astype(np.uint8)
    matched_png = match_histogram(_png(image), _png(reference))
    check_image(matched_png, name="matched.png")
    with Image.open(io.BytesIO(matched_png), formats=["PNG"]) as out:
        matched = np.asarray(out.convert("RGB"))
    assert matched.shape == image.shape
    before = np.abs(image.mean(axis=(0, 1)) - reference.mean(axis=(0, 1)))
    after = np.abs(matched.mean(axis=(0, 1)) - reference.mean(axis=(0, 1)))
    assert (after < before / 3).all(), (before, after)


# --- unreadable input ----------------------------------------------------------------


def test_unreadable_input_is_a_media_error(folder: Path, shot: Frames) -> None:
    not_a_video = folder / "notes.mp4"
    not_a_video.write_bytes(b"these are not the frames you are looking for" * 100)
    good = write_clip(folder / "good.mp4", shot[:24])
    with pytest.raises(MediaError, match="corrupt"):
        check_shot(not_a_video, ask())
    with pytest.raises(MediaError, match="does not exist"):
        last_frame_png(folder / "missing.mp4")
    with pytest.raises(MediaError, match="corrupt"):
        check_join(good, not_a_video)
    with pytest.raises(MediaError, match="the reference image is not a readable PNG or JPEG"):
        match_histogram(_png(shot[0]), b"GIF89a not really")


def _png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()
