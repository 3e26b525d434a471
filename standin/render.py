"""The stand-in's videos: real H.264 MP4s drawn by the project's offline renderer, cached on disk by content.

Imports, lazily, ``core.providers`` (numpy, PyAV, Pillow); never google-genai, streamlit, pages or workers.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RenderSpec:
    """What one video looks like; equal specs give the same cached file."""

    model: str
    prompt: str
    duration: int
    """Seconds."""
    aspect_ratio: str
    resolution: str
    """What the renderer draws at (240p, 360p, 720p or 1080p)."""
    negative_prompt: str = ""
    seed: int | None = None
    sample_count: int = 1
    audio: bool = True
    """Whether the MP4 carries a (silent) AAC track."""


class Renderer:
    """Renders on first use and keeps every MP4 in ``cache_dir`` (removed by :meth:`remove` if we made it)."""

    def __init__(self, cache_dir: Path, *, owned: bool) -> None:
        self.cache_dir, self.owned = cache_dir, owned
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def render(self, spec: RenderSpec, index: int = 0) -> Path:
        """Return the cached MP4 of sample ``index`` of ``spec``, rendering it first if needed."""
        from core.providers.base import GenerationRequest

        request = GenerationRequest(
            model=spec.model,
            prompt=spec.prompt,
            negative_prompt=spec.negative_prompt,
            duration_seconds=spec.duration,
            aspect_ratio=spec.aspect_ratio,
            resolution=spec.resolution,
            seed=spec.seed,
            sample_count=spec.sample_count,
        )
        key_text = json.dumps([request.to_dict(), index, spec.audio], sort_keys=True)
        key = hashlib.sha256(key_text.encode()).hexdigest()[:32]
        path = self.cache_dir / f"{key}.mp4"
        if path.exists():
            return path
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if not path.exists():
                from core.providers.offline import render_video

                self.cache_dir.mkdir(parents=True, exist_ok=True)
                silent = self.cache_dir / f"{key}.silent.mp4"
                render_video(request, index, silent)
                if spec.audio:
                    _add_silent_audio(silent, path.with_suffix(".part"), spec.duration)
                    silent.unlink()
                    os.replace(path.with_suffix(".part"), path)
                else:
                    os.replace(silent, path)
        return path

    def remove(self) -> None:
        """Delete the cache folder if the stand-in made it."""
        if self.owned:
            shutil.rmtree(self.cache_dir, ignore_errors=True)


def _add_silent_audio(src: Path, dest: Path, seconds: float) -> None:
    """Copy ``src``'s video into ``dest`` with a silent stereo AAC track (Veo 3.x and Omni always have audio)."""
    from fractions import Fraction

    import av
    import numpy as np

    rate, size = 48000, 1024
    with (
        av.open(str(src)) as source,
        av.open(str(dest), "w", format="mp4", container_options={"movflags": "+faststart"}) as out,
    ):
        video_in = source.streams.video[0]
        video_out = out.add_stream_from_template(video_in)
        audio_out = out.add_stream("aac", rate=rate, layout="stereo")
        for packet in source.demux(video_in):
            if packet.dts is not None:
                packet.stream = video_out
                out.mux(packet)
        total, silence = int(seconds * rate), np.zeros((2, size), dtype=np.float32)
        for start in range(0, total, size):
            frame = av.AudioFrame.from_ndarray(silence[:, : min(size, total - start)], format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            out.mux(audio_out.encode(frame))
        out.mux(audio_out.encode(None))
