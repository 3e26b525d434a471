"""The film's one video track (``VideoTrack``): the clips' packets copied and our encoder's, in one decoding order.

Owns the settings of every frame we encode (x264 preset, CRF, keyframe interval), the film's
time base, moving copied packets to their place in the film, our encoder's parameter sets
placed beside the clips' in the track's one avcC (under a free ``sps-id``; see the package's
docstring), and ``CannotCopy``, raised when copied and encoded pieces cannot share the track.
Imports the standard library, PyAV, ``core.media``, ``.h264``, ``.sources``, ``.plan``,
``.frames``, ``.audio`` and ``.audio_copy``; never streamlit, pages, workers or sqlalchemy.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from fractions import Fraction

import av
import av.codec.context
import av.container
import av.video.codeccontext
import av.video.frame

from core.assembly.audio import AudioMix
from core.assembly.audio_copy import AudioCopy
from core.assembly.frames import film_frames
from core.assembly.h264 import BROWSER_PROFILES, ParameterSets, length_prefixed
from core.assembly.plan import Film
from core.assembly.sources import Pool, Scale, Source, clip_packets

# The one MP4 reader: file protocol only, MP4 demuxer only, truncated files refused.
from core.media import _open as open_mp4

VIDEO_PRESET = "veryfast"
"""x264 preset of every frame we encode: crossfade windows, normalised clips, full re-encodes."""

VIDEO_CRF = 20
"""x264 constant rate factor of every frame we encode (lower is better and bigger)."""

KEYFRAME_SECONDS = 2
"""Longest gap between keyframes in what we encode, in seconds, so seeking stays cheap."""


class CannotCopy(Exception):
    """Copied and encoded pieces cannot share the track correctly; encode everything instead."""


def _film_time_base(source: Source) -> tuple[Fraction, int]:
    """The film's video time base and ticks per frame: the reference clip's when a frame is whole ticks."""
    ticks = 1 / (source.fps * source.time_base)
    if ticks.denominator == 1:
        return source.time_base, int(ticks)
    scale = math.ceil(10_000 / source.fps.numerator)  # MP4 timescales are usually at least 10000
    return Fraction(1, source.fps.numerator * scale), source.fps.denominator * scale


class VideoTrack:
    """The film's one video track: copied packets and our encoder's, in one decoding order."""

    def __init__(self, film: Film, out: av.container.OutputContainer, opened: Pool) -> None:
        self.film, self.out, self.opened = film, out, opened
        self.last_dts: int | None = None
        self.fps_frames = max(1, round(film.fps))
        self.encoder_sets: ParameterSets | None = None
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
            raise CannotCopy("the clips use every parameter-set id")
        profile = BROWSER_PROFILES[self.sets.profile]
        level = f"{self.sets.level // 10}.{self.sets.level % 10}"
        self.options = _x264_options(profile=profile, level=level, sps_id=free[0])
        probe = self._encoder()
        self.encoder_extradata = bytes(probe.extradata or b"")
        self.encoder_sets = ParameterSets.from_annexb(self.encoder_extradata)
        if self.encoder_sets is None or self.encoder_sets.ids != {free[0]}:
            raise CannotCopy("our encoder's parameter sets could not be placed beside the clips'")
        if self.encoder_sets.profile != self.sets.profile:
            raise CannotCopy(f"our encoder would not write {profile} profile like the clips")
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

    def copy(self, clip: int, audio: AudioCopy | AudioMix | None) -> None:
        """Copy the clip's packets for its copied frames, moved to their place in the film; its
        sound's packets too, in the same pass, when the sound is copied."""
        film, source = self.film, self.film.sources[clip]
        first, end = film.copied[clip]
        base = film.starts[clip] * self.ticks
        to_film, to_frame = Scale(source.time_base / self.time_base), Scale(source.time_base * source.fps)
        sound = audio if isinstance(audio, AudioCopy) and (first, end) == (0, film.lengths[clip]) else None
        with clip_packets(source, self.opened) as (container, head):
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
                            raise CannotCopy(f"clip {clip + 1} has no IDR frame at frame {first}")
                        continue
                    shift = self.delay - to_film(packet.pts - packet.dts)
                copied += 1
                if not first <= k < end or shift < 0:
                    raise CannotCopy(f"clip {clip + 1}'s frames cannot be cut at frames {first} and {end}")
                packet.pts = base + to_film(packet.pts - source.start_pts)
                packet.dts = base + to_film(packet.dts - source.start_pts) - shift
                packet.duration = to_film(packet.duration or 0)
                self._mux(packet)

    def encode(self, first: int, end: int, audio: AudioCopy | AudioMix | None) -> None:
        """Encode the film's frames [first, end); keep the audio muxed alongside, a second at a time."""
        film = self.film
        encoder = None if self.encoder_sets is None else self._encoder()
        if encoder is not None and bytes(encoder.extradata or b"") != self.encoder_extradata:
            raise CannotCopy("our encoder's parameter sets changed between windows")
        shift: int | None = None
        for n, frame in enumerate(film_frames(film, first, end)):
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
                raise CannotCopy("our encoder reorders frames more than the clips")
        out = av.Packet(length_prefixed(bytes(packet), self.sets.length_size))
        out.pts = (first + packet.pts) * self.ticks
        out.dts = (first + packet.dts) * self.ticks - shift
        out.is_keyframe = packet.is_keyframe
        self._mux(out)
        return shift

    def _mux(self, packet: av.Packet) -> None:
        assert packet.pts is not None and packet.dts is not None
        if (self.last_dts is not None and packet.dts <= self.last_dts) or packet.dts > packet.pts:
            raise CannotCopy("the copied and encoded frames cannot be put in one decoding order")
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
