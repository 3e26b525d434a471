"""Assembly bench: a 300 s 720p film from 38 clips, ours against the ffmpeg command line, in one run.

Setup (not timed): the offline renderer draws four distinct 720p clips (three of 8 s, one of
7 s; H.264, an IDR frame every second) and each gets a stereo AAC tone as long as its
picture. The film is 38 of them in a row, 34 × 8 s + 4 × 7 s = 300 s.

Timed, each side in its own child process (so its peak RSS is its own), alternating, in
rounds (``--rounds``, 5, for the stream copy; ``--crossfade-rounds``, 1, for the crossfades):

1. **stream copy**, every join a cut: ``core.assembly.assemble_movie`` against the ffmpeg
   concat demuxer, ``ffmpeg -f concat -safe 0 -i list.txt -c copy -movflags +faststart``.
2. **crossfades**, ``--crossfade`` seconds at every join (0.5, what the Movies job asks for):
   ``assemble_movie`` (which encodes a window around each join and copies the rest, sound
   included) against ffmpeg re-encoding the whole film
   with ``xfade`` (fade) and ``acrossfade`` (equal power, ``qsin``) at every join, with our
   codec settings: libx264 ``preset``/``crf`` as ``core.assembly`` (``VIDEO_PRESET``,
   ``VIDEO_CRF``), a keyframe every ``KEYFRAME_SECONDS``, yuv420p, AAC at ``AUDIO_BITRATE``,
   48 kHz stereo, ``+faststart``.

Our time is measured inside the child around ``assemble_movie`` (Python start-up and imports
excluded); ffmpeg's around its command (its start-up included, a few tens of ms). Ratios are
ours ÷ ffmpeg's (median of the rounds): the goals are at most 1 for the stream copy and at
most 1/3 for the crossfades. Every output is probed; ours are decoded from first to last
frame with FFmpeg's error log captured (``--no-verify`` skips that).

ffmpeg comes from the ``imageio-ffmpeg`` wheel (requirements-dev.txt). Run from the
repository root::

    .venv/bin/python -m bench.assembly [--rounds 5] [--crossfade-rounds 1] [--crossfade 0.5] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

DISTINCT = [("a lighthouse on a cliff at dawn", 8), ("a red car in the desert", 8), ("a blue whale", 8), ("snow", 7)]
"""Prompt and seconds of the clips rendered; the film reuses them."""

CLIPS = 38
"""Clips in the film."""

SEVEN_SECOND_EVERY = 9
"""Every ninth clip is the 7 s one (4 of 38), so the film lasts exactly 300 s."""

SELF = [sys.executable, "-m", "bench.assembly"]
"""This script, run as a child: setup, checks and our side each run in their own process, so the
parent stays small and a child's peak RSS (``wait4``) is its own, not the parent's at fork time."""


# -- setup --------------------------------------------------------------------------------


def make_clips(folder: Path) -> list[Path]:
    """Render the distinct clips with a tone each; return the film's 38 clip paths in order."""
    import av
    import numpy as np

    from core.providers.base import GenerationRequest
    from core.providers.offline import render_video

    made = []
    for n, (prompt, seconds) in enumerate(DISTINCT):
        silent, path = folder / f"silent-{n}.mp4", folder / f"clip-{n}.mp4"
        request = GenerationRequest(model="m", prompt=prompt, duration_seconds=seconds, resolution="720p")
        render_video(request, 0, silent)
        with av.open(str(silent)) as inp, av.open(str(path), "w", format="mp4") as out:
            vin = inp.streams.video[0]
            vout = out.add_stream_from_template(vin)
            aout = out.add_stream("aac", rate=48_000, layout="stereo")
            for packet in inp.demux(vin):
                if packet.dts is not None:
                    packet.stream = vout
                    out.mux(packet)
            total = seconds * 48_000
            for start in range(0, total, 1024):
                t = np.arange(start, min(total, start + 1024)) / 48_000
                wave = (0.2 * np.sin(2 * np.pi * (220 + 110 * n) * t)).astype(np.float32)
                frame = av.AudioFrame.from_ndarray(np.stack([wave, wave]), format="fltp", layout="stereo")
                frame.sample_rate, frame.pts, frame.time_base = 48_000, start, Fraction(1, 48_000)
                out.mux(aout.encode(frame))
            out.mux(aout.encode(None))
        silent.unlink()
        made.append(path)
    sevens = [p for p, (_, s) in zip(made, DISTINCT, strict=True) if s == 7]
    eights = [p for p, (_, s) in zip(made, DISTINCT, strict=True) if s == 8]
    film = [
        sevens[0] if i % SEVEN_SECOND_EVERY == SEVEN_SECOND_EVERY - 1 else eights[i % len(eights)] for i in range(CLIPS)
    ]
    return film


def setup(folder: Path) -> None:
    """In a child: make the clips; print their paths, lengths and our codec settings as JSON."""
    from core import assembly
    from core.media import probe_video

    paths = make_clips(folder)
    seconds = {p: probe_video(p).duration_seconds for p in set(paths)}
    settings = {
        name: getattr(assembly, name) for name in ("VIDEO_PRESET", "VIDEO_CRF", "KEYFRAME_SECONDS", "AUDIO_BITRATE")
    }
    print(json.dumps({"paths": [str(p) for p in paths], "lengths": [seconds[p] for p in paths], "settings": settings}))


# -- the two sides ------------------------------------------------------------------------


def run_child(args: list[str]) -> tuple[float, float, str]:
    """Run a command; return its wall seconds, its peak RSS in MB and its stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{args[0]} exited with {proc.returncode}:\n{err.read().decode(errors='replace')[-3000:]}")
        return seconds, usage.ru_maxrss / 1024, out.read().decode()


def ours(mode: str, clips: Path, dest: Path) -> dict[str, Any]:
    _, rss, text = run_child([*SELF, "--child", mode, str(clips), str(dest)])
    result = json.loads(text)
    result["rss_mb"] = rss
    return result


def child(mode: str, clips_file: Path, dest: Path) -> None:
    """In the child: assemble the film and print the time taken and the report as JSON."""
    from core.assembly import Clip, assemble_movie

    plan = json.loads(clips_file.read_text())
    clips = [
        Clip(Path(p)) if i == 0 or mode == "copy" else Clip(Path(p), "crossfade", plan["crossfade"])
        for i, p in enumerate(plan["paths"])
    ]
    start = time.perf_counter()
    report = assemble_movie(clips, dest)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "report": asdict(report)}, default=str))


def ffmpeg_concat(ffmpeg: str, paths: list[Path], folder: Path, dest: Path) -> dict[str, Any]:
    listing = folder / "list.txt"
    listing.write_text("".join(f"file '{p}'\n" for p in paths))
    command = [ffmpeg, "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy"]
    seconds, rss, _ = run_child([*command, "-movflags", "+faststart", str(dest)])
    return {"seconds": seconds, "rss_mb": rss}


def ffmpeg_crossfade(
    ffmpeg: str, paths: list[Path], lengths: list[float], fade: float, settings: dict[str, Any], dest: Path
) -> dict[str, Any]:
    graph, offset, video, audio = [], 0.0, "[0:v]", "[0:a]"
    for i in range(1, len(paths)):
        offset += lengths[i - 1] - fade
        graph.append(f"{video}[{i}:v]xfade=transition=fade:duration={fade}:offset={offset:.6f}[v{i}]")
        graph.append(f"{audio}[{i}:a]acrossfade=d={fade}:c1=qsin:c2=qsin[a{i}]")
        video, audio = f"[v{i}]", f"[a{i}]"
    inputs = [arg for p in paths for arg in ("-i", str(p))]
    command = [ffmpeg, "-v", "error", "-y", *inputs, "-filter_complex", ";".join(graph)]
    command += ["-map", video, "-map", audio, "-c:v", "libx264", "-preset", settings["VIDEO_PRESET"]]
    command += ["-crf", str(settings["VIDEO_CRF"]), "-g", str(settings["KEYFRAME_SECONDS"] * 24), "-pix_fmt", "yuv420p"]
    command += ["-c:a", "aac", "-b:a", str(settings["AUDIO_BITRATE"]), "-ar", "48000", "-ac", "2"]
    command += ["-movflags", "+faststart"]
    seconds, rss, _ = run_child([*command, str(dest)])
    return {"seconds": seconds, "rss_mb": rss}


# -- checks -------------------------------------------------------------------------------


def check(path: Path, decode: bool) -> None:
    """In a child: probe the output (and decode it whole); print what was found as JSON."""
    found = probe(path)
    if decode:
        found["decode"] = decode_check(path)
    print(json.dumps(found))


def decode_check(path: Path) -> dict[str, Any]:
    """Decode every frame and all the sound; count them and collect FFmpeg's error messages."""
    import av
    import av.logging

    av.logging.set_level(av.logging.ERROR)
    try:
        with av.logging.Capture() as logs, av.open(str(path)) as container:
            frames = sum(1 for _ in container.decode(container.streams.video[0]))
            container.seek(0)
            samples = sum(f.samples for f in container.decode(container.streams.audio[0]))
    finally:
        av.logging.set_level(None)
    return {"frames": frames, "audio_seconds": samples / 48_000, "errors": [m for _, _, m in logs][:5]}


def probe(path: Path) -> dict[str, Any]:
    from core.media import probe_video

    facts = probe_video(path)
    return {"duration": facts.duration_seconds, "size_mb": facts.size_bytes / 1e6, "codec": facts.codec}


# -- report -------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpus": os.cpu_count(), "cpu_model": model, "python": platform.python_version()}


def report(f: dict[str, Any]) -> str:
    lines = [
        f"VeoGen assembly bench, {f['date']}, {f['machine']['cpus']} CPUs ({f['machine']['cpu_model']}),"
        f" Python {f['machine']['python']}, {f['ffmpeg']}",
        f"film: {CLIPS} clips (offline renderer, 720p, 24 fps, AAC stereo), {f['film_seconds']:.1f} s with cuts;"
        f" setup {f['setup_seconds']:.0f} s; rounds: {f['rounds'][0]} of the copy, {f['rounds'][1]} of the crossfades;"
        " medians",
        f"our codec settings (both sides of the crossfade run): {f['settings']}",
        "",
    ]
    for mode, goal in (("copy", 1.0), ("crossfades", 1 / 3)):
        m = f[mode]
        ratio = m["ratio"]
        label = "stream copy" if mode == "copy" else f"crossfades ({f['crossfade_seconds']} s at every join)"
        against = "ffmpeg concat demuxer -c copy" if mode == "copy" else "ffmpeg full re-encode, xfade + acrossfade"
        outputs = (
            f"  outputs  ours {m['ours_check']['duration']:.2f} s {m['ours_check']['size_mb']:.1f} MB;"
            f" ffmpeg {m['ffmpeg_check']['duration']:.2f} s {m['ffmpeg_check']['size_mb']:.1f} MB"
        )
        if "decode" in m["ours_check"]:
            d = m["ours_check"]["decode"]
            outputs += (
                f"; ours decoded whole: {d['frames']} frames, {d['audio_seconds']:.2f} s of sound,"
                f" FFmpeg errors: {d['errors'] or 'none'}"
            )
        lines += [
            label,
            f"  ours     {m['ours_seconds']:7.2f} s  peak RSS {m['ours_rss_mb']:6.0f} MB  ({m['path']};"
            f" {m['reencoded_seconds']:.1f} s of {m['duration']:.1f} s encoded)",
            f"  ffmpeg   {m['ffmpeg_seconds']:7.2f} s  peak RSS {m['ffmpeg_rss_mb']:6.0f} MB  ({against})",
            f"  ratio    {ratio:7.3f}    goal <= {goal:.3f}: {'met' if ratio <= goal else 'NOT met'}"
            f"   (rounds, ours: {', '.join(f'{s:.2f}' for s in m['ours_all'])};"
            f" ffmpeg: {', '.join(f'{s:.2f}' for s in m['ffmpeg_all'])})",
            outputs,
            "",
        ]
    return "\n".join(lines).rstrip()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds of the stream copy, each side (default 5)")
    parser.add_argument(
        "--crossfade-rounds", type=int, default=1, help="timed rounds of the crossfades, each side (default 1)"
    )
    parser.add_argument("--crossfade", type=float, default=0.5, help="crossfade seconds at every join (default 0.5)")
    parser.add_argument("--no-verify", action="store_true", help="skip decoding our outputs whole")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "PLAN", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--setup", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--check", nargs=2, metavar=("PATH", "DECODE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.rounds, args.crossfade_rounds) < 1 or not 0 < args.crossfade <= 3:
        parser.error("--rounds and --crossfade-rounds must be at least 1, --crossfade in (0, 3]")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return 0
    if args.setup:
        setup(Path(args.setup))
        return 0
    if args.check:
        check(Path(args.check[0]), args.check[1] == "decode")
        return 0
    import imageio_ffmpeg

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    version = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True, check=True).stdout.split("\n")[0]
    figures: dict[str, Any] = {"rounds": [args.rounds, args.crossfade_rounds], "crossfade_seconds": args.crossfade}
    with tempfile.TemporaryDirectory(prefix="veogen-bench-assembly-") as tmp:
        folder = Path(tmp)
        seconds, _, text = run_child([*SELF, "--setup", str(folder)])
        made = json.loads(text)
        paths, lengths = [Path(p) for p in made["paths"]], made["lengths"]
        figures.update(setup_seconds=seconds, film_seconds=sum(lengths), settings=made["settings"])
        print(
            f"setup: {len(set(paths))} distinct clips rendered, {len(paths)} in the film, {seconds:.1f} s", flush=True
        )
        plan = folder / "plan.json"
        plan.write_text(json.dumps({"paths": made["paths"], "crossfade": args.crossfade}))
        for mode in ("copy", "crossfades"):
            ours_out, ffmpeg_out = folder / f"ours-{mode}.mp4", folder / f"ffmpeg-{mode}.mp4"
            mine, theirs = [], []
            for r in range(args.rounds if mode == "copy" else args.crossfade_rounds):
                mine.append(ours(mode, plan, ours_out))
                if mode == "copy":
                    theirs.append(ffmpeg_concat(ffmpeg, paths, folder, ffmpeg_out))
                else:
                    fade = args.crossfade
                    theirs.append(ffmpeg_crossfade(ffmpeg, paths, lengths, fade, made["settings"], ffmpeg_out))
                print(f"{mode} round {r + 1}: ours {mine[-1]['seconds']:.2f} s, ffmpeg {theirs[-1]['seconds']:.2f} s")
            last = mine[-1]["report"]
            m = figures[mode] = {
                "ours_seconds": statistics.median(x["seconds"] for x in mine),
                "ffmpeg_seconds": statistics.median(t["seconds"] for t in theirs),
                "ours_all": [x["seconds"] for x in mine],
                "ffmpeg_all": [t["seconds"] for t in theirs],
                "ours_rss_mb": max(x["rss_mb"] for x in mine),
                "ffmpeg_rss_mb": max(t["rss_mb"] for t in theirs),
                "path": f"{last['video_path']}, audio {last['audio_path']}",
                "reencoded_seconds": last["reencoded_seconds"],
                "duration": last["duration_seconds"],
            }
            m["ratio"] = m["ours_seconds"] / m["ffmpeg_seconds"]
            decode = "no" if args.no_verify else "decode"
            m["ours_check"] = json.loads(run_child([*SELF, "--check", str(ours_out), decode])[2])
            m["ffmpeg_check"] = json.loads(run_child([*SELF, "--check", str(ffmpeg_out), "no"])[2])
    figures.update(date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), machine=machine(), ffmpeg=version)
    print(report(figures))
    if args.json:
        print(json.dumps(figures, indent=2, default=str))
    bad = [m for m in ("copy", "crossfades") if figures[m]["ours_check"].get("decode", {}).get("errors")]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
