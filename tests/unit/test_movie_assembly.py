"""A film assembled from its chosen takes (offline renderer, SQLite, fakeredis; the worker job run in-process):
the film video is stored with its thumbnail and poster and lasts what its shots add up to; changing one
shot's take and assembling again renders nothing again; a film with a shot still missing is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import NotFoundError, ValidationError
from core.media import probe_video
from core.models import Movie
from core.services.storyboard import MovieDraft, ShotDraft
from core.studio import Studio
from tests.support import drive, embedded_studio, wav

OFFLINE = "offline-preview"


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[Studio]:
    with embedded_studio(tmp_path) as studio:
        yield studio


def seq_of(studio: Studio, movie_id: str) -> int:
    with studio.sessions() as s:
        return s.get(Movie, movie_id).assembly_seq


def test_a_three_shot_film_is_assembled_and_reassembled_after_one_retake(studio: Studio, tmp_path: Path):
    user = studio.accounts.add_user("ines", "correct horse battery").id
    movie = studio.movies.create(
        user, MovieDraft(title="Dunes", style="artistic", aspect_ratio="16:9", resolution="360p", target_seconds=10)
    )
    studio.movies.set_storyboard(
        user,
        movie.id,
        [
            ShotDraft("red dunes at dawn", 2, OFFLINE),
            ShotDraft("a blue kite", 3, OFFLINE, join="crossfade"),
            ShotDraft("green night", 2, OFFLINE),
        ],
    )
    with pytest.raises(NotFoundError, match="not been assembled"):
        studio.movies.film_bytes(user, movie.id)
    takes = studio.movies.start(user, movie.id)
    with pytest.raises(ValidationError, match=r"Shot\(s\) 1, 2, 3 have no finished take yet"):
        studio.movies.assemble(user, movie.id)
    for take in takes:
        drive(studio, take.id)

    assert studio.movies.assemble(user, movie.id).assembly_status == "queued"
    studio.movies.run_assembly(movie.id, seq_of(studio, movie.id))  # what the worker job does
    view = studio.movies.get(user, movie.id)
    assert (view.assembly_status, view.assembly_current) == ("done", True), view.assembly_message
    assert view.assembled_seconds == pytest.approx(6.5, abs=0.1)  # 2 + 3 + 2 s, minus a 0.5 s crossfade
    film = tmp_path / "film.mp4"
    film.write_bytes(studio.movies.film_bytes(user, movie.id))
    facts = probe_video(film)
    assert facts.duration_seconds == pytest.approx(6.5, abs=0.1) and facts.height == 360
    assert studio.movies.film_bytes(user, movie.id, "thumbnail")[:3] == b"\xff\xd8\xff"  # a JPEG

    retake = studio.movies.rerender(user, movie.id, view.shots[2].id, prompt="yellow night")
    drive(studio, retake.id)
    assert not studio.movies.get(user, movie.id).assembly_current  # a shot changed since
    studio.movies.assemble(user, movie.id)
    studio.movies.run_assembly(movie.id, seq_of(studio, movie.id))
    view = studio.movies.get(user, movie.id)
    assert view.assembly_current and [len(s.takes) for s in view.shots] == [1, 1, 2]  # nothing else re-rendered


def test_a_stale_assembly_job_does_nothing(studio: Studio):
    user = studio.accounts.add_user("jo", "correct horse battery").id
    movie = studio.movies.create(
        user, MovieDraft(title="One", style="realistic", aspect_ratio="16:9", resolution="360p", target_seconds=8)
    )
    studio.movies.set_storyboard(user, movie.id, [ShotDraft("a quiet pond", 2, OFFLINE)])
    (take,) = studio.movies.start(user, movie.id)
    drive(studio, take.id)
    studio.movies.assemble(user, movie.id)
    stale = seq_of(studio, movie.id) - 1
    studio.movies.run_assembly(movie.id, stale)
    assert studio.movies.get(user, movie.id).assembly_status == "queued"


def test_a_soundtrack_is_checked_stored_and_laid_under_the_film(studio: Studio, tmp_path: Path):
    import av

    user = studio.accounts.add_user("lea", "correct horse battery").id
    movie = studio.movies.create(
        user, MovieDraft(title="Tune", style="animated", aspect_ratio="16:9", resolution="360p", target_seconds=8)
    )
    studio.movies.set_storyboard(
        user, movie.id, [ShotDraft("a red kite", 2, OFFLINE), ShotDraft("blue sky", 2, OFFLINE)]
    )
    for take in studio.movies.start(user, movie.id):
        drive(studio, take.id)
    with pytest.raises(ValidationError, match=r"song\.gif is not an MP3, AAC, M4A, WAV, Ogg or FLAC file"):
        studio.movies.set_soundtrack(user, movie.id, "song.gif", b"GIF89a" + b"\0" * 64, "mix", 0.5)
    with pytest.raises(ValidationError, match="mixed under the shots' sound or replaces it"):
        studio.movies.set_soundtrack(user, movie.id, "tone.wav", wav(1), "louder", 0.5)
    assert studio.movies.get(user, movie.id).soundtrack_name is None  # nothing stored on a refusal

    view = studio.movies.set_soundtrack(user, movie.id, "tone.wav", wav(10), "replace", 0.8)
    assert (view.soundtrack_name, view.soundtrack_mode, view.soundtrack_level) == ("tone.wav", "replace", 0.8)
    studio.movies.assemble(user, movie.id)
    studio.movies.run_assembly(movie.id, seq_of(studio, movie.id))
    view = studio.movies.get(user, movie.id)
    assert view.assembly_current, view.assembly_message
    film = tmp_path / "film.mp4"
    film.write_bytes(studio.movies.film_bytes(user, movie.id))
    with av.open(str(film)) as container:  # the offline shots are silent: the sound is the soundtrack's
        (audio,) = container.streams.audio
        level = max(float(abs(f.to_ndarray()).max()) for f in container.decode(audio))
    assert level > 0.1 and probe_video(film).duration_seconds == pytest.approx(4, abs=0.1)

    studio.movies.clear_soundtrack(user, movie.id)
    assert not studio.movies.get(user, movie.id).assembly_current  # the music changed: assemble again
