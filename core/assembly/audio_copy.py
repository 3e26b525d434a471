"""The clips' AAC copied into the film's track, with our encoder's packets around each crossfade.

Owns ``AudioCopy``: copied packets laid end to end in step with the picture, the window
around each crossfade (its bounds, the sound fed to the encoder and the packets kept) and
its AAC encoding. Imports the standard library, PyAV, numpy, ``core.media``,
``core.errors``, ``.audio``, ``.plan`` and ``.sources``; never streamlit, pages, workers or
sqlalchemy.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import av
import av.audio.codeccontext
import av.audio.stream
import av.container
import numpy as np

from core.assembly.audio import AUDIO_BITRATE, AUDIO_BLOCK, Samples, audio_at, clip_sound
from core.assembly.plan import Film
from core.assembly.sources import Pool, Scale, Source, clip_packets
from core.errors import MediaError

# The one MP4 reader: file protocol only, MP4 demuxer only, truncated files refused.
from core.media import _open as open_mp4

_AUDIO_ROLL_FRAMES = 3  # AAC frames coded and dropped before and after a crossfade's window


class AudioCopy:
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

    def __init__(self, film: Film, out: av.container.OutputContainer, opened: Pool) -> None:
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
                with clip_packets(self.film.sources[clip], self.opened) as (container, head):
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
        self.offset = audio_at(film, film.starts[clip], self.rate)
        self.to_samples = Scale(Fraction(stream.time_base or Fraction(1, self.rate)) * self.rate)
        self.skip, self.first_pts = 0, 0
        fades_out = not self.last and film.fades[clip + 1] > 0
        # A copied frame's sound reaches a frame past its own: it must end before the fade.
        self.limit = audio_at(film, film.starts[clip + 1], self.rate) - 2 * self.frame if fades_out else None

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
        fade_end = audio_at(film, film.starts[outgoing] + film.lengths[outgoing], self.rate)
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
        outgoing_at = first_sample - audio_at(film, film.starts[outgoing], self.rate) - self.shifts.get(outgoing, 0)
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


def _clip_samples(source: Source, start: int, count: int, rate: int, layout: str) -> Samples:
    """``count`` samples of the clip's sound from sample ``start`` (silence outside it)."""
    with clip_sound(source, rate, layout) as sound:
        if start < 0:
            lead = min(-start, count)
            return np.concatenate([np.zeros((sound.channels, lead), np.float32), sound.read(count - lead)], axis=1)
        while start > 0:  # skip ahead a block at a time, so memory stays flat
            start -= sound.read(min(start, 1 << 16)).shape[1]
        return sound.read(count)


def _encode_aac(sound: Samples, rate: int, layout: str, bit_rate: int) -> list[av.Packet]:
    """Encode ``sound`` with a fresh AAC encoder, flushed; the first packet is its priming."""
    encoder = av.CodecContext.create("aac", "w")
    assert isinstance(encoder, av.audio.codeccontext.AudioCodecContext)
    encoder.sample_rate, encoder.layout, encoder.format = rate, layout, "fltp"
    encoder.bit_rate, encoder.time_base = bit_rate, Fraction(1, rate)
    encoder.open()
    packets = []
    for at in range(0, sound.shape[1], AUDIO_BLOCK):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(sound[:, at : at + AUDIO_BLOCK]), "fltp", layout)
        frame.sample_rate, frame.pts, frame.time_base = rate, at, Fraction(1, rate)
        packets += encoder.encode(frame)
    return packets + encoder.encode(None)


def _skip_samples(packet: av.Packet) -> int:
    """Samples of encoder priming the packet says to skip (FFmpeg's side data from the MP4 edit list)."""
    if not packet.has_sidedata("skip_samples"):
        return 0
    return int.from_bytes(bytes(packet.get_sidedata("skip_samples"))[:4], "little")
