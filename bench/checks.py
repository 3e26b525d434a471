"""Checks bench: ``core.checks.check_shot`` on a 10 s 1080p clip against a plain PyAV decode of it.

Renders (once, into ``--folder``) a 10 s, 1080p, 16:9 offline preview: 240 frames of H.264
with a panning gradient, moving shapes and text. Then, each ``--repeat`` times, median
printed: a plain decode of every frame (PyAV, the same frame threading ``check_shot`` uses,
and PyAV's default), ``check_shot`` with the probe given and with it made inside,
``check_join`` of the clip with itself, ``last_frame_png`` and ``match_histogram`` of two
1080p frames. The ratio is each figure over the plain decode, measured in the same process.

Run from the repository root::

    .venv/bin/python -m bench.checks [--repeat 5] [--folder /tmp/veogen-bench-checks]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import av

from core.checks import check_join, check_shot, last_frame_png, match_histogram
from core.media import probe_video
from core.providers.base import GenerationRequest
from core.providers.offline import render_video

REQUEST = GenerationRequest(
    model="offline-preview",
    prompt="a lighthouse on a cliff at dawn, waves crashing on the rocks, gulls circling",
    duration_seconds=10,
    resolution="1080p",
    aspect_ratio="16:9",
)


def decode_all(path: Path, *, threads: str | None) -> int:
    """Decode every frame and drop it; return how many there were."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if threads:
            stream.codec_context.thread_type = threads
        return sum(1 for _ in container.decode(stream))


def median_seconds(work: Callable[[], object], repeat: int) -> float:
    work()  # warm-up: imports, codec start-up, the page cache
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per figure (median printed)")
    parser.add_argument("--folder", type=Path, default=Path("/tmp/veogen-bench-checks"), help="where the clip is kept")
    args = parser.parse_args()

    clip = args.folder / "lighthouse-10s-1080p.mp4"
    if not clip.exists():
        started = time.perf_counter()
        render_video(REQUEST, 0, clip)
        print(f"rendered {clip} in {time.perf_counter() - started:.1f} s")
    facts = probe_video(clip)
    flags = check_shot(clip, REQUEST, facts=facts)
    size = f"{facts.width}×{facts.height}, {facts.duration_seconds:.2f} s at {facts.fps:g} fps"
    print(f"clip: {size}, {facts.size_bytes:,} bytes")
    print(f"flags on the clean clip: {[f.message for f in flags] or 'none'}")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")

    frame = last_frame_png(clip)
    figures = {
        "plain decode (frame threads, as check_shot)": lambda: decode_all(clip, threads="AUTO"),
        "plain decode (PyAV's default threading)": lambda: decode_all(clip, threads=None),
        "check_shot, probe given": lambda: check_shot(clip, REQUEST, facts=facts),
        "check_shot, probing too": lambda: check_shot(clip, REQUEST),
        "check_join (clip to itself)": lambda: check_join(clip, clip),
        "last_frame_png": lambda: last_frame_png(clip),
        "match_histogram (two 1080p PNGs)": lambda: match_histogram(frame, frame),
    }
    baseline = None
    print(f"\nmedian of {args.repeat}, seconds; ratio to the plain decode with frame threads")
    for name, work in figures.items():
        seconds = median_seconds(work, args.repeat)
        baseline = baseline or seconds
        print(f"{name:<46} {seconds:7.3f}   {seconds / baseline:5.2f}×")


if __name__ == "__main__":
    main()
