"""Movies' money, in one process against the stand-in (Gemini Omni Flash through the real google-genai
client): a storyboard is priced before anything is paid; starting reserves every shot at once or nothing;
a filtered shot costs nothing and never discards its paid siblings; a re-render pays for one shot again."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from core.errors import BudgetError, NotFoundError, ValidationError
from core.models import Generation, LedgerEntry, User
from core.services.storyboard import MovieDraft, ShotDraft
from core.status import Status
from core.studio import Studio
from standin import VeoStandIn, enhance_prompt
from tests.support import drive, embedded_studio

OMNI = "gemini-omni-1.1-flash"


@pytest.fixture
def standin() -> Iterator[VeoStandIn]:
    with VeoStandIn(api_key="test-key") as server:
        yield server


@pytest.fixture
def studio(tmp_path: Path, standin: VeoStandIn) -> Iterator[Studio]:
    with embedded_studio(tmp_path, gemini_api_key="test-key", veo_base_url=standin.url) as studio:
        yield studio


@pytest.fixture
def user(studio: Studio) -> int:
    return studio.accounts.add_user("mira", "correct horse battery").id


def film(studio: Studio, user: int, prompts: list[str], seconds: int = 4) -> str:
    movie = studio.movies.create(
        user, MovieDraft(title="Harbour", style="cinematic", aspect_ratio="16:9", resolution="720p", target_seconds=30)
    )
    shots = [ShotDraft(prompt=p, duration_seconds=seconds, model=OMNI) for p in prompts]
    studio.movies.set_storyboard(user, movie.id, shots)
    return movie.id


def count(studio: Studio, model: type) -> int:
    with studio.sessions() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_a_script_becomes_an_editable_storyboard_priced_before_paying(studio: Studio, user: int):
    sentences = ["A boat leaves the harbour.", "Gulls follow it!", "The sun sets behind the lighthouse."]
    board = studio.movies.propose_storyboard("  ".join(sentences), model=OMNI, duration_seconds=5)
    assert board.source == studio.settings.prompt_model  # a key is set: the text model proposes the shots
    assert [d.prompt for d in board.shots] == [enhance_prompt(s) for s in sentences]
    movie = studio.movies.create(
        user, MovieDraft(title="Gulls", style="animated", aspect_ratio="16:9", resolution="720p", target_seconds=15)
    )
    assert movie.style_prompt.startswith("Animated film style")  # the preset, visible and editable
    edited = [replace(d, duration_seconds=5) for d in board.shots]  # the creator edits before paying
    view = studio.movies.set_storyboard(user, movie.id, edited)
    assert view.price_usd == Decimal("1.50") and view.length_seconds == 15  # 3 × 5 s × $0.10
    assert count(studio, Generation) == 0 and count(studio, LedgerEntry) == 0  # nothing paid yet


def test_a_shot_that_breaks_its_model_s_rules_is_named(studio: Studio, user: int):
    movie = studio.movies.create(
        user, MovieDraft(title="X", style="realistic", aspect_ratio="16:9", resolution="720p", target_seconds=20)
    )
    with pytest.raises(ValidationError, match=r"Shot 2: Gemini Omni Flash 1\.1 makes videos of"):
        studio.movies.set_storyboard(user, movie.id, [ShotDraft("a", 4, OMNI), ShotDraft("b", 11, OMNI)])


def test_a_film_that_does_not_fit_the_budget_is_refused_whole(studio: Studio, user: int):
    with studio.sessions() as s, s.begin():
        s.execute(update(User).where(User.id == user).values(monthly_budget_usd=Decimal("1.00")))
    movie_id = film(studio, user, ["one", "two", "three"])  # 3 × $0.40 = $1.20
    with pytest.raises(BudgetError, match=r"costs \$1\.20, but only \$1\.00"):
        studio.movies.start(user, movie_id)
    assert count(studio, Generation) == 0 and count(studio, LedgerEntry) == 0  # all or nothing


def test_the_film_counts_once_against_the_open_generation_cap(studio: Studio, user: int):
    with studio.sessions() as s, s.begin():
        s.execute(update(User).where(User.id == user).values(max_open_generations=2))
    takes = studio.movies.start(user, film(studio, user, ["a", "b", "c", "d", "e"]))
    assert len(takes) == 5


def test_a_filtered_shot_keeps_its_paid_siblings_and_one_rerender_pays_once(
    studio: Studio, user: int, standin: VeoStandIn
):
    movie_id = film(studio, user, ["the boat leaves", "a crowd waves [[rai:56562880]]", "the boat is a dot"])
    takes = studio.movies.start(user, movie_id)
    assert [t.price_usd for t in takes] == [Decimal("0.40")] * 3
    with pytest.raises(ValidationError, match="Every shot already has a take"):
        studio.movies.start(user, movie_id)  # a second click never pays twice
    for take in takes:
        drive(studio, take.id)
    view = studio.movies.get(user, movie_id)
    assert [s.takes[0].status for s in view.shots] == [Status.SUCCEEDED, Status.FILTERED, Status.SUCCEEDED]
    assert (view.spent_usd, view.committed_usd) == (Decimal("0.80"), Decimal("0.80"))  # the block cost nothing

    blocked = view.shots[1]
    retake = studio.movies.rerender(user, movie_id, blocked.id, prompt="the harbour at dusk, empty")
    drive(studio, retake.id)
    view = studio.movies.get(user, movie_id)
    assert [len(s.takes) for s in view.shots] == [1, 2, 1]  # the old take is kept
    assert view.shots[1].chosen_id == retake.id and view.spent_usd == Decimal("1.20")
    assert standin.stats().posts.get("interactions.create") == 4  # three shots and one re-render


def test_a_take_is_chosen_among_finished_ones(studio: Studio, user: int):
    movie_id = film(studio, user, ["a lighthouse"])
    (first,) = studio.movies.start(user, movie_id)
    drive(studio, first.id)
    shot = studio.movies.get(user, movie_id).shots[0]
    second = studio.movies.rerender(user, movie_id, shot.id)
    with pytest.raises(ValidationError, match="still rendering"):
        studio.movies.rerender(user, movie_id, shot.id)
    with pytest.raises(ValidationError, match="Only a finished take"):
        studio.movies.choose_take(user, movie_id, shot.id, second.id)
    drive(studio, second.id)
    assert studio.movies.get(user, movie_id).shots[0].chosen_id == second.id  # the newest by default
    view = studio.movies.choose_take(user, movie_id, shot.id, first.id)
    assert view.shots[0].chosen_id == first.id


def test_another_user_never_sees_or_starts_a_movie(studio: Studio, user: int):
    movie_id = film(studio, user, ["a secret"])
    other = studio.accounts.add_user("otto", "correct horse battery").id
    for attempt in (
        lambda: studio.movies.get(other, movie_id),
        lambda: studio.movies.start(other, movie_id),
        lambda: studio.movies.set_storyboard(other, movie_id, [ShotDraft("x", 4, OMNI)]),
    ):
        with pytest.raises(NotFoundError):
            attempt()
    assert studio.movies.list(other) == []


def test_a_draft_is_free_and_finalising_pays_the_difference_once(studio: Studio, user: int, standin: VeoStandIn):
    movie_id = film(studio, user, ["dawn over the bay", "boats set out"], seconds=5)
    drafts = studio.movies.start(user, movie_id, draft=True)
    assert [(t.model, t.resolution, t.price_usd) for t in drafts] == [("offline-preview", "360p", Decimal(0))] * 2
    for take in drafts:
        drive(studio, take.id)
    view = studio.movies.get(user, movie_id)
    assert [s.final for s in view.shots] == [False, False]
    assert view.finalise_usd == Decimal("1.00")  # 2 × 5 s × $0.10: what finalising adds (the drafts cost nothing)
    finals = studio.movies.finalise(user, movie_id)
    assert [(t.model, t.price_usd) for t in finals] == [(OMNI, Decimal("0.50"))] * 2
    with pytest.raises(ValidationError, match="still rendering"):
        studio.movies.finalise(user, movie_id)
    for take in finals:
        drive(studio, take.id)
    view = studio.movies.get(user, movie_id)
    assert [s.final for s in view.shots] == [True, True] and view.finalise_usd == 0
    assert [s.chosen_id for s in view.shots] == [t.id for t in finals]  # the final takes are used
    with pytest.raises(ValidationError, match="Every shot already has a final take"):
        studio.movies.finalise(user, movie_id)
    assert view.spent_usd == Decimal("1.00") and standin.stats().posts.get("interactions.create") == 2


def test_analytics_count_films_their_takes_and_their_spend(studio: Studio, user: int):
    movie_id = film(studio, user, ["a", "b [[rai:56562880]]"])
    for take in studio.movies.start(user, movie_id):
        drive(studio, take.id)
    film(studio, user, ["not started"])
    admin = studio.accounts.add_user("root", "correct horse battery", role="admin").id
    films = studio.analytics.report(admin, studio.analytics.default_range(), "2026-12").films
    assert (films.created, films.started, films.takes, films.takes_succeeded) == (2, 1, 2, 1)
    assert films.spent_usd == Decimal("0.40")


def png(colour: str) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (320, 180), colour).save(out, format="PNG")
    return out.getvalue()


def test_a_character_s_references_go_with_every_shot_that_names_it(studio: Studio, user: int, standin: VeoStandIn):
    from core.services.generations import UploadedImage

    movie_id = film(studio, user, ["placeholder"])
    with pytest.raises(ValidationError, match="not a PNG, JPEG or WebP image"):
        studio.movies.add_character(
            user, movie_id, "Ada", "", (UploadedImage("reference", "ada.png", b"GIF89a" + b"\0" * 64),)
        )
    view = studio.movies.add_character(
        user,
        movie_id,
        "Ada",
        "a sailor in a yellow coat",
        (UploadedImage("reference", "a.png", png("gold")), UploadedImage("reference", "b.png", png("navy"))),
    )
    (ada,) = view.characters
    assert (ada.name, ada.images) == ("Ada", 2)
    with pytest.raises(ValidationError, match="already has a character called Ada"):
        studio.movies.add_character(user, movie_id, "ada", "", (UploadedImage("reference", "c.png", png("red")),))
    with pytest.raises(ValidationError, match="Shot 1: no such character"):
        studio.movies.set_storyboard(user, movie_id, [ShotDraft("x", 4, OMNI, characters=("nobody",))])
    studio.movies.set_storyboard(
        user,
        movie_id,
        [ShotDraft("Ada waves from the deck", 4, OMNI, characters=(ada.id,)), ShotDraft("the open sea", 4, OMNI)],
    )
    takes = studio.movies.start(user, movie_id)
    assert [t.mode for t in takes] == ["reference", "text"]
    for take in takes:
        drive(studio, take.id)
    with_ada, sea = standin.jobs()
    assert [i["type"] for i in with_ada["inputs"]].count("image") == 2
    assert with_ada["prompt"].startswith("<IMAGE_REF_0> <IMAGE_REF_1> Ada waves from the deck")
    assert not any(i["type"] == "image" for i in sea["inputs"])


def test_a_shot_that_comes_back_smaller_than_asked_is_flagged_not_blocked(studio: Studio, user: int):
    movie_id = film(studio, user, ["a quiet harbour"])  # the stand-in draws 240p whatever is asked
    (take,) = studio.movies.start(user, movie_id)
    assert drive(studio, take.id).status == Status.SUCCEEDED.value
    (shot,) = studio.movies.get(user, movie_id).shots
    (video,) = shot.takes[0].videos
    assert "Asked for 720p, got 240p: a silent downgrade." in video.flags
    assert shot.takes[0].cost_usd == Decimal("0.40")  # flags never block or change the money
