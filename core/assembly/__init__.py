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
in (see ``audio_copy.AudioCopy`` for how the splices stay clean and in step). Otherwise (a
silent clip among sounding ones, other layouts, a soundtrack) the whole track is decoded,
mixed and encoded again.

Copied and encoded pieces in one track: an MP4 ``avc1`` track keeps its H.264 parameter sets
(SPS/PPS) in the one ``avcC`` record of its sample entry, not in the samples (ISO/IEC
14496-15; parameter sets in the samples need the ``avc3`` sample entry). Pieces from two
encoders can share a track only if both sets of parameter sets fit in that record at once.
Our encoder therefore writes its own under an id the clips do not use (x264's ``sps-id``)
and the record lists both; its profile and level are the clips'. Clips whose parameter sets
clash with the film's (same id, other contents: another encoder or other settings) are
normalised like a clip of another size.

The package, a module for each part; each imports only the ones listed before it:

- ``model``: what a caller asks for and gets back (``Clip``, ``Soundtrack``, the reports);
- ``h264``: H.264 parameter sets and NAL units as an MP4 track holds them;
- ``sources``: what each clip holds, and the clips opened for their packets;
- ``plan``: where each clip sits in the film, and which frames are copied or encoded;
- ``frames``: the film's pictures decoded, fitted and blended for encoding;
- ``audio``: sound decoded, crossfaded and mixed with a soundtrack, and re-encoded whole;
- ``audio_copy``: the clips' AAC copied, with an encoded window around each crossfade;
- ``video``: the video track, copied and encoded packets in one decoding order;
- this module: the public API, and ``assemble_movie``: inspect, plan, write both tracks, and
  fall back to encoding every frame when copied and encoded frames cannot share the track.

The package imports the standard library, PyAV, numpy, ``core.media`` and ``core.errors``;
never streamlit, pages, workers or sqlalchemy.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import av

from core.assembly.audio import (
    AUDIO_BITRATE,
    AUDIO_SAMPLE_RATE,
    SOUNDTRACK_DEMUXERS,
    SOUNDTRACK_FADE_SECONDS,
    AudioMix,
    open_soundtrack,
)
from core.assembly.audio_copy import AudioCopy
from core.assembly.model import AssemblyReport, AudioPath, Clip, JoinKind, JoinReport, Soundtrack, VideoPath
from core.assembly.plan import MAX_FILM_SECONDS, Film
from core.assembly.sources import Pool, inspect_clip
from core.assembly.video import KEYFRAME_SECONDS, VIDEO_CRF, VIDEO_PRESET, CannotCopy, VideoTrack
from core.errors import MediaError

__all__ = [
    "AUDIO_BITRATE",
    "AUDIO_SAMPLE_RATE",
    "KEYFRAME_SECONDS",
    "MAX_FILM_SECONDS",
    "SOUNDTRACK_DEMUXERS",
    "SOUNDTRACK_FADE_SECONDS",
    "VIDEO_CRF",
    "VIDEO_PRESET",
    "AssemblyReport",
    "AudioPath",
    "Clip",
    "JoinKind",
    "JoinReport",
    "Soundtrack",
    "VideoPath",
    "assemble_movie",
]


def assemble_movie(clips: Sequence[Clip], dest: Path, *, soundtrack: Soundtrack | None = None) -> AssemblyReport:
    """Join ``clips`` in order into ``dest`` (written beside it, then renamed) and say how.

    Raises MediaError for no clips, an unreadable clip or soundtrack, a crossfade longer than
    a clip allows, or a film longer than ``MAX_FILM_SECONDS``.
    """
    if not clips:
        raise MediaError("a movie needs at least one clip")
    _check_request(clips, soundtrack)
    with contextlib.ExitStack() as stack:
        opened: Pool = {}  # the clips stay open from their inspection to their copy
        sources = [inspect_clip(i, Path(clip.path), stack, opened) for i, clip in enumerate(clips)]
        if soundtrack is not None:
            with open_soundtrack(Path(soundtrack.path)):
                pass  # readable and holding sound, before any work is done
        film = Film.plan(clips, sources, soundtrack, full=False)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            try:
                _write(film, tmp, opened)
            except CannotCopy as exc:
                why = f"copied and encoded frames cannot share one track ({exc}): every frame is encoded"
                film = Film.plan(clips, sources, soundtrack, full=True, why=why)
                _write(film, tmp, opened)
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return film.report()


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


def _write(film: Film, path: Path, opened: Pool) -> None:
    items = [(film.starts[i] + a, film.starts[i] + b, i) for i, (a, b) in film.copied.items()]
    segments = sorted([*items, *((a, b, None) for a, b in film.runs)], key=lambda s: s[0])
    target = "file:" + str(path.resolve())
    with (
        contextlib.ExitStack() as stack,
        av.open(target, "w", format="mp4", container_options={"movflags": "+faststart"}) as out,
    ):
        video = VideoTrack(film, out, opened)
        audio: AudioCopy | AudioMix | None = None
        if film.audio_path in ("copy", "windowed re-encode"):
            audio = AudioCopy(film, out, opened)
        elif film.audio_path == "re-encode":
            audio = AudioMix(film, out, stack)
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
