"""The Movies page before a film starts: a new film, its characters, the storyboard editor and its price.

A storyboard is proposed from a script by the Gemini text model when a key is set (else one shot per
sentence), always editable before anything is paid. Imports streamlit, ``core`` and ``pages._ui`` only.
"""

from __future__ import annotations

import streamlit as st

from core import catalog
from core.catalog import Offer
from core.errors import VeoGenError
from core.movies import MAX_SCRIPT_CHARS
from core.services.movie_views import MovieView
from core.services.storyboard import JOINS, MAX_FILM_SECONDS, MIN_FILM_SECONDS, STYLES, MovieDraft, ShotDraft
from core.studio import Studio
from pages._ui import movie_bank, state, widgets

OPEN_NEXT = "movies_open_next"
"""Session key of a film to show on the next run (set after creating one, before the picker exists)."""

ROWS = "movies_rows"
"""Session key of a proposed storyboard not saved yet (rows of the editor)."""

PROPOSED_FROM = "movies_proposed_from"
"""Session key of where the proposal in the editor came from (the text model, or the split), and any note."""


def new_film(studio: Studio, user_id: int) -> None:
    st.subheader("New film", anchor=False)
    title = st.text_input("Title", max_chars=120, key="movies_title")
    style = st.radio("Style", [*STYLES, "custom"], horizontal=True, key="movies_style")
    preset = STYLES.get(str(style), ("", ""))
    style_prompt = st.text_area("Style prompt (added to every shot)", value=preset[0], key=f"movies_sp_{style}")
    style_negative = st.text_input("Style: things to avoid", value=preset[1], key=f"movies_sn_{style}")
    left, middle, right = st.columns(3)
    aspect = left.selectbox("Aspect ratio", ("16:9", "9:16"), key="movies_aspect")
    resolution = middle.selectbox("Resolution", ("720p", "1080p", "360p", "4k"), key="movies_resolution")
    target = right.slider("Target length (s)", MIN_FILM_SECONDS, MAX_FILM_SECONDS, 60, key="movies_target")
    if st.button("Create film", type="primary"):
        draft = MovieDraft(
            title=title,
            style=str(style),
            aspect_ratio=str(aspect),
            resolution=str(resolution),
            target_seconds=int(target),
            style_prompt=style_prompt,
            style_negative=style_negative,
        )
        try:
            movie = studio.movies.create(user_id, draft)
        except VeoGenError as exc:
            widgets.show_error(exc)
            return
        st.session_state[OPEN_NEXT] = movie.id
        state.flash("Film created: write its storyboard.")
        st.rerun()


def _row(shot: ShotDraft, names: dict[str, str], pictures: dict[str, str]) -> dict[str, object]:
    return {
        "prompt": shot.prompt,
        "seconds": shot.duration_seconds,
        "model": shot.model,
        "join": shot.join,
        "characters": ", ".join(names.get(c, "") for c in shot.characters),
        "start_image": pictures.get(shot.start_image_id or "", ""),
        "match": shot.match_colours,
    }


def propose(studio: Studio, models: list[str], offers: dict[str, Offer]) -> None:
    """Paste a script, get shots to edit: from the text model when there is one, else one per sentence."""
    unavailable = studio.movies.storyboard_help()
    how = f"proposed by {studio.settings.prompt_model}" if unavailable is None else "one shot per sentence"
    with st.form("movies_propose"):
        st.markdown(f"**Propose shots from a script** ({how}; edit them before anything is paid)")
        if unavailable is not None:
            st.caption(widgets.md(unavailable))
        script = st.text_area("Script", key="movies_script", max_chars=MAX_SCRIPT_CHARS)
        model = st.selectbox("Model", models, format_func=lambda m: offers[m].spec.label, key="movies_script_model")
        seconds = st.number_input("Seconds per shot", 2, 15, 4, key="movies_script_seconds")
        if st.form_submit_button("Propose shots"):
            try:
                board = studio.movies.propose_storyboard(script, model=model, duration_seconds=int(seconds))
            except VeoGenError as exc:
                widgets.show_error(exc)
                return
            st.session_state[ROWS] = [_row(d, {}, {}) for d in board.shots]
            st.session_state[PROPOSED_FROM] = (board.source, board.note)
    proposed = st.session_state.get(PROPOSED_FROM)
    if proposed and st.session_state.get(ROWS):
        source, note = proposed
        st.caption(f"Proposed shots ({widgets.md(source)}): edit them below, then save.")
        if note:
            st.warning(widgets.md(note))


def storyboard(studio: Studio, user_id: int, movie: MovieView, offers: dict[str, Offer]) -> None:
    movie_bank.characters(studio, user_id, movie)
    movie_bank.start_images(studio, user_id, movie)
    names = {c.id: c.name for c in movie.characters}
    ids = {c.name.casefold(): c.id for c in movie.characters}
    pictures = {i.id: i.name for i in movie.start_images}
    picture_ids = {i.name: i.id for i in movie.start_images}
    st.subheader("Storyboard", anchor=False)
    models = [m for m in offers if m != catalog.OFFLINE_MODEL] + [catalog.OFFLINE_MODEL]
    propose(studio, models, offers)
    rows = st.session_state.get(ROWS) or [
        _row(
            ShotDraft(s.prompt, s.duration_seconds, s.model, s.join, s.characters, s.start_image_id, s.match_colours),
            names,
            pictures,
        )
        for s in movie.shots
    ]
    st.caption(
        "Joins: a cut or a crossfade; **continue** starts the shot from the previous shot's last frame; "
        "**extend** has the model carry the previous shot on (same model; Veo adds 7 s). Both wait for the "
        "previous shot's finished take; drafts render each shot alone. A **start image** is the shot's first "
        "frame; **match colours** recolours it to the previous shot's last frame (it then waits for that shot)."
    )
    edited = st.data_editor(
        rows
        or [
            {
                "prompt": "",
                "seconds": 4,
                "model": models[0],
                "join": "cut",
                "characters": "",
                "start_image": "",
                "match": False,
            }
        ],
        num_rows="dynamic",
        key=f"movies_editor_{movie.id}",
        column_config={
            "prompt": st.column_config.TextColumn("Shot", required=True, max_chars=catalog.MAX_PROMPT_CHARS),
            "seconds": st.column_config.NumberColumn("Seconds", min_value=1, max_value=15, step=1, required=True),
            "model": st.column_config.SelectboxColumn("Model", options=models, required=True),
            "join": st.column_config.SelectboxColumn("Join", options=list(JOINS), required=True),
            "characters": st.column_config.TextColumn("Characters (names, comma-separated)"),
            "start_image": st.column_config.SelectboxColumn("Start image", options=["", *picture_ids]),
            "match": st.column_config.CheckboxColumn("Match colours", default=False),
        },
        use_container_width=True,
    )
    if st.button("Save storyboard"):
        drafts = [
            ShotDraft(
                str(r["prompt"] or ""),
                int(r["seconds"] or 0),
                str(r["model"] or ""),
                str(r["join"] or "cut"),
                tuple(
                    ids.get(n.strip().casefold(), n.strip())
                    for n in str(r.get("characters") or "").split(",")
                    if n.strip()
                ),
                picture_ids.get(str(r.get("start_image") or "")),
                bool(r.get("match")),
            )
            for r in edited
        ]
        try:
            studio.movies.set_storyboard(user_id, movie.id, drafts)
        except VeoGenError as exc:
            widgets.show_error(exc)
            return
        st.session_state.pop(ROWS, None)
        st.session_state.pop(PROPOSED_FROM, None)
        state.flash("Storyboard saved.")
        st.rerun()
    if movie.shots:
        st.markdown(
            f"**Price of the whole film: {widgets.fmt_usd(movie.price_usd)}** for {movie.length_seconds} s "
            f"in {len(movie.shots)} shots — reserved from your budget at once when you start it."
        )
        left, right = st.columns(2)
        if left.button(f"Start the film ({widgets.fmt_usd(movie.price_usd)})", type="primary"):
            start(studio, user_id, movie, draft=False)
        if right.button("Draft it first (offline renderer, free)"):
            start(studio, user_id, movie, draft=True)


def start(studio: Studio, user_id: int, movie: MovieView, *, draft: bool) -> None:
    try:
        studio.movies.start(user_id, movie.id, draft=draft)
    except VeoGenError as exc:
        widgets.show_error(exc)
        return
    state.flash("Every shot is queued as a free draft." if draft else "Every shot is reserved and queued.")
    st.rerun()
