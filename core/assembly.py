"""Movie assembly: a movie's clips joined in order into one MP4 that browsers play.

Owns the joining of finished clips (a shot's chosen take: 4–10 s from Veo, Omni or the
offline renderer) into a film of at most ``MAX_FILM_SECONDS``: cuts and crossfades, silence
for silent clips, and a soundtrack that replaces the clips' sound or is mixed under it.
Nothing is rendered again: changing one shot and assembling again reads the other clips as
they are. The output is H.264 (yuv420p) and AAC in an MP4 whose index comes first.

The cheapest correct path is taken, and the report says which and why:

- **stream copy**: every clip is browser-safe H.264 of one size, frame rate and set of
  parameter sets, and every join is a cut. Packets are copied with their timestamps moved
  along the film; nothing is decoded. Audio is copied too when every clip has the same AAC
  layout (or none has sound).
- **windowed re-encode**: only what must change is encoded. Around each crossfade, from the
  last frame before the fade where the outgoing clip's copy can end cleanly (any frame without
  B-frames, every few frames with them) to the first IDR frame of the incoming clip after the
  fade; and whole clips of another size, frame rate or encoder ("normalised"). Everything else
  is copied.
- **full re-encode**: no clip can be copied (not H.264 4:2:0, for one), or the copied and
  encoded pieces cannot be put in one track correctly; every frame is encoded.

Audio follows the same rule when every clip's sound is AAC of one layout and there is no
soundtrack: packets are copied, and around each crossfade only a window is encoded and spliced
in (see ``_AudioCopy`` for how the splices stay clean and in step). Otherwise (a silent clip
among sounding ones, other layouts, a soundtrack) the whole track is decoded, mixed and
encoded again.

Copied and encoded pieces in one track: an MP4 ``avc1`` track keeps its H.264 parameter sets
(SPS/PPS) in the one ``avcC`` record of its sample entry, not in the samples (ISO/IEC
14496-15; parameter sets in the samples need the ``avc3`` sample entry). Pieces from two
encoders can share a track only if both sets of parameter sets fit in that record at once.
Our encoder therefore writes its own under an id the clips do not use (x264's ``sps-id``)
and the record lists both; its profile and level are the clips'. Clips whose parameter sets
clash with the film's (same id, other contents: another encoder or other settings) are
normalised like a clip of another size.

Imports the standard library, PyAV, numpy, ``core.media`` and ``core.errors``; never
streamlit, pages, workers or sqlalchemy.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import tempfile
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import av.audio.codeccontext
import av.audio.stream
import av.codec.context
import av.container
import av.video.codeccontext
import av.video.frame
import numpy as np
import numpy.typing as npt

from core.errors import MediaError

# The one MP4 reader: file protocol only, MP4 demuxer only, truncated files refused.
from core.media import MP4_DEMUXER, _check_boxes
from core.media import _open as open_mp4

MAX_FILM_SECONDS = 300
"""Longest film assembled, in seconds."""

VIDEO_PRESET = "veryfast"
"""x264 preset of every frame we encode: crossfade windows, normalised clips, full re-encodes."""

VIDEO_CRF = 20
"""x264 constant rate factor of every frame we encode (lower is better and bigger)."""

KEYFRAME_SECONDS = 2
"""Longest gap between keyframes in what we encode, in seconds, so seeking stays cheap."""

AUDIO_SAMPLE_RATE = 48_000
"""Samples per second of audio we encode."""

AUDIO_BITRATE = 128_000
"""Bits per second of audio we encode (AAC-LC, stereo)."""

SOUNDTRACK_FADE_SECONDS = 0.5
"""Fade-in at the start and fade-out at the end of a soundtrack, in seconds."""

SOUNDTRACK_DEMUXERS = "mov,mp3,wav,ogg,flac,aac"
"""FFmpeg demuxers a soundtrack may be read with (M4A/MP4, MP3, WAV, Ogg, FLAC, ADTS AAC)."""

JoinKind = Literal["cut", "crossfade"]
VideoPath = Literal["stream copy", "windowed re-encode", "full re-encode"]
AudioPath = Literal["copy", "windowed re-encode", "re-encode", "none"]

_BROWSER_PROFILES = {66: "baseline", 77: "main", 100: "high"}  # H.264 profile_idc → x264 profile
_NO_DECODING = {"skip_frame": "all", "threads": "1"}  # what FFmpeg's stream probe may do to a clip we only copy
_AUDIO_BLOCK = 8192  # samples handled at a time
_AUDIO_ROLL_FRAMES = 3  # AAC frames coded and dropped before and after a crossfade's window
_Samples = npt.NDArray[np.float32]  # (channels, samples)


@dataclass(frozen=True)
class Clip:
    """One shot's chosen take, and how it meets the clip before it (ignored for the first clip)."""

    path: Path
    join: JoinKind = "cut"
    crossfade_seconds: float = 0.0


@dataclass(frozen=True)
class Soundtrack:
    """Music the creator uploaded: it replaces the clips' sound, or is mixed under it."""

    path: Path
    mode: Literal["replace", "mix"] = "mix"
    level: float = 0.5
    """Linear gain on the soundtrack, 0–1 (0.5 is −6 dB)."""


@dataclass(frozen=True)
class JoinReport:
    """What happened at the join that leads into clip ``clip``."""

    clip: int
    """Index in the clips given (from 0) of the clip the join leads into; messages count from 1."""
    kind: JoinKind
    seconds: float
    """Crossfade length as assembled (whole frames); 0 for a cut."""
    at_seconds: float
    """Film time where the clip starts."""
    video: Literal["copied", "re-encoded"]
    window: tuple[float, float] | None
    """Film seconds encoded around the join, or None when both sides were copied."""


@dataclass(frozen=True)
class AssemblyReport:
    """How a film was assembled."""

    duration_seconds: float
    video_path: VideoPath
    audio_path: AudioPath
    reason: str
    width: int
    height: int
    fps: float
    joins: tuple[JoinReport, ...]
    normalised_clips: tuple[int, ...]
    """Indexes (from 0) of clips encoded whole: their size, frame rate or encoder differs from the film's."""
    reencoded_seconds: float
    """Seconds of video we encoded; the rest was copied."""
    copied_seconds: float


def assemble_movie(clips: Sequence[Clip], dest: Path, *, soundtrack: Soundtrack | None = None) -> AssemblyReport:
    """Join ``clips`` in order into ``dest`` (written beside it, then renamed) and say how.

    Raises MediaError for no clips, an unreadable clip or soundtrack, a crossfade longer than
    a clip allows, or a film longer than ``MAX_FILM_SECONDS``.
    """
    if not clips:
        raise MediaError("a movie needs at least one clip")
    _check_request(clips, soundtrack)
    with contextlib.ExitStack() as stack:
        opened: _Pool = {}  # the clips stay open from their inspection to their copy
        sources = [_inspect(i, Path(clip.path), stack, opened) for i, clip in enumerate(clips)]
        if soundtrack is not None:
            with _soundtrack(Path(soundtrack.path)):
                pass  # readable and holding sound, before any work is done
        film = _Film.plan(clips, sources, soundtrack, full=False)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            try:
                _write(film, tmp, opened)
            except _CannotCopy as exc:
                why = f"copied and encoded frames cannot share one track ({exc}): every frame is encoded"
                film = _Film.plan(clips, sources, soundtrack, full=True, why=why)
                _write(film, tmp, opened)
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return film.report()


class _CannotCopy(Exception):
    """Copied and encoded pieces cannot share the track correctly; encode everything instead."""


def _check_request(clips: Sequence[Clip], soundtrack: Soundtrack | None) -> None:
    for i, clip in enumerate(clips[1:], start=1):
        if clip.join not in ("cut", "crossfade"):
            raise MediaError(f"clip {i + 1}: a join is a cut or a crossfade, not {clip.join!r}")
        if clip.join == "crossfade" and not (math.isfinite(clip.crossfade_seconds) and clip.crossfade_seconds > 0):
            raise MediaError(f"clip {i + 1}: a crossfade needs a length in seconds above 0")
    if soundtrack is not None:
        if soundtrack.mode not in ("replace", "mix"):
            raise MediaError(f"a soundtrack replaces or is mixed, not {soundtrack.mode!r}")
        if not (math.isfinite(soundtrack.level) and 0 <= soundtrack.level <= 1):
            raise MediaError("a soundtrack's level is a gain from 0 to 1")


# --- what each clip is ---------------------------------------------------------------


@dataclass(frozen=True)
class _AudioFacts:
    codec: str
    sample_rate: int
    layout: str
    extradata: bytes
    seconds: float


@dataclass(frozen=True)
class _Source:
    index: int
    path: Path
    codec: str
    width: int
    height: int
    pix_fmt: str
    fps: Fraction
    time_base: Fraction
    frames: int
    start_pts: int
    delay: int
    """Presentation minus decoding time of the first packet (B-frame reordering), in time_base."""
    starts_with_idr: bool
    params: _ParameterSets | None
    colour: tuple[int, int, int, int]
    audio: _AudioFacts | None

    @property
    def seconds(self) -> float:
        return float(self.frames / self.fps)

    @property
    def copy_key(self) -> tuple[object, ...] | None:
        """What two clips must share for their packets to follow each other in one track."""
        p = self.params
        if self.codec != "h264" or self.pix_fmt != "yuv420p" or p is None or p.profile not in _BROWSER_PROFILES:
            return None
        if self.width % 2 or self.height % 2:  # 4:2:0 encoders (ours) want even sizes
            return None
        return (self.width, self.height, self.fps, p.sps, p.pps, p.length_size)

    def describe(self) -> str:
        return f"{self.codec} {self.width}×{self.height} {self.pix_fmt} at {float(self.fps):g} fps"


def _inspect(index: int, path: Path, stack: contextlib.ExitStack, opened: _Pool) -> _Source:
    """What the clip holds; the clip is left open in ``opened`` (closed by ``stack``) for its copy."""
    try:
        container = stack.enter_context(_open_clip(path))
        if not container.streams.video:
            raise MediaError("it has no video stream")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate or rate <= 0 or stream.time_base is None or ctx.width <= 0 or ctx.height <= 0:
            raise MediaError("its video stream has no frame rate, time base or picture size")
        fps, time_base = Fraction(rate), Fraction(stream.time_base)
        # Read up to the first picture, keeping what was read: seeking back to the start would
        # lose the sound's priming packet (FFmpeg seeks to the edit list's start, after it).
        head: list[av.Packet] = []
        first = None
        for packet in container.demux():
            head.append(packet)
            if packet.stream_index == stream.index and packet.pts is not None and packet.dts is not None:
                first = packet
                break
        opened[index] = _Opened(container, head)
        if first is None or first.pts is None or first.dts is None:
            raise MediaError("its video stream has no frames")
        frames = stream.frames or round((stream.duration or 0) * time_base * fps)
        if frames <= 0:
            raise MediaError("its duration is zero or unknown")
        audio = _audio_facts(container.streams.audio[0]) if container.streams.audio else None
        params = _ParameterSets.parse(ctx.extradata or b"") if ctx.name == "h264" else None
        return _Source(
            index=index,
            path=path,
            codec=ctx.name,
            width=ctx.width,
            height=ctx.height,
            pix_fmt=(params.pix_fmt if params else ctx.pix_fmt) or "unknown",
            fps=fps,
            time_base=time_base,
            frames=frames,
            start_pts=first.pts,
            delay=first.pts - first.dts,
            starts_with_idr=bool(params and first.is_keyframe and 5 in _nal_types(first, params.length_size)),
            params=params,
            colour=(ctx.color_range, ctx.colorspace, ctx.color_primaries, ctx.color_trc),
            audio=audio,
        )
    except (MediaError, av.FFmpegError) as exc:
        raise MediaError(f"clip {index + 1} ({path.name}) cannot be used: {exc}") from exc


def _audio_facts(stream: av.audio.stream.AudioStream) -> _AudioFacts:
    ctx = stream.codec_context
    seconds = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else 0.0
    return _AudioFacts(ctx.name, ctx.sample_rate, ctx.layout.name, bytes(ctx.extradata or b""), seconds)


@contextlib.contextmanager
def _open_clip(path: Path) -> Iterator[av.container.InputContainer]:
    """Open a clip: ``core.media``'s reader (file protocol, MP4 demuxer, truncated files refused),
    except that FFmpeg's stream probe decodes no frame.

    That takes 1.6 ms a clip instead of 5.6 ms, most of a stream copy's time; decoding later is
    unchanged (the probe's options are not the decoders'). The pixel format is read from the SPS.
    """
    if not path.is_file():
        raise MediaError(f"the video file does not exist: {path.name}")
    try:
        container = av.open(
            "file:" + str(path.resolve()),
            format=MP4_DEMUXER,
            container_options={"protocol_whitelist": "file"},
            options=_NO_DECODING,
        )
    except (av.FFmpegError, OSError) as exc:
        raise MediaError(f"the video file is corrupt or truncated: FFmpeg cannot read it ({exc})") from exc
    try:
        _check_boxes(path, path.stat().st_size)
        yield container
    except av.FFmpegError as exc:
        raise MediaError(f"the video file is corrupt or truncated: FFmpeg cannot read it ({exc})") from exc
    finally:
        container.close()


@dataclass
class _Opened:
    """A clip its inspection left open, and the packets it read from it."""

    container: av.container.InputContainer
    head: list[av.Packet]


_Pool = dict[int, _Opened]


@contextlib.contextmanager
def _clip_packets(source: _Source, opened: _Pool) -> Iterator[tuple[av.container.InputContainer, list[av.Packet]]]:
    """The clip open for its packets, and those already read from it: as its inspection left it, or anew."""
    kept = opened.pop(source.index, None)
    if kept is None:
        with _open_clip(source.path) as container:
            yield container, []
        return
    try:
        yield kept.container, kept.head
    except av.FFmpegError as exc:
        raise MediaError(f"the video file is corrupt or truncated: FFmpeg cannot read it ({exc})") from exc
    finally:
        kept.container.close()


# --- the plan --------------------------------------------------------------------------


@dataclass
class _Film:
    """Where every clip sits in the film, in frames, and which frames are copied or encoded."""

    clips: Sequence[Clip]
    sources: list[_Source]
    soundtrack: Soundtrack | None
    fps: Fraction
    width: int
    height: int
    starts: list[int]
    lengths: list[int]
    fades: list[int]
    """Frames of crossfade into each clip (0 for a cut and for the first clip)."""
    copied: dict[int, tuple[int, int]]
    """Clip index → its frames [start, end) copied as packets."""
    runs: list[tuple[int, int]]
    """Film frames [start, end) encoded, in order."""
    reference: _Source | None
    normalised: tuple[int, ...]
    audio_path: AudioPath
    reason: str

    @property
    def total(self) -> int:
        return self.starts[-1] + self.lengths[-1]

    @property
    def video_path(self) -> VideoPath:
        if not self.runs:
            return "stream copy"
        return "windowed re-encode" if self.copied else "full re-encode"

    @classmethod
    def plan(
        cls, clips: Sequence[Clip], sources: list[_Source], soundtrack: Soundtrack | None, *, full: bool, why: str = ""
    ) -> _Film:
        groups: dict[tuple[object, ...], list[_Source]] = {}
        for s in sources:
            key = s.copy_key
            if key is not None and not full:
                groups.setdefault(key, []).append(s)
        # The film takes the clips that cover the most time; the others are normalised to it.
        best = max(groups.values(), key=lambda g: sum(s.frames / s.fps for s in g), default=None)
        reference = best[0] if best else max(sources, key=lambda s: s.frames / s.fps)
        fps = reference.fps
        width, height = reference.width + reference.width % 2, reference.height + reference.height % 2
        members = {s.index for s in best} if best else set()
        lengths = [s.frames if s.index in members else max(1, round(s.frames / s.fps * fps)) for s in sources]
        fades = [0] + [max(1, round(c.crossfade_seconds * fps)) if c.join == "crossfade" else 0 for c in clips[1:]]
        for i, n in enumerate(lengths):
            outgoing = fades[i + 1] if i + 1 < len(lengths) else 0
            if fades[i] + outgoing > n:
                raise MediaError(
                    f"clip {i + 1} lasts {float(n / fps):.2f} s, less than its crossfades"
                    f" ({float(fades[i] / fps):.2f} s in, {float(outgoing / fps):.2f} s out)"
                )
        starts = [0]
        for i in range(1, len(sources)):
            starts.append(starts[-1] + lengths[i - 1] - fades[i])
        total = starts[-1] + lengths[-1]
        if total / fps > MAX_FILM_SECONDS + 0.5 / fps:
            raise MediaError(f"the film would last {float(total / fps):.1f} s; the most is {MAX_FILM_SECONDS} s")

        copied: dict[int, tuple[int, int]] = {}
        for i in sorted(members):
            span = _copy_span(sources[i], lengths[i], fades[i], fades[i + 1] if i + 1 < len(sources) else 0)
            if span is not None:
                copied[i] = span
        runs, edge = [], 0
        for i in sorted(copied):
            first, end = copied[i]
            if starts[i] + first > edge:
                runs.append((edge, starts[i] + first))
            edge = starts[i] + end
        if edge < total:
            runs.append((edge, total))

        normalised = tuple(s.index for s in sources if s.index not in members)
        film = cls(
            clips, sources, soundtrack, fps, width, height, starts, lengths, fades, copied, runs,
            reference if best else None, normalised, _audio_path(clips, sources, soundtrack, lengths, fades, fps), "",
        )  # fmt: skip
        film.reason = why or film._why(best is not None)
        return film

    def _why(self, copyable: bool) -> str:
        if not copyable:
            kinds = sorted({s.describe() for s in self.sources})
            return f"no clip can be copied into a browser-safe MP4 ({'; '.join(kinds)}): every frame is encoded"
        if not self.copied:
            return "no IDR frame lies outside the crossfades, so nothing can be copied: every frame is encoded"
        parts = []
        crossfades = sum(1 for f in self.fades if f)
        if crossfades:
            parts.append(f"{crossfades} crossfade(s): only a window around each is encoded")
        if self.normalised:
            assert self.reference is not None
            names = ", ".join(str(i + 1) for i in self.normalised)
            parts.append(f"clip(s) {names} differ from the film ({self.reference.describe()}): encoded whole")
        return "; ".join(parts) or "every clip matches and every join is a cut: packets copied, nothing decoded"

    def seconds(self, frames: int) -> float:
        return float(frames / self.fps)

    def report(self) -> AssemblyReport:
        joins = []
        for i in range(1, len(self.sources)):
            clean = self.fades[i] == 0 and self.copied.get(i - 1, (0, -1))[1] == self.lengths[i - 1]
            clean = clean and self.copied.get(i, (-1, 0))[0] == 0
            window = next(((a, b) for a, b in self.runs if a <= self.starts[i] <= b), None)
            joins.append(
                JoinReport(
                    clip=i,
                    kind=self.clips[i].join,
                    seconds=self.seconds(self.fades[i]),
                    at_seconds=self.seconds(self.starts[i]),
                    video="copied" if clean else "re-encoded",
                    window=None if clean or window is None else (self.seconds(window[0]), self.seconds(window[1])),
                )
            )
        encoded = sum(b - a for a, b in self.runs)
        return AssemblyReport(
            duration_seconds=self.seconds(self.total),
            video_path=self.video_path,
            audio_path=self.audio_path,
            reason=self.reason,
            width=self.width,
            height=self.height,
            fps=float(self.fps),
            joins=tuple(joins),
            normalised_clips=self.normalised,
            reencoded_seconds=self.seconds(encoded),
            copied_seconds=self.seconds(self.total - encoded),
        )


def _copy_span(source: _Source, length: int, fade_in: int, fade_out: int) -> tuple[int, int] | None:
    """The clip's frames that can be copied: from its first IDR frame after the fade-in to its last
    clean end before the fade-out (to its end after a cut)."""
    if fade_in == 0 and fade_out == 0:
        return (0, length) if source.starts_with_idr else None
    idrs, ends = _cut_points(source)
    first = next((k for k in idrs if k >= fade_in), None)
    end = length if fade_out == 0 else max((k for k in ends if k <= length - fade_out), default=None)
    if first is None or end is None or first >= end:
        return None
    return first, end


def _cut_points(source: _Source) -> tuple[list[int], list[int]]:
    """Where a copy of the clip may start and end, as frame indexes, read from its packets.

    A copy starts at an IDR frame (decoding starts afresh there). It may end before frame ``j``
    when the packets before it in decoding order are exactly frames 0 to j-1: none of them then
    refers to a later frame. That is any frame of a stream without B-frames, and every few
    frames with them, so the window before a crossfade need not reach back to an IDR frame.
    """
    assert source.params is not None
    idrs, ends = [], []
    to_frame = _Scale(source.time_base * source.fps)
    count, top = 0, -1
    with _open_clip(source.path) as container:
        for packet in container.demux(container.streams.video[0]):
            if packet.pts is None:
                continue
            k = to_frame(packet.pts - source.start_pts)
            if packet.is_keyframe and 5 in _nal_types(packet, source.params.length_size):
                idrs.append(k)
            count, top = count + 1, max(top, k)
            if top == count - 1:
                ends.append(count)
    return idrs, ends


def _audio_path(
    clips: Sequence[Clip],
    sources: list[_Source],
    soundtrack: Soundtrack | None,
    lengths: list[int],
    fades: list[int],
    fps: Fraction,
) -> AudioPath:
    audios = [s.audio for s in sources]
    if soundtrack is None and all(a is None for a in audios):
        return "none"
    if soundtrack is not None:
        return "re-encode"
    # Copied AAC keeps each clip's sound where it was: only if every clip has the same layout and
    # its sound lasts as long as its picture, to within one AAC frame (1024 samples).
    first = audios[0]
    for audio, source in zip(audios, sources, strict=True):
        if first is None or audio is None or first.codec != "aac":
            return "re-encode"
        if (audio.codec, audio.sample_rate, audio.layout, audio.extradata) != (
            first.codec,
            first.sample_rate,
            first.layout,
            first.extradata,
        ):
            return "re-encode"
        if abs(audio.seconds - source.seconds) > 1024 / audio.sample_rate:
            return "re-encode"
    if not any(fades):
        return "copy"
    # Crossfade windows hold our encoder's frames (AAC-LC, which it writes) among the clips', and
    # must not meet: between its fades each clip keeps some of its sound copied.
    assert first is not None
    if not first.extradata or first.extradata[0] >> 3 != 2:
        return "re-encode"
    room = 8 * Fraction(1024, first.sample_rate)  # seconds a clip needs between its fades
    for n, fade_in, fade_out in zip(lengths, fades, [*fades[1:], 0], strict=True):
        if (fade_in or fade_out) and (n - fade_in - fade_out) / fps < room:
            return "re-encode"
    return "windowed re-encode"


# --- writing ---------------------------------------------------------------------------


def _write(film: _Film, path: Path, opened: _Pool) -> None:
    items = [(film.starts[i] + a, film.starts[i] + b, i) for i, (a, b) in film.copied.items()]
    segments = sorted([*items, *((a, b, None) for a, b in film.runs)], key=lambda s: s[0])
    target = "file:" + str(path.resolve())
    with (
        contextlib.ExitStack() as stack,
        av.open(target, "w", format="mp4", container_options={"movflags": "+faststart"}) as out,
    ):
        video = _VideoTrack(film, out, opened)
        audio: _AudioCopy | _AudioMix | None = None
        if film.audio_path in ("copy", "windowed re-encode"):
            audio = _AudioCopy(film, out, opened)
        elif film.audio_path == "re-encode":
            audio = _AudioMix(film, out, stack)
        for start, end, clip in segments:
            if clip is None:
                video.encode(start, end, audio)
            else:
                video.copy(clip, audio)
            if audio is not None:
                audio.pump(end)
        video.finish()
        if audio is not None:
            audio.finish()


def _film_time_base(source: _Source) -> tuple[Fraction, int]:
    """The film's video time base and ticks per frame: the reference clip's when a frame is whole ticks."""
    ticks = 1 / (source.fps * source.time_base)
    if ticks.denominator == 1:
        return source.time_base, int(ticks)
    scale = math.ceil(10_000 / source.fps.numerator)  # MP4 timescales are usually at least 10000
    return Fraction(1, source.fps.numerator * scale), source.fps.denominator * scale


class _Scale:
    """Multiplies timestamps by a fraction, rounding half up, in integers (Fraction is slow per packet)."""

    __slots__ = ("den", "num")

    def __init__(self, factor: Fraction) -> None:
        self.num, self.den = factor.numerator, factor.denominator

    def __call__(self, value: int) -> int:
        return (2 * value * self.num + self.den) // (2 * self.den)


class _VideoTrack:
    """The film's one video track: copied packets and our encoder's, in one decoding order."""

    def __init__(self, film: _Film, out: av.container.OutputContainer, opened: _Pool) -> None:
        self.film, self.out, self.opened = film, out, opened
        self.last_dts: int | None = None
        self.fps_frames = max(1, round(film.fps))
        self.encoder_sets: _ParameterSets | None = None
        if not film.copied:  # full re-encode: the muxer's own encoder
            self.stream = out.add_stream("libx264", rate=film.fps, options=_x264_options())
            self.stream.width, self.stream.height, self.stream.pix_fmt = film.width, film.height, "yuv420p"
            self.stream.codec_context.gop_size = KEYFRAME_SECONDS * self.fps_frames
            return
        ref = film.reference
        assert ref is not None and ref.params is not None
        with open_mp4(ref.path) as container:
            self.stream = out.add_stream_from_template(container.streams.video[0])
        self.time_base, self.ticks = _film_time_base(ref)
        self.stream.time_base = self.time_base
        self.sets = ref.params
        members = [film.sources[i] for i in film.copied]
        self.delay = max(round(s.delay * s.time_base / self.time_base) for s in members)
        if not film.runs:
            return
        # Our encoder's parameter sets go in the track's avcC beside the clips', under a free id.
        free = sorted(set(range(32)) - self.sets.ids)
        if not free:
            raise _CannotCopy("the clips use every parameter-set id")
        profile = _BROWSER_PROFILES[self.sets.profile]
        level = f"{self.sets.level // 10}.{self.sets.level % 10}"
        self.options = _x264_options(profile=profile, level=level, sps_id=free[0])
        probe = self._encoder()
        self.encoder_extradata = bytes(probe.extradata or b"")
        self.encoder_sets = _ParameterSets.from_annexb(self.encoder_extradata)
        if self.encoder_sets is None or self.encoder_sets.ids != {free[0]}:
            raise _CannotCopy("our encoder's parameter sets could not be placed beside the clips'")
        if self.encoder_sets.profile != self.sets.profile:
            raise _CannotCopy(f"our encoder would not write {profile} profile like the clips")
        self.delay = max(self.delay, int(probe.has_b_frames) * self.ticks)
        self.stream.codec_context.extradata = self.sets.merged(self.encoder_sets)

    def _encoder(self) -> av.video.codeccontext.VideoCodecContext:
        film = self.film
        ctx = av.CodecContext.create("libx264", "w")
        assert isinstance(ctx, av.video.codeccontext.VideoCodecContext)
        ctx.width, ctx.height, ctx.pix_fmt = film.width, film.height, "yuv420p"
        ctx.time_base, ctx.framerate = 1 / film.fps, film.fps
        ctx.gop_size = KEYFRAME_SECONDS * self.fps_frames
        ctx.flags |= av.codec.context.Flags.global_header  # parameter sets out of band, for the avcC
        assert film.reference is not None
        ctx.color_range, ctx.colorspace, ctx.color_primaries, ctx.color_trc = film.reference.colour
        ctx.options = self.options
        ctx.open()
        return ctx

    def copy(self, clip: int, audio: _AudioCopy | _AudioMix | None) -> None:
        """Copy the clip's packets for its copied frames, moved to their place in the film; its
        sound's packets too, in the same pass, when the sound is copied."""
        film, source = self.film, self.film.sources[clip]
        first, end = film.copied[clip]
        base = film.starts[clip] * self.ticks
        to_film, to_frame = _Scale(source.time_base / self.time_base), _Scale(source.time_base * source.fps)
        sound = audio if isinstance(audio, _AudioCopy) and (first, end) == (0, film.lengths[clip]) else None
        with _clip_packets(source, self.opened) as (container, head):
            stream = container.streams.video[0]
            if first:
                head = []
                container.seek(source.start_pts + round(first / source.fps / source.time_base), stream=stream)
            packets: Iterator[av.Packet] = container.demux(stream)
            sound_index = -1
            if sound is not None:
                sound_stream = container.streams.audio[0]
                sound.begin(clip, sound_stream)
                sound_index, packets = sound_stream.index, container.demux(stream, sound_stream)
            shift: int | None = None
            copied = 0
            for packet in itertools.chain(head, packets):
                if packet.pts is None or packet.dts is None:
                    continue
                if packet.stream_index != stream.index:
                    if sound is not None and packet.stream_index == sound_index:
                        sound.place(packet)
                    continue
                if copied == end - first:  # every copied frame is in (the sound may go on)
                    if sound is None:
                        break
                    continue
                k = to_frame(packet.pts - source.start_pts)
                if shift is None:
                    if not (packet.is_keyframe and k == first):
                        if k > first:
                            raise _CannotCopy(f"clip {clip + 1} has no IDR frame at frame {first}")
                        continue
                    shift = self.delay - to_film(packet.pts - packet.dts)
                copied += 1
                if not first <= k < end or shift < 0:
                    raise _CannotCopy(f"clip {clip + 1}'s frames cannot be cut at frames {first} and {end}")
                packet.pts = base + to_film(packet.pts - source.start_pts)
                packet.dts = base + to_film(packet.dts - source.start_pts) - shift
                packet.duration = to_film(packet.duration or 0)
                self._mux(packet)

    def encode(self, first: int, end: int, audio: _AudioCopy | _AudioMix | None) -> None:
        """Encode the film's frames [first, end); keep the audio muxed alongside, a second at a time."""
        film = self.film
        encoder = None if self.encoder_sets is None else self._encoder()
        if encoder is not None and bytes(encoder.extradata or b"") != self.encoder_extradata:
            raise _CannotCopy("our encoder's parameter sets changed between windows")
        shift: int | None = None
        for n, frame in enumerate(_film_frames(film, first, end)):
            frame.pts, frame.time_base = (n, 1 / film.fps) if encoder else (first + n, 1 / film.fps)
            frame.pict_type = av.video.frame.PictureType.NONE  # a decoded frame's type would force the encoder's
            if encoder is None:
                self.out.mux(self.stream.encode(frame))
            else:
                for packet in encoder.encode(frame):
                    shift = self._mux_encoded(packet, first, shift)
            if audio is not None and n % self.fps_frames == 0:
                audio.pump(first + n)
        if encoder is not None:
            for packet in encoder.encode(None):
                shift = self._mux_encoded(packet, first, shift)

    def finish(self) -> None:
        if not self.film.copied:
            self.out.mux(self.stream.encode(None))

    def _mux_encoded(self, packet: av.Packet, first: int, shift: int | None) -> int:
        assert packet.pts is not None and packet.dts is not None
        if shift is None:  # the run's first packet, its IDR frame
            shift = self.delay - (packet.pts - packet.dts) * self.ticks
            if shift < 0:
                raise _CannotCopy("our encoder reorders frames more than the clips")
        out = av.Packet(_length_prefixed(bytes(packet), self.sets.length_size))
        out.pts = (first + packet.pts) * self.ticks
        out.dts = (first + packet.dts) * self.ticks - shift
        out.is_keyframe = packet.is_keyframe
        self._mux(out)
        return shift

    def _mux(self, packet: av.Packet) -> None:
        assert packet.pts is not None and packet.dts is not None
        if (self.last_dts is not None and packet.dts <= self.last_dts) or packet.dts > packet.pts:
            raise _CannotCopy("the copied and encoded frames cannot be put in one decoding order")
        self.last_dts = packet.dts
        packet.stream = self.stream
        packet.time_base = self.time_base
        self.out.mux(packet)


def _x264_options(*, profile: str = "high", level: str = "", sps_id: int = 0) -> dict[str, str]:
    options = {"preset": VIDEO_PRESET, "crf": str(VIDEO_CRF), "profile": profile}
    if level:
        options["level"] = level
    if sps_id:
        options["x264-params"] = f"sps-id={sps_id}"
    return options


def _film_frames(film: _Film, first: int, end: int) -> Iterator[av.VideoFrame]:
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


def _clip_frames(film: _Film, clip: int, first: int) -> Generator[av.VideoFrame, None, None]:
    """Clip ``clip``'s frames from ``first`` to its film length, one per film frame, at the film's size.

    A clip at another frame rate shows, at each film frame, its frame nearest in time.
    """
    source, count = film.sources[clip], film.lengths[clip]
    half = 1 / (2 * film.fps)
    k = first
    with _open_clip(source.path) as container:
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


def _fit(frame: av.VideoFrame, film: _Film) -> av.VideoFrame:
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


# --- audio -----------------------------------------------------------------------------


def _audio_at(film: _Film, frame: int, rate: int) -> int:
    """The audio sample at which film frame ``frame`` starts."""
    return round(Fraction(frame) / film.fps * rate)


class _AudioCopy:
    """The clips' AAC packets copied at their clip's place in the film; around each crossfade, a
    window of our encoder's packets in between.

    AAC cannot be cut between packets to the sample: each clip's sound starts with an encoder
    priming packet and ends in a packet padded to 1024 samples. Packets are laid end to end,
    each a whole frame long, and a packet that would start more than half a frame before its
    place (a later clip's priming, or a clip's sound running past its picture) is dropped; so
    the sound stays within half a frame (about 11 ms) of its picture at every join and never
    drifts, and every player, timestamp-led or not, plays the same samples.

    A crossfade's window runs from the end of the outgoing clip's last packet whose frame lies
    wholly before the fade to the start of the incoming clip's first packet wholly after it.
    Each AAC frame overlaps the next by a frame, and the overlap cancels only between frames
    that coded the same sound there: our encoder is fed one frame past each end of the window,
    the sound the copied frames beside it coded, so the splices do not click.
    """

    def __init__(self, film: _Film, out: av.container.OutputContainer, opened: _Pool) -> None:
        self.film, self.out, self.opened = film, out, opened
        self.copied: set[int] = set()
        self.cursor: int | None = None  # film sample where the next packet's sound starts
        self.out_base = 0  # output timestamp minus film sample: the first clip's own convention
        self.shifts: dict[int, int] = {}  # clip → where its sound is placed minus where its picture puts it
        self.resume: dict[int, int] = {}  # clip → its first packet after a crossfade's window
        with open_mp4(film.sources[0].path) as container:
            template = container.streams.audio[0]
            self.stream = out.add_stream_from_template(template)
            self.frame = template.codec_context.frame_size or 1024
            self.bit_rate = template.codec_context.bit_rate or AUDIO_BITRATE
        audio = film.sources[0].audio
        assert audio is not None
        self.rate, self.layout = audio.sample_rate, audio.layout
        self.stream_time_base = Fraction(1, self.rate)
        self.stream.time_base = self.stream_time_base

    def pump(self, frame: int) -> None:
        """Copy the sound of every clip that starts before film frame ``frame`` and is not copied yet."""
        for clip, start in enumerate(self.film.starts):
            if start < frame and clip not in self.copied:
                with _clip_packets(self.film.sources[clip], self.opened) as (container, head):
                    stream = container.streams.audio[0]
                    self.begin(clip, stream)
                    for packet in itertools.chain(head, container.demux(stream)):
                        if packet.stream_index == stream.index:
                            self.place(packet)

    def finish(self) -> None:
        self.pump(self.film.total + 1)

    def begin(self, clip: int, stream: av.audio.stream.AudioStream) -> None:
        """Take the packets of ``clip``'s sound next, from ``stream``."""
        film = self.film
        self.copied.add(clip)
        self.clip, self.count, self.stopped = clip, 0, False
        self.last = clip == len(film.sources) - 1
        self.offset = _audio_at(film, film.starts[clip], self.rate)
        self.to_samples = _Scale(Fraction(stream.time_base or Fraction(1, self.rate)) * self.rate)
        self.skip, self.first_pts = 0, 0
        fades_out = not self.last and film.fades[clip + 1] > 0
        # A copied frame's sound reaches a frame past its own: it must end before the fade.
        self.limit = _audio_at(film, film.starts[clip + 1], self.rate) - 2 * self.frame if fades_out else None

    def place(self, packet: av.Packet) -> None:
        if packet.pts is None or self.stopped:
            return
        n, self.count = self.count, self.count + 1
        if n == 0:
            self.skip, self.first_pts = _skip_samples(packet), packet.pts
            if self.clip == 0:
                self.out_base = self.to_samples(packet.pts) + self.skip
            if self.film.fades[self.clip]:
                self._window()
        if n < self.resume.get(self.clip, 0):
            return
        duration = self.to_samples(packet.duration or 0) or self.frame
        if duration < self.frame and not self.last and self.limit is None:
            return  # the clip's padded last packet: the next clip takes over
        target = self.offset + self.to_samples(packet.pts - self.first_pts) - self.skip
        if self.cursor is not None and target < self.cursor - self.frame // 2:
            return
        at = target if self.cursor is None else self.cursor
        if self.limit is not None and at > self.limit:
            self.stopped = True
            return
        self.shifts.setdefault(self.clip, at - target)
        self._mux(packet, at, duration if self.last else self.frame)

    def _mux(self, packet: av.Packet, at: int, duration: int) -> None:
        packet.pts = packet.dts = at + self.out_base
        packet.duration = duration
        packet.stream, packet.time_base = self.stream, self.stream_time_base
        self.cursor = at + duration
        self.out.mux(packet)

    def _window(self) -> None:
        """Encode the crossfade into this clip, from the cursor to this clip's first packet after it."""
        film, frame, into = self.film, self.frame, self.clip
        outgoing = into - 1
        assert self.cursor is not None
        start = self.cursor
        fade_start = self.offset
        fade_end = _audio_at(film, film.starts[outgoing] + film.lengths[outgoing], self.rate)
        # This clip's first packet wholly after the fade, and a window of whole frames up to it
        # (the clip's sound moves by at most half a frame to line up).
        first = max(1, -(-(fade_end - self.offset + self.skip) // frame))
        target = self.offset + first * frame - self.skip
        frames = max(1, round((target - start) / frame))
        while start + frames * frame < fade_end:
            first, target = first + 1, target + frame
            frames = max(1, round((target - start) / frame))
        end = start + frames * frame
        self.shifts[into] = end - target
        self.resume[into] = first

        # The sound the window codes: the outgoing clip's, the fade, the incoming clip's. The encoder
        # starts and stops a few frames outside the window (frames it codes but we drop), so the
        # frames we keep are long ones, as the copied frames beside them: a frame it had to
        # start from silence, or end in, would be coded as a transient (short blocks), whose
        # overlap with a long frame does not cancel.
        roll = _AUDIO_ROLL_FRAMES * frame
        first_sample, span = start - roll, end + frame + roll - (start - roll)
        outgoing_at = first_sample - _audio_at(film, film.starts[outgoing], self.rate) - self.shifts.get(outgoing, 0)
        a = _clip_samples(film.sources[outgoing], outgoing_at, span, self.rate, self.layout)
        into_at = first_sample - self.offset - self.shifts[into]
        b = _clip_samples(film.sources[into], into_at, span, self.rate, self.layout)
        x = np.arange(first_sample, first_sample + span, dtype=np.float64) + 0.5 - fade_start
        x = np.clip(x / (fade_end - fade_start), 0, 1) * (math.pi / 2)
        sound = (a * np.cos(x) + b * np.sin(x)).astype(np.float32)

        packets = _encode_aac(sound, self.rate, self.layout, self.bit_rate)
        kept = packets[1 + _AUDIO_ROLL_FRAMES : 1 + _AUDIO_ROLL_FRAMES + frames]  # the first is its priming
        if len(kept) < frames:
            raise MediaError("the audio encoder gave fewer packets than the crossfade needs")
        for k, packet in enumerate(kept):
            self._mux(packet, start + k * frame, frame)


def _clip_samples(source: _Source, start: int, count: int, rate: int, layout: str) -> _Samples:
    """``count`` samples of the clip's sound from sample ``start`` (silence outside it)."""
    with _clip_sound(source, rate, layout) as sound:
        if start < 0:
            lead = min(-start, count)
            return np.concatenate([np.zeros((sound.channels, lead), np.float32), sound.read(count - lead)], axis=1)
        while start > 0:  # skip ahead a block at a time, so memory stays flat
            start -= sound.read(min(start, 1 << 16)).shape[1]
        return sound.read(count)


def _encode_aac(sound: _Samples, rate: int, layout: str, bit_rate: int) -> list[av.Packet]:
    """Encode ``sound`` with a fresh AAC encoder, flushed; the first packet is its priming."""
    encoder = av.CodecContext.create("aac", "w")
    assert isinstance(encoder, av.audio.codeccontext.AudioCodecContext)
    encoder.sample_rate, encoder.layout, encoder.format = rate, layout, "fltp"
    encoder.bit_rate, encoder.time_base = bit_rate, Fraction(1, rate)
    encoder.open()
    packets = []
    for at in range(0, sound.shape[1], _AUDIO_BLOCK):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(sound[:, at : at + _AUDIO_BLOCK]), "fltp", layout)
        frame.sample_rate, frame.pts, frame.time_base = rate, at, Fraction(1, rate)
        packets += encoder.encode(frame)
    return packets + encoder.encode(None)


def _skip_samples(packet: av.Packet) -> int:
    """Samples of encoder priming the packet says to skip (FFmpeg's side data from the MP4 edit list)."""
    if not packet.has_sidedata("skip_samples"):
        return 0
    return int.from_bytes(bytes(packet.get_sidedata("skip_samples"))[:4], "little")


class _AudioMix:
    """The film's sound decoded, crossfaded, mixed with a soundtrack and encoded as one AAC track."""

    def __init__(self, film: _Film, out: av.container.OutputContainer, stack: contextlib.ExitStack) -> None:
        self.film, self.out = film, out
        self.stream = out.add_stream("aac", rate=AUDIO_SAMPLE_RATE, layout="stereo")
        self.stream.bit_rate = AUDIO_BITRATE
        self.blocks = _film_audio(film)
        stack.callback(self.blocks.close)
        self.done = 0

    def pump(self, frame: int) -> None:
        until = _audio_at(self.film, frame, AUDIO_SAMPLE_RATE)
        while self.done < until:
            block = next(self.blocks, None)
            if block is None:
                return
            self._encode(block)

    def finish(self) -> None:
        for block in self.blocks:
            self._encode(block)
        self.out.mux(self.stream.encode(None))

    def _encode(self, block: _Samples) -> None:
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block), format="fltp", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = AUDIO_SAMPLE_RATE, self.done, Fraction(1, AUDIO_SAMPLE_RATE)
        self.out.mux(self.stream.encode(frame))
        self.done += block.shape[1]


def _film_audio(film: _Film) -> Generator[_Samples, None, None]:
    """The film's sound in blocks: the clips' (or silence), with the soundtrack replacing or under it."""
    total = _audio_at(film, film.total, AUDIO_SAMPLE_RATE)
    track = film.soundtrack
    shots = _silence(total) if track is not None and track.mode == "replace" else _shots_audio(film)
    if track is None:
        yield from shots
        return
    fade = max(1, min(round(SOUNDTRACK_FADE_SECONDS * AUDIO_SAMPLE_RATE), total // 4))
    with _soundtrack(track.path) as music:
        pos = 0
        for block in shots:
            n = block.shape[1]
            stop = min(total, pos + music.fill(n + fade))  # where the soundtrack ends, once in sight
            q = np.arange(pos, pos + n, dtype=np.float32) + 0.5
            gain = np.clip(np.minimum(q / fade, (stop - q) / fade), 0, 1) * track.level
            yield np.clip(block + music.read(n) * gain, -1, 1)
            pos += n


def _silence(samples: int) -> Iterator[_Samples]:
    for start in range(0, samples, _AUDIO_BLOCK):
        yield np.zeros((2, min(_AUDIO_BLOCK, samples - start)), np.float32)


def _shots_audio(film: _Film) -> Iterator[_Samples]:
    """The clips' sound, each fitted to its picture's length (silence if it has none), crossfaded at joins."""
    spans = [
        (_audio_at(film, s, AUDIO_SAMPLE_RATE), _audio_at(film, s + n, AUDIO_SAMPLE_RATE))
        for s, n in zip(film.starts, film.lengths, strict=True)
    ]
    tail: _Samples | None = None
    for i, (a, b) in enumerate(spans):
        head = 0 if tail is None else tail.shape[1]
        keep = b - spans[i + 1][0] if i + 1 < len(spans) else 0  # the part that fades into the next clip
        with _clip_sound(film.sources[i]) as sound:
            if tail is not None:
                x = (np.arange(head, dtype=np.float32) + 0.5) / head * (math.pi / 2)
                yield tail * np.cos(x) + sound.read(head) * np.sin(x)  # equal-power crossfade
            middle = b - a - head - keep
            for start in range(0, middle, _AUDIO_BLOCK):
                yield sound.read(min(_AUDIO_BLOCK, middle - start))
            tail = sound.read(keep) if keep else None


class _Reader:
    """A file's sound (the film's rate and layout unless told), read by sample count; silence past its end."""

    def __init__(
        self, container: av.container.InputContainer | None, rate: int = AUDIO_SAMPLE_RATE, layout: str = "stereo"
    ) -> None:
        self.rate, self.channels = rate, av.AudioLayout(layout).nb_channels
        self.chunks: list[_Samples] = []
        self.buffered = 0
        self.frames: Iterator[av.AudioFrame] = iter(())
        self.started = False
        if container is not None:
            stream = container.streams.audio[0]
            self.frames = self._resampled(container.decode(stream), rate, layout)

    @staticmethod
    def _resampled(frames: Iterator[av.AudioFrame], rate: int, layout: str) -> Iterator[av.AudioFrame]:
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        for frame in frames:
            yield from resampler.resample(frame)
        yield from resampler.resample(None)

    def fill(self, n: int) -> int:
        """Decode until ``n`` samples are buffered or the sound ends; return how many are."""
        while self.buffered < n:
            frame = next(self.frames, None)
            if frame is None:
                break
            samples = frame.to_ndarray().astype(np.float32, copy=False)
            if not self.started:  # a sound that starts late is preceded by silence; an early one is cut
                self.started = True
                at = round((frame.time or 0) * self.rate)
                if at > 0:
                    self._push(np.zeros((self.channels, at), np.float32))
                samples = samples[:, max(0, -at) :]
            self._push(samples)
        return self.buffered

    def read(self, n: int) -> _Samples:
        self.fill(n)
        out = np.zeros((self.channels, n), np.float32)
        got = 0
        while got < n and self.chunks:
            chunk = self.chunks[0]
            take = min(n - got, chunk.shape[1])
            out[:, got : got + take] = chunk[:, :take]
            got += take
            if take == chunk.shape[1]:
                self.chunks.pop(0)
            else:
                self.chunks[0] = chunk[:, take:]
        self.buffered -= got
        return out

    def _push(self, samples: _Samples) -> None:
        if samples.shape[1]:
            self.chunks.append(samples)
            self.buffered += samples.shape[1]


@contextlib.contextmanager
def _clip_sound(source: _Source, rate: int = AUDIO_SAMPLE_RATE, layout: str = "stereo") -> Iterator[_Reader]:
    if source.audio is None:
        yield _Reader(None, rate, layout)
        return
    with _open_clip(source.path) as container:
        yield _Reader(container, rate, layout)


@contextlib.contextmanager
def _soundtrack(path: Path) -> Iterator[_Reader]:
    """Open an uploaded soundtrack: a local file, read only by the demuxers in ``SOUNDTRACK_DEMUXERS``."""
    if not path.is_file():
        raise MediaError(f"the soundtrack does not exist: {path.name}")
    options = {"protocol_whitelist": "file", "format_whitelist": SOUNDTRACK_DEMUXERS}
    try:
        container = av.open("file:" + str(path.resolve()), container_options=options)
    except (av.FFmpegError, OSError) as exc:
        raise MediaError(f"the soundtrack {path.name} cannot be read: {exc}") from exc
    try:
        if not container.streams.audio:
            raise MediaError(f"the soundtrack {path.name} has no sound")
        yield _Reader(container)
    except av.FFmpegError as exc:
        raise MediaError(f"the soundtrack {path.name} is corrupt: {exc}") from exc
    finally:
        container.close()


# --- H.264 parameter sets ---------------------------------------------------------------


@dataclass(frozen=True)
class _ParameterSets:
    """The SPS and PPS NAL units of an H.264 stream, as an MP4 ``avcC`` record holds them."""

    sps: tuple[bytes, ...]
    pps: tuple[bytes, ...]
    length_size: int
    """Bytes of the length before each NAL unit in a sample."""
    indication: bytes
    """Profile, compatibility flags and level, as the avcC record states them."""
    tail: bytes
    """What the record holds after the PPS (chroma format and bit depths for High profiles)."""

    @property
    def profile(self) -> int:
        return self.indication[0]

    @property
    def level(self) -> int:
        return self.indication[2]

    @property
    def pix_fmt(self) -> str:
        """The pictures' format as FFmpeg names it, read from the first SPS (8-bit 4:2:0 below High)."""
        payload = _unescaped(self.sps[0][1:])
        if payload[0] not in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
            return "yuv420p"
        bit = _exp_golomb_end(payload, 24)  # after the SPS id
        chroma = _exp_golomb(payload, bit)
        depth = _exp_golomb(payload, _exp_golomb_end(payload, bit) + (chroma == 3)) + 8  # of luma
        name = {0: "gray", 1: "yuv420p", 2: "yuv422p", 3: "yuv444p"}.get(chroma, "unknown")
        return name if depth == 8 else f"{name}{depth}le"

    @property
    def ids(self) -> set[int]:
        """Parameter-set ids in use (x264 numbers its SPS and PPS alike, so one pool for both)."""
        return {_sps_id(n) for n in self.sps} | {_pps_id(n) for n in self.pps}

    @classmethod
    def parse(cls, avcc: bytes) -> _ParameterSets | None:
        """Read an ``avcC`` record; None if it is not one."""
        if len(avcc) < 7 or avcc[0] != 1:
            return None
        try:
            sps, at = _records(avcc, 6, avcc[5] & 0x1F)
            pps, at = _records(avcc, at + 1, avcc[at])
            sets = cls(sps, pps, (avcc[4] & 3) + 1, avcc[1:4], avcc[at:])
            if not sps or not pps or not sets.ids or not sets.pix_fmt:  # a broken set fails to read
                return None
        except (IndexError, ValueError):
            return None
        return sets

    @classmethod
    def from_annexb(cls, data: bytes) -> _ParameterSets | None:
        """Read an encoder's out-of-band headers (start-code separated SPS and PPS)."""
        nals = _annexb_nals(data)
        sps = tuple(n for n in nals if n[0] & 0x1F == 7)
        pps = tuple(n for n in nals if n[0] & 0x1F == 8)
        if not sps or not pps:
            return None
        return cls(sps, pps, 4, sps[0][1:4], b"")

    def merged(self, other: _ParameterSets) -> bytes:
        """An avcC record with this one's sets and ``other``'s, in id order, stating this one's profile."""
        sps = sorted({*self.sps, *other.sps}, key=_sps_id)
        pps = sorted({*self.pps, *other.pps}, key=_pps_id)
        record = bytes([1, *self.indication, 0xFC | (self.length_size - 1), 0xE0 | len(sps)])
        record += b"".join(len(n).to_bytes(2, "big") + n for n in sps)
        record += bytes([len(pps)]) + b"".join(len(n).to_bytes(2, "big") + n for n in pps)
        return record + self.tail


def _records(avcc: bytes, at: int, count: int) -> tuple[tuple[bytes, ...], int]:
    """``count`` NAL units, each after its 16-bit length, from ``at``; and where they end."""
    found = []
    for _ in range(count):
        size = int.from_bytes(avcc[at : at + 2], "big")
        if at + 2 + size > len(avcc):
            raise IndexError("the avcC record ends early")
        found.append(avcc[at + 2 : at + 2 + size])
        at += 2 + size
    return tuple(found), at


def _annexb_nals(data: bytes) -> list[bytes]:
    """Split start-code separated NAL units."""
    nals, at = [], data.find(b"\x00\x00\x01")
    while at >= 0:
        nxt = data.find(b"\x00\x00\x01", at + 3)
        nal = data[at + 3 : nxt if nxt >= 0 else len(data)]
        if nxt >= 0:
            nal = nal.rstrip(b"\x00")  # the leading zero of a four-byte start code
        if nal:
            nals.append(nal)
        at = nxt
    return nals


def _length_prefixed(data: bytes, length_size: int) -> bytes:
    """An encoder's start-code separated access unit as MP4 sample data (length before each NAL unit)."""
    out = bytearray()
    for nal in _annexb_nals(data):
        if nal[0] & 0x1F not in (7, 8, 9):  # parameter sets live in the avcC; delimiters are not stored
            out += len(nal).to_bytes(length_size, "big") + nal
    return bytes(out)


def _nal_types(packet: av.Packet, length_size: int) -> set[int]:
    """NAL unit types in an MP4 sample."""
    sample = bytes(packet)
    types, at = set(), 0
    while at + length_size < len(sample):
        size = int.from_bytes(sample[at : at + length_size], "big")
        types.add(sample[at + length_size] & 0x1F)
        at += length_size + size
    return types


def _sps_id(nal: bytes) -> int:
    return _exp_golomb(_unescaped(nal[1:]), 24)  # after profile, constraint flags and level


def _pps_id(nal: bytes) -> int:
    return _exp_golomb(_unescaped(nal[1:]), 0)


def _unescaped(payload: bytes) -> bytes:
    """The payload without emulation-prevention bytes (00 00 03 → 00 00)."""
    return payload.replace(b"\x00\x00\x03", b"\x00\x00")


def _exp_golomb_end(data: bytes, bit: int) -> int:
    """Where the Exp-Golomb number starting at ``bit`` ends."""
    zeros = 0
    while not (data[(bit + zeros) // 8] >> (7 - (bit + zeros) % 8)) & 1:
        zeros += 1
    return bit + 2 * zeros + 1


def _exp_golomb(data: bytes, bit: int) -> int:
    """The unsigned Exp-Golomb number starting at ``bit``."""
    bits = int.from_bytes(data, "big")
    width = len(data) * 8

    def at(i: int) -> int:
        if i >= width:
            raise ValueError("the parameter set ends early")
        return (bits >> (width - 1 - i)) & 1

    zeros = 0
    while not at(bit + zeros):
        zeros += 1
    value = 0
    for i in range(zeros):
        value = value << 1 | at(bit + zeros + 1 + i)
    return (1 << zeros) - 1 + value
