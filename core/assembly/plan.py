"""The plan of a film (``Film``): where each clip sits, in frames, and which frames are copied or encoded.

Owns the choice of the film's clips (those of one copyable kind that cover the most time;
the others are normalised to them), crossfade lengths in frames and the film's length limit,
where a copy of a clip may start and end (its IDR frames and clean ends, read from its
packets), the choice of the audio path, and the report made from the plan. It decides and
writes nothing. Imports the standard library, ``core.errors``, ``.model``, ``.sources`` and
``.h264``; never streamlit, pages, workers or sqlalchemy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from core.assembly.h264 import nal_types
from core.assembly.model import AssemblyReport, AudioPath, Clip, JoinReport, Soundtrack, VideoPath
from core.assembly.sources import Scale, Source, open_clip
from core.errors import MediaError

MAX_FILM_SECONDS = 300
"""Longest film assembled, in seconds."""


@dataclass
class Film:
    """Where every clip sits in the film, in frames, and which frames are copied or encoded."""

    clips: Sequence[Clip]
    sources: list[Source]
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
    reference: Source | None
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
        cls, clips: Sequence[Clip], sources: list[Source], soundtrack: Soundtrack | None, *, full: bool, why: str = ""
    ) -> Film:
        groups: dict[tuple[object, ...], list[Source]] = {}
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


def _copy_span(source: Source, length: int, fade_in: int, fade_out: int) -> tuple[int, int] | None:
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


def _cut_points(source: Source) -> tuple[list[int], list[int]]:
    """Where a copy of the clip may start and end, as frame indexes, read from its packets.

    A copy starts at an IDR frame (decoding starts afresh there). It may end before frame ``j``
    when the packets before it in decoding order are exactly frames 0 to j-1: none of them then
    refers to a later frame. That is any frame of a stream without B-frames, and every few
    frames with them, so the window before a crossfade need not reach back to an IDR frame.
    """
    assert source.params is not None
    idrs, ends = [], []
    to_frame = Scale(source.time_base * source.fps)
    count, top = 0, -1
    with open_clip(source.path) as container:
        for packet in container.demux(container.streams.video[0]):
            if packet.pts is None:
                continue
            k = to_frame(packet.pts - source.start_pts)
            if packet.is_keyframe and 5 in nal_types(packet, source.params.length_size):
                idrs.append(k)
            count, top = count + 1, max(top, k)
            if top == count - 1:
                ends.append(count)
    return idrs, ends


def _audio_path(
    clips: Sequence[Clip],
    sources: list[Source],
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
