"""The film's sound decoded: the clips' sound and a soundtrack, crossfaded and mixed, and encoded whole.

Owns the format of the sound we encode, reading a file's sound by sample count (a clip's, or
an uploaded soundtrack's through the demuxers it may be read with), the film's sound in
blocks (equal-power crossfades at joins, silence for a silent clip, a soundtrack replacing the
clips' sound or mixed under it, faded in and out), and ``AudioMix``, the AAC track that
encodes it. Imports the standard library, PyAV, numpy, ``core.errors``, ``.plan`` and
``.sources``; never streamlit, pages, workers or sqlalchemy.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Generator, Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.container
import numpy as np
import numpy.typing as npt

from core.assembly.plan import Film
from core.assembly.sources import Source, open_clip
from core.errors import MediaError

AUDIO_SAMPLE_RATE = 48_000
"""Samples per second of audio we encode."""

AUDIO_BITRATE = 128_000
"""Bits per second of audio we encode (AAC-LC, stereo)."""

SOUNDTRACK_FADE_SECONDS = 0.5
"""Fade-in at the start and fade-out at the end of a soundtrack, in seconds."""

SOUNDTRACK_DEMUXERS = "mov,mp3,wav,ogg,flac,aac"
"""FFmpeg demuxers a soundtrack may be read with (M4A/MP4, MP3, WAV, Ogg, FLAC, ADTS AAC)."""

AUDIO_BLOCK = 8192
"""Samples handled at a time when sound is mixed or encoded."""

Samples = npt.NDArray[np.float32]
"""Sound as 32-bit float samples, shaped (channels, samples)."""


def audio_at(film: Film, frame: int, rate: int) -> int:
    """The audio sample at which film frame ``frame`` starts."""
    return round(Fraction(frame) / film.fps * rate)


class AudioMix:
    """The film's sound decoded, crossfaded, mixed with a soundtrack and encoded as one AAC track."""

    def __init__(self, film: Film, out: av.container.OutputContainer, stack: contextlib.ExitStack) -> None:
        self.film, self.out = film, out
        self.stream = out.add_stream("aac", rate=AUDIO_SAMPLE_RATE, layout="stereo")
        self.stream.bit_rate = AUDIO_BITRATE
        self.blocks = _film_audio(film)
        stack.callback(self.blocks.close)
        self.done = 0

    def pump(self, frame: int) -> None:
        until = audio_at(self.film, frame, AUDIO_SAMPLE_RATE)
        while self.done < until:
            block = next(self.blocks, None)
            if block is None:
                return
            self._encode(block)

    def finish(self) -> None:
        for block in self.blocks:
            self._encode(block)
        self.out.mux(self.stream.encode(None))

    def _encode(self, block: Samples) -> None:
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block), format="fltp", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = AUDIO_SAMPLE_RATE, self.done, Fraction(1, AUDIO_SAMPLE_RATE)
        self.out.mux(self.stream.encode(frame))
        self.done += block.shape[1]


def _film_audio(film: Film) -> Generator[Samples, None, None]:
    """The film's sound in blocks: the clips' (or silence), with the soundtrack replacing or under it."""
    total = audio_at(film, film.total, AUDIO_SAMPLE_RATE)
    track = film.soundtrack
    shots = _silence(total) if track is not None and track.mode == "replace" else _shots_audio(film)
    if track is None:
        yield from shots
        return
    fade = max(1, min(round(SOUNDTRACK_FADE_SECONDS * AUDIO_SAMPLE_RATE), total // 4))
    with open_soundtrack(track.path) as music:
        pos = 0
        for block in shots:
            n = block.shape[1]
            stop = min(total, pos + music.fill(n + fade))  # where the soundtrack ends, once in sight
            q = np.arange(pos, pos + n, dtype=np.float32) + 0.5
            gain = np.clip(np.minimum(q / fade, (stop - q) / fade), 0, 1) * track.level
            yield np.clip(block + music.read(n) * gain, -1, 1)
            pos += n


def _silence(samples: int) -> Iterator[Samples]:
    for start in range(0, samples, AUDIO_BLOCK):
        yield np.zeros((2, min(AUDIO_BLOCK, samples - start)), np.float32)


def _shots_audio(film: Film) -> Iterator[Samples]:
    """The clips' sound, each fitted to its picture's length (silence if it has none), crossfaded at joins."""
    spans = [
        (audio_at(film, s, AUDIO_SAMPLE_RATE), audio_at(film, s + n, AUDIO_SAMPLE_RATE))
        for s, n in zip(film.starts, film.lengths, strict=True)
    ]
    tail: Samples | None = None
    for i, (a, b) in enumerate(spans):
        head = 0 if tail is None else tail.shape[1]
        keep = b - spans[i + 1][0] if i + 1 < len(spans) else 0  # the part that fades into the next clip
        with clip_sound(film.sources[i]) as sound:
            if tail is not None:
                x = (np.arange(head, dtype=np.float32) + 0.5) / head * (math.pi / 2)
                yield tail * np.cos(x) + sound.read(head) * np.sin(x)  # equal-power crossfade
            middle = b - a - head - keep
            for start in range(0, middle, AUDIO_BLOCK):
                yield sound.read(min(AUDIO_BLOCK, middle - start))
            tail = sound.read(keep) if keep else None


class _Reader:
    """A file's sound (the film's rate and layout unless told), read by sample count; silence past its end."""

    def __init__(
        self, container: av.container.InputContainer | None, rate: int = AUDIO_SAMPLE_RATE, layout: str = "stereo"
    ) -> None:
        self.rate, self.channels = rate, av.AudioLayout(layout).nb_channels
        self.chunks: list[Samples] = []
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

    def read(self, n: int) -> Samples:
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

    def _push(self, samples: Samples) -> None:
        if samples.shape[1]:
            self.chunks.append(samples)
            self.buffered += samples.shape[1]


@contextlib.contextmanager
def clip_sound(source: Source, rate: int = AUDIO_SAMPLE_RATE, layout: str = "stereo") -> Iterator[_Reader]:
    if source.audio is None:
        yield _Reader(None, rate, layout)
        return
    with open_clip(source.path) as container:
        yield _Reader(container, rate, layout)


@contextlib.contextmanager
def open_soundtrack(path: Path) -> Iterator[_Reader]:
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
