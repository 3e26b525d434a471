"""The Movies page with a Gemini API key (AppTest, Omni and the text model through the stand-in): the text
model proposes the storyboard and the page says so; a shot that continues from the previous one shows that
it waits for that shot, then renders from its last frame; the page follows the takes while they render;
a film's start images are listed for its storyboard."""

from __future__ import annotations

from core.services.storyboard import MovieDraft, ShotDraft
from core.status import Status
from standin import enhance_prompt
from tests.ui.support import UiEnv, button, log_in, open_page, texts

MOVIES = "pages/movies.py"
OMNI = "gemini-omni-1.1-flash"


def test_the_text_model_proposes_the_storyboard_and_the_page_says_so(omni_env: UiEnv) -> None:
    at = open_page(log_in("alice"), MOVIES)
    at.text_input(key="movies_title").input("Harbour").run()
    button(at, "Create film").click().run()
    assert "proposed by gemini-flash-latest" in texts(at)
    at.text_area(key="movies_script").input("A boat leaves. Gulls follow it.")
    at.selectbox(key="movies_script_model").select(OMNI)
    at.button(key="FormSubmitter:movies_propose-Propose shots").click().run()
    assert "Proposed shots (gemini-flash-latest): edit them below, then save." in texts(at)
    button(at, "Save storyboard").click().run()
    (film,) = omni_env.studio.movies.list(omni_env.alice.id)
    assert [s.prompt for s in film.shots] == [enhance_prompt("A boat leaves."), enhance_prompt("Gulls follow it.")]


def test_a_continued_shot_waits_for_the_shot_before_it(omni_env: UiEnv) -> None:
    studio, alice = omni_env.studio, omni_env.alice.id
    movie = studio.movies.create(
        alice, MovieDraft(title="Dawn", style="realistic", aspect_ratio="16:9", resolution="720p", target_seconds=8)
    )
    studio.movies.set_storyboard(
        alice, movie.id, [ShotDraft("first light", 4, OMNI), ShotDraft("the sun climbs", 4, OMNI, join="continue")]
    )
    first, waiting = studio.movies.start(alice, movie.id)
    at = open_page(log_in("alice"), MOVIES)
    shown = texts(at)
    assert "take 1: waiting for shot 1's finished take" in shown and "Continue from its last frame" in shown
    assert "Cost so far **$0.00** · committed (reserved and spent) **$0.80**" in shown

    assert omni_env.finish(first.id).status is Status.SUCCEEDED
    assert studio.movies.link_waiting() == [waiting.id]
    assert omni_env.finish(waiting.id).status is Status.SUCCEEDED
    at = open_page(at, MOVIES)
    assert texts(at).count("take 1: Done") == 2 and "Cost so far **$0.80**" in texts(at)


def test_start_images_are_listed_for_the_storyboard(omni_env: UiEnv) -> None:
    import io

    from PIL import Image

    from core.services.generations import UploadedImage

    studio, alice = omni_env.studio, omni_env.alice.id
    movie = studio.movies.create(
        alice, MovieDraft(title="Dusk", style="realistic", aspect_ratio="16:9", resolution="720p", target_seconds=8)
    )
    out = io.BytesIO()
    Image.new("RGB", (640, 360), "orange").save(out, format="PNG")
    studio.movies.add_start_image(alice, movie.id, "sunset", UploadedImage("first_frame", "s.png", out.getvalue()))
    at = open_page(log_in("alice"), MOVIES)
    assert "sunset (640×360)" in texts(at)


def test_one_drafted_shot_is_finalised_alone_at_the_price_shown(omni_env: UiEnv) -> None:
    studio, alice = omni_env.studio, omni_env.alice.id
    movie = studio.movies.create(
        alice, MovieDraft(title="Bay", style="realistic", aspect_ratio="16:9", resolution="720p", target_seconds=8)
    )
    studio.movies.set_storyboard(alice, movie.id, [ShotDraft("calm bay", 4, OMNI), ShotDraft("a sail", 4, OMNI)])
    for take in studio.movies.start(alice, movie.id, draft=True):
        assert omni_env.finish(take.id).status is Status.SUCCEEDED
    at = open_page(log_in("alice"), MOVIES)
    assert len(at.get("image")) == 2  # the strip: each shot's chosen take
    assert "Re-render this shot ($0.40)" in [b.label for b in at.button]  # a new take renders at the model
    button(at, "Finalise this shot at its model (+$0.40)", index=1).click().run()
    assert "Shot 2 is reserved and queued at its model." in texts(at)
    film = studio.movies.get(alice, movie.id)
    assert [s.final for s in film.shots] == [False, True] and film.committed_usd == film.shots[1].price_usd
