"""The Movies page once a film has started: its shots (live while any take renders), takes, cost, finalising.

The shots refresh every ``widgets.REFRESH_SECONDS`` while any take is queued or rendering (or the film is
being assembled), then the page reruns once. Imports streamlit, ``core`` and ``pages._ui`` only.
"""

from __future__ import annotations

import streamlit as st

from core import catalog
from core.errors import NotFoundError, VeoGenError
from core.services.generations import GenerationView
from core.services.movie_views import MovieView, ShotView
from core.services.storyboard import JOINS
from core.studio import Studio
from pages._ui import boundary, movie_film, state, widgets


def busy(movie: MovieView) -> bool:
    """Whether anything of the film is still on its way (a take queued or rendering, or the assembly)."""
    return movie.assembly_status in ("queued", "running") or any(not t.is_final for s in movie.shots for t in s.takes)


def live(studio: Studio, user_id: int, movie_id: str) -> None:
    """The film and its shots, re-read every few seconds while anything is on its way."""
    polling = busy(studio.movies.get(user_id, movie_id))

    @boundary.fragment(run_every=widgets.REFRESH_SECONDS if polling else None)
    def panel() -> None:
        try:
            movie = studio.movies.get(user_id, movie_id)
        except NotFoundError:
            st.error("No such film.")
            return
        movie_film.assembled(studio, user_id, movie)
        shots(studio, user_id, movie)
        if polling and not busy(movie):
            st.rerun()

    panel()


def finalise(studio: Studio, user_id: int, movie: MovieView) -> None:
    """Render the drafted shots at their models: the price difference first (drafts cost nothing)."""
    if movie.finalise_usd <= 0 and all(s.final for s in movie.shots):
        return
    drafts = sum(1 for s in movie.shots if not s.final)
    st.info(
        f"{drafts} shot(s) are drafts. Finalising them at their models costs "
        f"{widgets.fmt_usd(movie.finalise_usd)} more (the drafts cost nothing)."
    )
    if st.button(f"Finalise the film (+{widgets.fmt_usd(movie.finalise_usd)})"):
        try:
            studio.movies.finalise(user_id, movie.id)
        except VeoGenError as exc:
            widgets.show_error(exc)
            return
        state.flash("The drafted shots are reserved and queued at their models.")
        st.rerun()


def _take_line(shot: ShotView, take: GenerationView, n: int) -> str:
    if take.waits_for_shot_id is not None:
        return f"take {n}: waiting for shot {shot.position}'s finished take"
    return f"take {n}: {take.status.label}"


def shots(studio: Studio, user_id: int, movie: MovieView) -> None:
    st.subheader("Shots", anchor=False)
    st.markdown(
        f"Cost so far **{widgets.fmt_usd(movie.spent_usd)}** · committed (reserved and spent) "
        f"**{widgets.fmt_usd(movie.committed_usd)}** · {movie.length_seconds} s in {len(movie.shots)} shots"
    )
    finalise(studio, user_id, movie)
    strip(studio, user_id, movie)
    for shot in movie.shots:
        with st.container(border=True):
            head, body = st.columns([1, 3])
            chosen = next((t for t in shot.takes if t.id == shot.chosen_id), None)
            latest = shot.takes[-1] if shot.takes else None
            with head:
                join = "" if shot.position == 0 else f" · {JOINS[shot.join]}"
                st.markdown(
                    f"**Shot {shot.position + 1}** · {shot.seconds} s{join}" + ("" if shot.final else " · draft")
                )
                if latest is not None:
                    widgets.status_badge(latest.status)
                st.caption(f"cost {widgets.fmt_usd(shot.spent_usd)}")
            with body:
                shot_body(studio, user_id, movie, shot, chosen, latest)


STRIP_COLUMNS = 8
"""Shots per row of the thumbnail strip."""


def strip(studio: Studio, user_id: int, movie: MovieView) -> None:
    """The film at a glance: each shot's chosen take as a thumbnail, in order."""
    for first in range(0, len(movie.shots), STRIP_COLUMNS):
        row = movie.shots[first : first + STRIP_COLUMNS]
        for column, shot in zip(st.columns(STRIP_COLUMNS), row, strict=False):
            with column:
                chosen = next((t for t in shot.takes if t.id == shot.chosen_id), None)
                if chosen is not None:
                    widgets.thumbnail(studio, user_id, chosen)
                else:
                    st.caption("rendering…" if any(not t.is_final for t in shot.takes) else "no take yet")
                st.caption(f"{shot.position + 1} · {shot.seconds} s")


def shot_body(
    studio: Studio,
    user_id: int,
    movie: MovieView,
    shot: ShotView,
    chosen: GenerationView | None,
    latest: GenerationView | None,
) -> None:
    st.text(widgets.excerpt(shot.prompt, 200))
    for flag in chosen.videos[0].flags if chosen is not None and chosen.videos else ():
        st.warning(widgets.md(flag), icon=":material/flag:")
    st.caption(
        f"{catalog.get_model(shot.model).label} · {len(shot.takes)} take(s) · "
        + " · ".join(_take_line(shot, t, n + 1) for n, t in enumerate(shot.takes))
    )
    if latest is not None and not latest.is_final:
        widgets.progress(latest)
    if latest is not None and latest.is_final and not shot.final:
        label = f"Finalise this shot at its model (+{widgets.fmt_usd(shot.price_usd)})"
        if st.button(label, key=f"finalise_{shot.id}"):
            try:
                studio.movies.finalise(user_id, movie.id, [shot.id])
            except VeoGenError as exc:
                widgets.show_error(exc)
            else:
                state.flash(f"Shot {shot.position + 1} is reserved and queued at its model.")
                st.rerun()
    if latest is not None and latest.is_final:
        widgets.outcome(latest)
        new_prompt = st.text_input("Prompt for a new take", value=shot.prompt, key=f"retake_{shot.id}")
        price = shot.price_usd  # a new take is rendered at the shot's own model, even after drafts
        if st.button(f"Re-render this shot ({widgets.fmt_usd(price)})", key=f"rerender_{shot.id}"):
            try:
                studio.movies.rerender(user_id, movie.id, shot.id, prompt=new_prompt)
            except VeoGenError as exc:
                widgets.show_error(exc)
            else:
                state.flash(f"Shot {shot.position + 1}: a new take is queued.")
                st.rerun()
    finished = [t for t in shot.takes if t.status.is_final and t.videos]
    if len(finished) > 1:
        ids = [t.id for t in finished]
        numbers = {t.id: n + 1 for n, t in enumerate(shot.takes)}
        pick = st.radio(
            "Take used in the film",
            ids,
            index=ids.index(shot.chosen_id) if shot.chosen_id in ids else len(ids) - 1,
            format_func=lambda i: f"take {numbers[i]}",
            horizontal=True,
            key=f"take_{shot.id}",
        )
        if pick != shot.chosen_id:
            studio.movies.choose_take(user_id, movie.id, shot.id, str(pick))
            st.rerun()
