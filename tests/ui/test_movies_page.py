"""The Movies page (AppTest, offline renderer): a film is created, its storyboard proposed from a script and
saved, priced, started, and each shot shows its take, status and cost; one shot re-rendered as a new take."""

from __future__ import annotations

from core.status import Status
from tests.ui.support import UiEnv, button, log_in, open_page, texts

MOVIES = "pages/movies.py"
SCRIPT = "A lantern floats up. It drifts over the river. It fades into the stars."


def test_a_film_from_a_script_to_finished_shots_and_a_retake(ui_env: UiEnv) -> None:
    at = open_page(log_in("alice"), MOVIES)
    assert at.selectbox(key="movies_picked").value == "__new__"
    at.text_input(key="movies_title").input("Lanterns").run()
    button(at, "Create film").click().run()
    assert "Film created: write its storyboard." in texts(at)

    at.text_area(key="movies_script").input(SCRIPT)
    at.button(key="FormSubmitter:movies_propose-Propose shots").click().run()
    button(at, "Save storyboard").click().run()
    assert "Storyboard saved." in texts(at)
    (film,) = ui_env.studio.movies.list(ui_env.alice.id)
    assert [s.prompt for s in film.shots] == [
        "A lantern floats up.",
        "It drifts over the river.",
        "It fades into the stars.",
    ]
    assert "Price of the whole film: $0.00" in texts(at)  # the offline renderer is free

    button(at, "Start the film ($0.00)").click().run()
    assert "Every shot is reserved and queued." in texts(at)
    film = ui_env.studio.movies.get(ui_env.alice.id, film.id)
    for shot in film.shots:
        assert ui_env.finish(shot.takes[0].id).status is Status.SUCCEEDED
    at = open_page(at, MOVIES)
    shown = texts(at)
    assert "Shot 1" in shown and "Shot 3" in shown and "take 1: Done" in shown
    assert len(at.get("image")) == 3  # each shot's chosen take, as its thumbnail

    at.text_input(key=f"retake_{film.shots[1].id}").input("It drifts over a dark river").run()
    button(at, "Re-render this shot ($0.00)", index=1).click().run()
    assert "Shot 2: a new take is queued." in texts(at)
    film = ui_env.studio.movies.get(ui_env.alice.id, film.id)
    assert [len(s.takes) for s in film.shots] == [1, 2, 1]
    assert film.shots[1].prompt == "It drifts over a dark river"


def test_another_user_sees_only_their_own_films(ui_env: UiEnv) -> None:
    at = open_page(log_in("alice"), MOVIES)
    at.text_input(key="movies_title").input("Private").run()
    button(at, "Create film").click().run()
    at = open_page(log_in("bob"), MOVIES)
    assert at.selectbox(key="movies_picked").options == ["New film…"]
