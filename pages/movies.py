"""Movies: a film from shots — storyboard, price before paying, start, live per-shot takes and cost, assembly.

A thin page: picks the film, then draws the storyboard (before it starts, ``pages/_ui/movie_storyboard.py``)
or its shots and the assembled film (``pages/_ui/movie_shots.py``, ``pages/_ui/movie_film.py``). Imports
only streamlit, ``core`` and ``pages._ui``; never sqlalchemy, rq, google-genai, cv2, av or workers.
"""

from __future__ import annotations

import streamlit as st

from core.errors import NotFoundError
from pages._ui import movie_shots, movie_storyboard, state, widgets

user = state.require_user()
studio = state.get_studio()
ss = st.session_state

PICKED = "movies_picked"
NEW = "__new__"

st.title("Movies")
state.show_flash()
offers = {offer.spec.id: offer for offer in studio.generations.offers(user.id)}
films = {m.id: m for m in studio.movies.list(user.id)}
choices = [NEW, *films]
if ss.get(movie_storyboard.OPEN_NEXT) in choices:
    ss[PICKED] = ss.pop(movie_storyboard.OPEN_NEXT)
if ss.get(PICKED) not in choices:
    ss[PICKED] = next(iter(films), NEW)
picked = st.selectbox(
    "Film",
    choices,
    key=PICKED,
    format_func=lambda i: "New film…" if i == NEW else f"{films[i].title} · {films[i].length_seconds} s",
)

if picked == NEW:
    movie_storyboard.new_film(studio, user.id)
    st.stop()
try:
    film = studio.movies.get(user.id, str(picked))
except NotFoundError:
    ss.pop(PICKED, None)
    st.rerun()
st.caption(
    f"{film.style.title()} · {film.aspect_ratio} · {film.resolution} · target {film.target_seconds} s · "
    f"style: {widgets.excerpt(film.style_prompt, 120)}"
)
if film.started_at is None:
    movie_storyboard.storyboard(studio, user.id, film, offers)
else:
    movie_shots.live(studio, user.id, film.id)
