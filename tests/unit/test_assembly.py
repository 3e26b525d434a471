"""core.assembly on real clips from the offline renderer: which path each film takes, and that the result plays."""

from __future__ import annotations

import itertools
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import av.logging
import numpy as np
import pytest

from core.assembly import MAX_FILM_SECONDS, Clip, Soundtrack, assemble_movie
from core.errors import MediaError
from core.media import make_poster, make_thumbnail, probe_video
from core.providers.base import GenerationRequest
from core.providers.offline import render_video

FPS = 24
RATE = 48_000
CLICK_SECONDS = 0.5


# --- clips -------------------------------------------------------------------------------


def _render(path: Path, prompt: str, seconds: int, resolution: str = "240p") -> Path:
    request = GenerationRequest(model="m", prompt=prompt, duration_seconds=seconds, resolution=resolution)
    render_video(request, 0, path)
    return path


def _tone(hz: float, seconds: float) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * hz * np.arange(round(seconds * RATE)) / RATE)).astype(np.float32)


def _click(seconds: float, at: float = CLICK_SECONDS) -> np.ndarray:
    """Silence with one 5 ms burst at 2 kHz starting ``at`` seconds in: a mark to find again."""
    wave = np.zeros(round(seconds * RATE), np.float32)
    burst = np.arange(round(0.005 * RATE))
    wave[round(at * RATE) + burst] = 0.8 * np.sin(2 * np.pi * 2000 * burst / RATE)
    return wave


def _encode_sound(out: av.container.OutputContainer, stream: av.audio.stream.AudioStream, wave: np.ndarray) -> None:
    for start in range(0, wave.size, 1024):
        chunk = np.repeat(wave[None, start : start + 1024], stream.channels, axis=0)
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=stream.layout.name)
        frame.sample_rate, frame.pts, frame.time_base = RATE, start, Fraction(1, RATE)
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def _with_tone(src: Path, dest: Path, hz: float | None) -> Path:
    """The clip's video packets as they are, plus a sine tone (or a click, for None) as long as the picture."""
    with av.open(str(src)) as inp, av.open(str(dest), "w", format="mp4") as out:
        vin = inp.streams.video[0]
        seconds = vin.frames / FPS
        vout = out.add_stream_from_template(vin)
        aout = out.add_stream("aac", rate=RATE, layout="stereo")
        for packet in inp.demux(vin):
            if packet.dts is not None:
                packet.stream = vout
                out.mux(packet)
        _encode_sound(out, aout, _click(seconds) if hz is None else _tone(hz, seconds))
    return dest


def _reencoded(
    src: Path, dest: Path, *, codec: str = "libx264", fps: int = FPS, options: dict[str, str] | None = None
) -> Path:
    """The clip's pictures encoded again: at another frame rate, or by another encoder or settings."""
    with av.open(str(src)) as inp, av.open(str(dest), "w", format="mp4") as out:
        vin = inp.streams.video[0]
        vout = out.add_stream(codec, rate=fps, options=options or {})
        vout.width, vout.height, vout.pix_fmt = vin.width, vin.height, "yuv420p"
        vout.codec_context.gop_size = fps  # an IDR frame every second, like the offline renderer
        frames = list(inp.decode(vin))  # a 1–2 s test clip
        count = round(len(frames) / FPS * fps)
        for i in range(count):
            frame = frames[min(len(frames) - 1, i * FPS // fps)].reformat(format="yuv420p")
            frame.pts, frame.time_base, frame.pict_type = i, Fraction(1, fps), av.video.frame.PictureType.NONE
            out.mux(vout.encode(frame))
        out.mux(vout.encode(None))
    return dest


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """240p clips of 1–2 s: with sound (a tone each), silent, and ones that differ from the rest."""
    folder = tmp_path_factory.mktemp("clips")
    a = _render(folder / "a.mp4", "a red fox running through snow", 2)
    b = _render(folder / "b.mp4", "a blue whale under the ocean", 1)
    c = _render(folder / "c.mp4", "a green forest at night", 2)
    clips_long = _render(folder / "long.mp4", "a purple city in the rain", 3)
    return {
        "a": _with_tone(a, folder / "a-tone.mp4", 440),
        "b": _with_tone(b, folder / "b-tone.mp4", 660),
        "c": _with_tone(c, folder / "c-tone.mp4", 880),
        "long": _with_tone(clips_long, folder / "long-tone.mp4", 550),
        "click-a": _with_tone(a, folder / "a-click.mp4", None),
        "click-b": _with_tone(b, folder / "b-click.mp4", None),
        "silent-a": a,
        "silent-b": b,
        "silent-c": c,
        "360p": _render(folder / "d.mp4", "a yellow balloon over a desert", 1, resolution="360p"),
        "30fps": _reencoded(b, folder / "b30.mp4", fps=30),
        "other-encoder": _reencoded(c, folder / "c-medium.mp4", options={"preset": "medium"}),  # High, B-frames
        "bframes-a": _reencoded(a, folder / "a-bframes.mp4", options={"preset": "veryfast"}),
        "bframes-long": _reencoded(clips_long, folder / "long-bframes.mp4", options={"preset": "veryfast"}),
        "mpeg4": _reencoded(b, folder / "b-mpeg4.mp4", codec="mpeg4"),
    }


# --- what the output holds ---------------------------------------------------------------


@contextmanager
def _ffmpeg_errors() -> Iterator[list[str]]:
    """Collect what FFmpeg logs at error level or worse while decoding."""
    av.logging.set_level(av.logging.ERROR)
    try:
        with av.logging.Capture() as logs:
            found: list[str] = []
            yield found
            found.extend(f"{name}: {message}" for _level, name, message in logs)
    finally:
        av.logging.set_level(None)


def _decode(path: Path) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Every picture (as yuv420p arrays) and all the sound, decoded from first to last, with no FFmpeg error."""
    with _ffmpeg_errors() as errors, av.open(str(path)) as container:
        pictures, last_pts = [], -1
        for frame in container.decode(container.streams.video[0]):
            assert frame.pts is not None and frame.pts > last_pts
            last_pts = frame.pts
            pictures.append(frame.to_ndarray(format="yuv420p"))
        sound = None
        if container.streams.audio:
            container.seek(0)
            chunks, expected = [], None
            for frame in container.decode(container.streams.audio[0]):
                assert expected is None or frame.pts == expected, "the sound has a gap or an overlap"
                expected = frame.pts + frame.samples
                chunks.append(frame.to_ndarray())
            sound = np.concatenate(chunks, axis=1)
    assert errors == []
    return pictures, sound


def _frames_of(path: Path) -> list[np.ndarray]:
    return _decode(path)[0]


def _video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.video[0]) if p.size]


def _top_boxes(path: Path) -> list[str]:
    names, data, at = [], path.read_bytes(), 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        names.append(kind.decode())
        at += size if size > 1 else len(data)
    return names


def _level(sound: np.ndarray, start_s: float, end_s: float) -> float:
    part = sound[:, round(start_s * RATE) : round(end_s * RATE)]
    return float(np.sqrt(np.mean(part**2)))


def _strength(sound: np.ndarray, hz: float) -> float:
    """How much of the tone at ``hz`` the sound holds (relative amplitude)."""
    mono = sound.mean(axis=0)
    t = np.arange(mono.size) / RATE
    return float(np.abs(np.dot(mono, np.exp(-2j * np.pi * hz * t))) / mono.size * 2)


def _seconds(pictures: list[np.ndarray]) -> float:
    return len(pictures) / FPS


# --- stream copy -------------------------------------------------------------------------


def test_matching_clips_with_cuts_are_copied_packet_for_packet(clips: dict[str, Path], tmp_path: Path) -> None:
    order = [clips["a"], clips["b"], clips["c"], clips["a"]]
    out = tmp_path / "film.mp4"
    report = assemble_movie([Clip(p) for p in order], out)

    assert (report.video_path, report.audio_path) == ("stream copy", "copy")
    assert report.reencoded_seconds == 0 and report.normalised_clips == ()
    assert all(j.video == "copied" and j.window is None for j in report.joins)
    assert report.duration_seconds == pytest.approx(7.0)
    assert _video_packets(out) == [p for clip in order for p in _video_packets(clip)]  # nothing decoded or encoded
    facts = probe_video(out)
    assert abs(facts.duration_seconds - 7.0) <= 1 / FPS
    assert (facts.width, facts.height, facts.codec, facts.has_audio) == (426, 240, "h264", True)
    pictures, sound = _decode(out)
    assert len(pictures) == 7 * FPS
    assert sound is not None and abs(sound.shape[1] / RATE - 7.0) <= 1024 / RATE
    # each clip's tone plays while its picture does (copied AAC, in step)
    assert _strength(sound[:, round(2.2 * RATE) : round(2.8 * RATE)], 660) > 0.2
    assert _strength(sound[:, round(4.0 * RATE) : round(4.8 * RATE)], 880) > 0.2
    assert _top_boxes(out).index("moov") < _top_boxes(out).index("mdat")  # plays while it downloads


@pytest.mark.parametrize(
    ("join", "mixed", "path", "tolerance"),
    [
        ("cut", False, "copy", 512),
        ("crossfade", False, "windowed re-encode", 512),
        ("crossfade", True, "re-encode", 48),
    ],
)
def test_the_sound_stays_in_step_with_the_picture(
    clips: dict[str, Path], tmp_path: Path, join: Literal["cut", "crossfade"], mixed: bool, path: str, tolerance: int
) -> None:
    """Each clip's click is heard where its picture puts it: copied AAC within half a frame, encoded to 1 ms."""
    order = [clips["click-a"], clips["click-b"], clips["click-a"], clips["click-b"], clips["click-a"]]
    fade = 0.25 if join == "crossfade" else 0.0
    silence = Soundtrack(_soundtrack(tmp_path / "silence.m4a", 300, 1.0), "mix", 0.0) if mixed else None
    clip_list = [Clip(order[0])] + [Clip(p, join, fade) for p in order[1:]]
    report = assemble_movie(clip_list, tmp_path / "film.mp4", soundtrack=silence)
    assert report.audio_path == path
    _, sound = _decode(tmp_path / "film.mp4")
    assert sound is not None
    loud = np.flatnonzero(np.abs(sound[0]) > 0.4)
    onsets = [int(loud[0])] + [int(b) for a, b in itertools.pairwise(loud) if b - a > RATE // 10]
    expected = [round((j.at_seconds + CLICK_SECONDS) * RATE) for j in report.joins]
    expected.insert(0, round(CLICK_SECONDS * RATE))
    assert len(onsets) == len(expected)
    assert max(abs(a - b) for a, b in zip(onsets, expected, strict=True)) <= tolerance


def test_silent_clips_make_a_silent_film(clips: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "film.mp4"
    report = assemble_movie([Clip(clips["silent-a"]), Clip(clips["silent-b"])], out)
    assert (report.video_path, report.audio_path) == ("stream copy", "none")
    assert probe_video(out).has_audio is False
    assert len(_frames_of(out)) == 3 * FPS


def test_a_silent_clip_among_sounding_ones_gets_silence(clips: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "film.mp4"
    report = assemble_movie([Clip(clips["a"]), Clip(clips["silent-b"]), Clip(clips["c"])], out)
    assert (report.video_path, report.audio_path) == ("stream copy", "re-encode")
    pictures, sound = _decode(out)
    assert len(pictures) == 5 * FPS and sound is not None
    assert _level(sound, 0.5, 1.5) > 0.1
    assert _level(sound, 2.1, 2.9) < 0.01
    assert _level(sound, 3.5, 4.5) > 0.1


def test_changing_one_shot_copies_the_others_again(clips: dict[str, Path], tmp_path: Path) -> None:
    first = assemble_movie([Clip(clips["a"]), Clip(clips["b"])], tmp_path / "one.mp4")
    second = assemble_movie([Clip(clips["a"]), Clip(clips["c"])], tmp_path / "two.mp4")
    assert first.video_path == second.video_path == "stream copy"
    assert _video_packets(tmp_path / "two.mp4")[: 2 * FPS] == _video_packets(clips["a"])


# --- crossfades --------------------------------------------------------------------------


def test_crossfades_encode_only_a_window_around_each_join(clips: dict[str, Path], tmp_path: Path) -> None:
    order = [clips["a"], clips["long"], clips["a"]]  # 2 s, 3 s, 2 s, an IDR frame every second
    out = tmp_path / "film.mp4"
    report = assemble_movie([Clip(order[0]), Clip(order[1], "crossfade", 0.5), Clip(order[2], "crossfade", 0.5)], out)

    assert (report.video_path, report.audio_path) == ("windowed re-encode", "windowed re-encode")
    assert report.duration_seconds == pytest.approx(7.0 - 1.0)
    assert [(j.kind, j.seconds, j.at_seconds) for j in report.joins] == [
        ("crossfade", 0.5, 1.5),
        ("crossfade", 0.5, 4.0),
    ]
    # From the fade's start (no B-frames: the copy may end at any frame) to the incoming clip's
    # first IDR frame after the fade (at 1 s of it).
    assert [j.window for j in report.joins] == [(1.5, 2.5), (4.0, 5.0)]
    assert (report.reencoded_seconds, report.copied_seconds) == pytest.approx((2.0, 4.0))

    pictures, sound = _decode(out)
    assert len(pictures) == 6 * FPS
    source_a, source_long = _frames_of(order[0]), _frames_of(order[1])
    # Outside the windows the pictures are the clips' own, bit for bit: copied, decoded with the clips' SPS/PPS.
    for film_frame, expected in [(10, source_a[10]), (35, source_a[35]), (65, source_long[29]), (130, source_a[34])]:
        assert np.array_equal(pictures[film_frame], expected)
    # Inside, our encoder's frames (under its own SPS/PPS id) decode to the clips' pictures and their blend.
    assert _psnr(pictures[50], source_long[14]) > 30
    assert _psnr(pictures[110], source_a[14]) > 30
    p = 6  # half way through the first fade (film frames 36–47)
    blend = (source_a[36 + p].astype(np.float64) * (12 - p) + source_long[p].astype(np.float64) * (p + 1)) / 13
    assert _psnr(pictures[36 + p], blend) > 30
    assert sound is not None and abs(sound.shape[1] / RATE - 6.0) <= 1024 / RATE
    assert min(_level(sound, s, s + 0.1) for s in np.arange(0.1, 5.8, 0.1)) > 0.15  # no dip at the joins
    fade = sound[:, round(1.65 * RATE) : round(1.85 * RATE)]
    assert _strength(fade, 440) > 0.05 and _strength(fade, 550) > 0.05  # both tones in the fade
    # Outside the fades each clip's tone is clean, through the splices of our encoder's frames
    # among the copied ones (a splice that did not cancel the frames' overlap would click).
    for (start, end), hz in [((0.0, 1.5), 440), ((2.0, 4.0), 550), ((4.5, 6.0), 440)]:
        assert _worst_block_noise(sound, start + 0.015, end - 0.015, hz) < 0.05


def test_crossfades_between_clips_with_b_frames(clips: dict[str, Path], tmp_path: Path) -> None:
    """Clips whose frames are reordered (B-frames): the copied pieces keep their order beside ours."""
    order = [clips["bframes-a"], clips["bframes-long"], clips["bframes-a"]]
    out = tmp_path / "film.mp4"
    report = assemble_movie([Clip(order[0]), Clip(order[1], "crossfade", 0.5), Clip(order[2], "crossfade", 0.5)], out)
    assert (report.video_path, report.audio_path) == ("windowed re-encode", "none")
    (first_start, first_end), (second_start, second_end) = (j.window for j in report.joins if j.window)
    assert 1.0 <= first_start <= 1.5 and 3.5 <= second_start <= 4.0  # a clean end before each fade
    assert (first_end, second_end) == (2.5, 5.0)  # the incoming clip's IDR frame at 1 s
    pictures = _frames_of(out)
    assert len(pictures) == 6 * FPS
    source_a, source_long = _frames_of(order[0]), _frames_of(order[1])
    copied = [(0, source_a[0]), (23, source_a[23]), (60, source_long[24]), (83, source_long[47]), (143, source_a[47])]
    for film_frame, expected in copied:
        assert np.array_equal(pictures[film_frame], expected)
    assert _psnr(pictures[50], source_long[14]) > 30 and _psnr(pictures[110], source_a[14]) > 30


def _worst_block_noise(sound: np.ndarray, start_s: float, end_s: float, hz: float) -> float:
    """Over 1024-sample blocks, the most sound not explained by a sine at ``hz``, relative to it."""
    mono, worst = sound.mean(axis=0), 0.0
    for at in range(round(start_s * RATE), round(end_s * RATE) - 1024, 512):
        block, t = mono[at : at + 1024], np.arange(at, at + 1024) / RATE
        basis = np.stack([np.sin(2 * np.pi * hz * t), np.cos(2 * np.pi * hz * t)], axis=1)
        fit, *_ = np.linalg.lstsq(basis, block, rcond=None)
        worst = max(worst, float(np.std(block - basis @ fit) / np.std(basis @ fit)))
    return worst


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255**2 / mse)


def test_a_crossfade_as_long_as_a_clip_allows_re_encodes_that_clip_whole(
    clips: dict[str, Path], tmp_path: Path
) -> None:
    order = [Clip(clips["a"]), Clip(clips["b"], "crossfade", 0.5), Clip(clips["c"], "crossfade", 0.5)]
    report = assemble_movie(order, tmp_path / "film.mp4")  # b lasts 1 s: no IDR frame between its fades
    assert report.video_path == "windowed re-encode"
    assert report.joins[0].window == report.joins[1].window
    assert len(_frames_of(tmp_path / "film.mp4")) == 4 * FPS


def test_a_crossfade_longer_than_a_clip_allows_is_refused(clips: dict[str, Path], tmp_path: Path) -> None:
    order = [Clip(clips["a"]), Clip(clips["b"], "crossfade", 0.6), Clip(clips["c"], "crossfade", 0.6)]
    with pytest.raises(MediaError, match="less than its crossfades"):
        assemble_movie(order, tmp_path / "film.mp4")
    assert not (tmp_path / "film.mp4").exists()


# --- clips that differ -------------------------------------------------------------------


def test_clips_that_differ_are_normalised_and_only_they_encoded(clips: dict[str, Path], tmp_path: Path) -> None:
    order = [clips["silent-a"], clips["360p"], clips["silent-c"], clips["30fps"], clips["other-encoder"]]
    out = tmp_path / "film.mp4"
    report = assemble_movie([Clip(p) for p in order], out)

    assert report.video_path == "windowed re-encode"
    assert report.normalised_clips == (1, 3, 4)
    assert (report.width, report.height, report.fps) == (426, 240, 24.0)
    assert (report.reencoded_seconds, report.copied_seconds) == pytest.approx((4.0, 4.0))
    pictures = _frames_of(out)
    assert len(pictures) == 8 * FPS
    assert {p.shape for p in pictures} == {(360, 426)}  # yuv420p at 426×240: 240 rows of luma, 120 of chroma
    assert np.array_equal(pictures[5], _frames_of(clips["silent-a"])[5])  # copied
    assert np.array_equal(pictures[3 * FPS + 5], _frames_of(clips["silent-c"])[5])  # copied after a normalised clip


def test_a_clip_no_browser_takes_means_a_full_re_encode(clips: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "film.mp4"
    report = assemble_movie([Clip(clips["mpeg4"]), Clip(clips["mpeg4"], "crossfade", 0.25)], out)
    assert report.video_path == "full re-encode"
    facts = probe_video(out)
    assert (facts.codec, facts.width, facts.height) == ("h264", 426, 240)
    assert len(_frames_of(out)) == 2 * FPS - 6
    assert make_poster(out) and make_thumbnail(out)  # stored like any video


# --- soundtrack --------------------------------------------------------------------------


def _soundtrack(path: Path, hz: float, seconds: float) -> Path:
    with av.open(str(path), "w", format="mp4") as out:
        _encode_sound(out, out.add_stream("aac", rate=RATE, layout="stereo"), _tone(hz, seconds))
    return path


def test_a_soundtrack_replaces_the_clips_sound(clips: dict[str, Path], tmp_path: Path) -> None:
    music = _soundtrack(tmp_path / "music.m4a", 300, 10.0)  # longer than the film: cut, faded out
    out = tmp_path / "film.mp4"
    report = assemble_movie([Clip(clips["a"]), Clip(clips["c"])], out, soundtrack=Soundtrack(music, "replace", 1.0))
    assert (report.video_path, report.audio_path) == ("stream copy", "re-encode")
    _, sound = _decode(out)
    assert sound is not None and abs(sound.shape[1] / RATE - 4.0) <= 1024 / RATE
    assert _strength(sound[:, RATE : 2 * RATE], 300) > 0.25
    assert _strength(sound[:, RATE : 2 * RATE], 440) < 0.01
    assert _level(sound, 0.0, 0.02) < _level(sound, 1.0, 1.02) / 4  # faded in
    assert _level(sound, 3.98, 4.0) < _level(sound, 3.0, 3.02) / 4  # and out at the film's end


def test_a_soundtrack_mixed_under_the_clips(clips: dict[str, Path], tmp_path: Path) -> None:
    music = _soundtrack(tmp_path / "music.m4a", 300, 2.0)  # shorter than the film: silence after it
    out = tmp_path / "film.mp4"
    assemble_movie([Clip(clips["a"]), Clip(clips["c"])], out, soundtrack=Soundtrack(music, "mix", 0.5))
    _, sound = _decode(out)
    assert sound is not None
    first = sound[:, round(0.5 * RATE) : round(1.5 * RATE)]
    assert _strength(first, 440) > 0.25 and 0.1 < _strength(first, 300) < 0.2  # the clip's, and music at half
    late = sound[:, round(2.8 * RATE) : round(3.8 * RATE)]
    assert _strength(late, 880) > 0.25 and _strength(late, 300) < 0.01


def test_a_soundtrack_that_is_not_sound_is_refused(clips: dict[str, Path], tmp_path: Path) -> None:
    fake = tmp_path / "music.mp3"
    fake.write_bytes(b"<html>not music</html>")
    with pytest.raises(MediaError, match="soundtrack"):
        assemble_movie([Clip(clips["a"])], tmp_path / "film.mp4", soundtrack=Soundtrack(fake))
    with pytest.raises(MediaError, match="soundtrack"):
        assemble_movie([Clip(clips["a"])], tmp_path / "film.mp4", soundtrack=Soundtrack(tmp_path / "none.wav"))
    assert not (tmp_path / "film.mp4").exists()


# --- errors ------------------------------------------------------------------------------


def test_no_clips_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="at least one clip"):
        assemble_movie([], tmp_path / "film.mp4")


def test_an_unreadable_clip_is_named(clips: dict[str, Path], tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(clips["a"].read_bytes()[:5000])
    with pytest.raises(MediaError, match=r"clip 2 \(broken.mp4\) cannot be used"):
        assemble_movie([Clip(clips["a"]), Clip(broken)], tmp_path / "film.mp4")
    with pytest.raises(MediaError, match=r"clip 1 \(gone.mp4\) cannot be used"):
        assemble_movie([Clip(tmp_path / "gone.mp4")], tmp_path / "film.mp4")


def test_a_film_over_the_limit_is_refused(clips: dict[str, Path], tmp_path: Path) -> None:
    too_many = [Clip(clips["a"])] * (MAX_FILM_SECONDS // 2 + 1)
    with pytest.raises(MediaError, match=f"the most is {MAX_FILM_SECONDS} s"):
        assemble_movie(too_many, tmp_path / "film.mp4")
    assert list(tmp_path.iterdir()) == []  # nothing left behind
