"""Shots that start from the shot before them, against the stand-in through the real google-genai client:
a "continue" shot waits (reserved, never sent) until the previous shot has a finished take, then sends
that take's last frame as its first frame; an "extend" shot extends that take, and the assembled film
uses the one combined video Google answers with. Every shot is sent once and paid once."""

from __future__ import annotations

import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from core import checks
from core.errors import ValidationError
from core.models import Generation, GenerationInput
from core.services import ledger
from core.services.storyboard import MovieDraft, ShotDraft
from core.status import Status
from core.studio import Studio
from standin import LEGACY_GEMINI_VEO, Behaviour, VeoStandIn
from tests.support import drive, embedded_studio

OMNI = "gemini-omni-1.1-flash"
VEO = "veo-3.1-generate-001"


@pytest.fixture
def standin() -> Iterator[VeoStandIn]:
    models = [*Behaviour().gemini_models, *LEGACY_GEMINI_VEO]
    with VeoStandIn(api_key="test-key", behaviour=Behaviour(gemini_models=models)) as server:
        yield server


@pytest.fixture
def studio(tmp_path: Path, standin: VeoStandIn) -> Iterator[Studio]:
    with embedded_studio(tmp_path, gemini_api_key="test-key", veo_base_url=standin.url) as studio:
        yield studio


@pytest.fixture
def user(studio: Studio) -> int:
    return studio.accounts.add_user("mira", "correct horse battery").id


def storyboard(studio: Studio, user: int, shots: list[ShotDraft]) -> str:
    movie = studio.movies.create(
        user, MovieDraft(title="Harbour", style="cinematic", aspect_ratio="16:9", resolution="720p", target_seconds=60)
    )
    studio.movies.set_storyboard(user, movie.id, shots)
    return movie.id


def row(studio: Studio, generation_id: str) -> Generation:
    with studio.sessions() as s:
        found = s.execute(select(Generation).where(Generation.id == generation_id)).scalar_one()
        s.expunge(found)
        return found


def first_video(studio: Studio, user: int, generation_id: str) -> Path:
    view = studio.generations.get_generation(user, generation_id)
    path = studio.store.local_path(view.videos[0].storage_key)
    assert path is not None
    return path


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def test_a_continued_shot_waits_then_starts_from_the_last_frame_and_an_extension_extends_it(
    studio: Studio, user: int, standin: VeoStandIn
):
    movie_id = storyboard(
        studio,
        user,
        [
            ShotDraft("a boat leaves the harbour", 4, OMNI),
            ShotDraft("the boat rounds the lighthouse", 4, OMNI, join="continue"),
            ShotDraft("and sails on into the open sea", 4, OMNI, join="extend"),
        ],
    )
    view = studio.movies.get(user, movie_id)
    assert view.length_seconds == 12 and view.price_usd == Decimal("1.20")  # an Omni extension adds its seconds
    one, two, three = studio.movies.start(user, movie_id)
    assert [t.mode for t in (one, two, three)] == ["text", "image", "extend"]
    assert two.waits_for_shot_id == view.shots[0].id and three.waits_for_shot_id == view.shots[1].id
    with studio.sessions() as s:  # the whole film is reserved at once
        assert ledger.committed_usd(session=s, user_id=user) == Decimal("1.20")

    studio.movies.link_waiting()
    assert studio.admission.admit() == [one.id]  # the others wait for the shot before them: nothing sent
    assert standin.stats().posts.get("interactions.create") == 1
    drive(studio, one.id)

    assert studio.movies.link_waiting() == [two.id]
    linked = row(studio, two.id)
    assert linked.waits_for_shot_id is None
    with studio.sessions() as s:
        (frame,) = s.execute(select(GenerationInput).where(GenerationInput.generation_id == two.id)).scalars()
        assert frame.role == "first_frame"
    sent = pixels(studio.store.get_bytes(frame.storage_key))
    last = pixels(checks.last_frame_png(first_video(studio, user, one.id)))
    assert sent.shape == last.shape and np.abs(sent - last).mean() < 2  # the previous shot's last frame
    assert studio.movies.link_waiting() == []  # a linked take is left alone
    drive(studio, two.id)
    assert standin.jobs()[-1]["prompt"].startswith("<FIRST_FRAME> the boat rounds the lighthouse")

    assert studio.movies.link_waiting() == [three.id]
    assert row(studio, three.id).extend_of_id == two.id
    drive(studio, three.id)
    assert standin.stats().posts.get("interactions.create") == 3  # every shot sent once

    view = studio.movies.get(user, movie_id)
    assert [s.takes[-1].status for s in view.shots] == [Status.SUCCEEDED] * 3
    assert [s.takes[-1].cost_usd for s in view.shots] == [Decimal("0.40")] * 3
    extended = studio.generations.get_generation(user, three.id).videos[0]
    assert extended.duration_seconds == pytest.approx(8, abs=0.1)  # the whole clip: shot two and its 4 s more
    assert not [f for f in extended.flags if f.endswith(" s.")]  # no duration flag: the length is as asked

    studio.movies.assemble(user, movie_id)
    job = studio.queue.queue.jobs[-1]
    studio.movies.run_assembly(*job.args)
    film = studio.movies.get(user, movie_id)
    assert film.assembly_status == "done", film.assembly_message
    assert film.assembled_seconds == pytest.approx(12, abs=0.2)  # shot one, then shot two as extended by three


def test_a_veo_extension_comes_back_as_one_combined_video_and_the_film_uses_it_once(
    studio: Studio, user: int, standin: VeoStandIn
):
    movie_id = storyboard(
        studio,
        user,
        [ShotDraft("a lighthouse at dusk", 8, VEO), ShotDraft("its beam sweeps the waves", 8, VEO, join="extend")],
    )
    view = studio.movies.get(user, movie_id)
    assert view.length_seconds == 15 and view.price_usd == Decimal("6.00")  # 8 s + the 7 s Veo adds, × $0.40
    first, second = studio.movies.start(user, movie_id)
    drive(studio, first.id)
    drive(studio, second.id)
    assert row(studio, second.id).extend_of_id == first.id
    assert standin.jobs()[-1]["inputs"][0]["role"] == "video"
    assert studio.generations.get_generation(user, second.id).cost_usd == Decimal("2.80")  # 7 s
    studio.movies.assemble(user, movie_id)
    studio.movies.run_assembly(*studio.queue.queue.jobs[-1].args)
    assert studio.movies.get(user, movie_id).assembled_seconds == pytest.approx(15, abs=0.2)


def test_a_waiting_shot_keeps_its_reservation_until_the_shot_before_it_is_fixed(
    studio: Studio, user: int, standin: VeoStandIn
):
    movie_id = storyboard(
        studio,
        user,
        [ShotDraft("a crowd waves [[rai:56562880]]", 4, OMNI), ShotDraft("the quay empties", 4, OMNI, join="continue")],
    )
    blocked, waiting = studio.movies.start(user, movie_id)
    drive(studio, blocked.id)
    assert row(studio, blocked.id).status == Status.FILTERED.value
    assert studio.movies.link_waiting() == [] and studio.admission.admit() == []
    assert row(studio, waiting.id).status == Status.QUEUED.value  # still reserved, never sent
    shot = studio.movies.get(user, movie_id).shots[0]
    fixed = studio.movies.rerender(user, movie_id, shot.id, prompt="the quay at dawn")
    drive(studio, fixed.id)
    drive(studio, waiting.id)
    assert row(studio, waiting.id).status == Status.SUCCEEDED.value
    assert standin.stats().posts.get("interactions.create") == 3  # the block, its fix, the waiting shot
    assert studio.movies.get(user, movie_id).spent_usd == Decimal("0.80")


def test_drafts_of_continued_shots_are_rendered_alone_and_finals_wait_for_a_final_shot(studio: Studio, user: int):
    movie_id = storyboard(
        studio, user, [ShotDraft("dawn", 4, OMNI), ShotDraft("the sun climbs", 4, OMNI, join="continue")]
    )
    drafts = studio.movies.start(user, movie_id, draft=True)
    assert [(t.mode, t.waits_for_shot_id) for t in drafts] == [("text", None)] * 2
    for take in drafts:
        drive(studio, take.id)
    second = studio.movies.get(user, movie_id).shots[1]
    with pytest.raises(ValidationError, match="render shot 1 at its own model first"):
        studio.movies.finalise(user, movie_id, [second.id])  # a draft's frame is not worth paying to continue
    finals = studio.movies.finalise(user, movie_id)
    assert [t.waits_for_shot_id for t in finals] == [None, studio.movies.get(user, movie_id).shots[0].id]


@pytest.mark.parametrize(
    ("shots", "message"),
    [
        ([ShotDraft("a", 4, OMNI, join="continue")], "Shot 1: The first shot has no shot before it"),
        ([ShotDraft("a", 4, OMNI), ShotDraft("b", 8, VEO, join="extend")], "Shot 2: .* can extend only a shot made"),
        ([ShotDraft("a", 4, "offline-preview"), ShotDraft("b", 4, "offline-preview", join="extend")], "Shot 2: "),
        ([ShotDraft("a", 10, OMNI)] + [ShotDraft("b", 10, OMNI, join="extend")] * 4, "Shot 5: .* up to 40 s"),
    ],
)
def test_a_storyboard_that_cannot_keep_its_continuity_is_refused(studio: Studio, user: int, shots, message):
    movie_id = storyboard(studio, user, [ShotDraft("x", 4, OMNI)])
    with pytest.raises(ValidationError, match=message):
        studio.movies.set_storyboard(user, movie_id, shots)


def test_a_take_waiting_for_a_slow_shot_is_neither_expired_nor_counted_as_stuck(studio: Studio, user: int):
    from datetime import timedelta

    from sqlalchemy import update

    from core.models import utcnow
    from core.services.health import measure

    movie_id = storyboard(studio, user, [ShotDraft("dawn", 4, OMNI), ShotDraft("noon", 4, OMNI, join="continue")])
    first, waiting = studio.movies.start(user, movie_id)
    long_ago = utcnow() - timedelta(hours=3)  # past the operation deadline and the queue-age alert
    with studio.sessions() as s, s.begin():
        s.execute(update(Generation).where(Generation.id == waiting.id).values(created_at=long_ago))
    studio.reconciler.reconcile()
    assert row(studio, waiting.id).status == Status.QUEUED.value
    with studio.sessions() as s:
        health = measure(session=s, now=utcnow(), stuck_after_seconds=600, limits=studio.limits)
    assert health.oldest_queued_seconds < 60  # the first shot's age, not the waiting one's
    drive(studio, first.id)
    studio.movies.link_waiting()
    assert studio.admission.admit() == [waiting.id]
    studio.reconciler.reconcile()  # its deadline runs from when it was sent, not from when the film started
    assert row(studio, waiting.id).status in (Status.RUNNING.value, Status.SUCCEEDED.value)
    assert drive(studio, waiting.id).status == Status.SUCCEEDED.value


def gradient_png(width: int = 640, height: int = 360) -> bytes:
    """A bright red-to-yellow picture, far from the stand-in's colours."""
    ramp = np.linspace(0, 255, width, dtype=np.uint8)
    picture = np.stack(
        [np.full((height, width), 250, np.uint8), np.tile(ramp, (height, 1)), np.zeros((height, width), np.uint8)],
        axis=-1,
    )
    out = io.BytesIO()
    Image.fromarray(picture).save(out, format="PNG")
    return out.getvalue()


def test_a_shot_starts_from_its_start_image_and_may_take_the_previous_shot_s_colours(
    studio: Studio, user: int, standin: VeoStandIn
):
    from core.services.generations import UploadedImage

    movie_id = storyboard(studio, user, [ShotDraft("x", 4, OMNI)])
    with pytest.raises(ValidationError, match="not a PNG, JPEG or WebP image"):
        studio.movies.add_start_image(user, movie_id, "sketch", UploadedImage("first_frame", "s.gif", b"GIF89a" * 20))
    picture = gradient_png()
    view = studio.movies.add_start_image(user, movie_id, "sunrise", UploadedImage("first_frame", "s.png", picture))
    (sunrise,) = view.start_images
    with pytest.raises(ValidationError, match="Shot 1: The first shot has no shot before it to match colours with"):
        studio.movies.set_storyboard(
            user, movie_id, [ShotDraft("a", 4, OMNI, start_image_id=sunrise.id, match_colours=True)]
        )
    with pytest.raises(ValidationError, match="Shot 2: A shot starts from its start image, or from the previous shot"):
        studio.movies.set_storyboard(
            user,
            movie_id,
            [ShotDraft("a", 4, OMNI), ShotDraft("b", 4, OMNI, join="continue", start_image_id=sunrise.id)],
        )
    studio.movies.set_storyboard(
        user,
        movie_id,
        [
            ShotDraft("the sun rises", 4, OMNI, start_image_id=sunrise.id),
            ShotDraft("the sun rises again", 4, OMNI, start_image_id=sunrise.id, match_colours=True),
        ],
    )
    first, matched = studio.movies.start(user, movie_id)
    assert (first.mode, first.waits_for_shot_id, first.input_roles) == ("image", None, ["first_frame"])
    assert matched.mode == "image" and matched.waits_for_shot_id is not None  # it needs shot 1's last frame
    drive(studio, first.id)
    assert studio.movies.link_waiting() == [matched.id]
    with studio.sessions() as s:
        (frame,) = s.execute(select(GenerationInput).where(GenerationInput.generation_id == matched.id)).scalars()
    sent = pixels(studio.store.get_bytes(frame.storage_key))
    last = pixels(checks.last_frame_png(first_video(studio, user, first.id)))
    original = pixels(picture)
    assert sent.shape == original.shape  # the start image, recoloured, not the previous frame
    target = last.reshape(-1, 3).mean(axis=0)
    assert (
        np.abs(sent.reshape(-1, 3).mean(axis=0) - target).max()
        < np.abs(original.reshape(-1, 3).mean(axis=0) - target).max() / 3
    )
    drive(studio, matched.id)
    assert standin.stats().posts.get("interactions.create") == 2
