"""Movies: a film from shots — storyboard, price before paying, start, per-shot takes and cost, re-render one shot.

A thin page: reads widgets, calls the Studio, renders. Imports only streamlit, ``core`` and ``pages._ui``;
never sqlalchemy, rq, google-genai, cv2, av or workers.
"""

from __future__ import annotations

import streamlit as st

from core import catalog
from core.errors import NotFoundError, VeoGenError
from core.services.generations import UploadedImage
from core.services.movies import JOINS, MAX_FILM_SECONDS, MIN_FILM_SECONDS, STYLES, MovieDraft, MovieView, ShotDraft
from pages._ui import state, widgets

user = state.require_user()
studio = state.get_studio()
ss = st.session_state

PICKED = "movies_picked"
OPEN_NEXT = "movies_open_next"
"""A film to show on the next run (set after creating one, before the picker exists)."""
NEW = "__new__"

st.title("Movies")
state.show_flash()
offers = {offer.spec.id: offer for offer in studio.generations.offers(user.id)}
films = {m.id: m for m in studio.movies.list(user.id)}
choices = [NEW, *films]
if ss.get(OPEN_NEXT) in choices:
    ss[PICKED] = ss.pop(OPEN_NEXT)
if ss.get(PICKED) not in choices:
    ss[PICKED] = next(iter(films), NEW)
picked = st.selectbox(
    "Film",
    choices,
    key=PICKED,
    format_func=lambda i: "New film…" if i == NEW else f"{films[i].title} · {films[i].length_seconds} s",
)


def new_film() -> None:
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
        try:
            movie = studio.movies.create(
                user.id,
                MovieDraft(
                    title=title,
                    style=str(style),
                    aspect_ratio=str(aspect),
                    resolution=str(resolution),
                    target_seconds=int(target),
                    style_prompt=style_prompt,
                    style_negative=style_negative,
                ),
            )
        except VeoGenError as exc:
            widgets.show_error(exc)
            return
        ss[OPEN_NEXT] = movie.id
        state.flash("Film created: write its storyboard.")
        st.rerun()


def characters(movie: MovieView) -> None:
    """The film's characters: reference images sent with every shot that names them (keeps faces steady)."""
    st.subheader("Characters", anchor=False)
    for character in movie.characters:
        st.markdown(
            f"**{widgets.md(character.name)}** · {character.images} reference image(s) · "
            f"{widgets.md(widgets.excerpt(character.description, 120))}"
        )
    with st.expander("Add a character"):
        name = st.text_input("Name", max_chars=60, key="movies_character_name")
        description = st.text_input("Description (optional)", key="movies_character_description")
        uploads = st.file_uploader(
            f"Reference images (1 to {catalog.MAX_REFERENCE_IMAGES})",
            type=["png", "jpg", "jpeg", "webp"],
            accept_multiple_files=True,
            key="movies_character_images",
        )
        if st.button("Add character"):
            images = tuple(UploadedImage("reference", u.name, u.getvalue()) for u in uploads or [])
            try:
                studio.movies.add_character(user.id, movie.id, name, description, images)
            except VeoGenError as exc:
                widgets.show_error(exc)
                return
            state.flash(f"{name} joined the film.")
            st.rerun()


def storyboard(movie: MovieView) -> None:
    characters(movie)
    names = {c.id: c.name for c in movie.characters}
    ids = {c.name.casefold(): c.id for c in movie.characters}
    st.subheader("Storyboard", anchor=False)
    models = [m for m in offers if m != catalog.OFFLINE_MODEL] + [catalog.OFFLINE_MODEL]
    with st.form("movies_propose"):
        st.markdown("**Propose shots from a script** (one shot per sentence; edit them before anything is paid)")
        script = st.text_area("Script", key="movies_script", max_chars=20_000)
        model = st.selectbox("Model", models, format_func=lambda m: offers[m].spec.label, key="movies_script_model")
        seconds = st.number_input("Seconds per shot", 2, 15, 4, key="movies_script_seconds")
        if st.form_submit_button("Propose shots"):
            ss["movies_rows"] = [
                {"prompt": d.prompt, "seconds": d.duration_seconds, "model": d.model, "join": d.join, "characters": ""}
                for d in studio.movies.propose_storyboard(script, model=model, duration_seconds=int(seconds))
            ]
    rows = ss.get("movies_rows") or [
        {
            "prompt": s.prompt,
            "seconds": s.duration_seconds,
            "model": s.model,
            "join": s.join,
            "characters": ", ".join(names.get(c, "") for c in s.characters),
        }
        for s in movie.shots
    ]
    edited = st.data_editor(
        rows or [{"prompt": "", "seconds": 4, "model": models[0], "join": "cut", "characters": ""}],
        num_rows="dynamic",
        key=f"movies_editor_{movie.id}",
        column_config={
            "prompt": st.column_config.TextColumn("Shot", required=True, max_chars=catalog.MAX_PROMPT_CHARS),
            "seconds": st.column_config.NumberColumn("Seconds", min_value=1, max_value=15, step=1, required=True),
            "model": st.column_config.SelectboxColumn("Model", options=models, required=True),
            "join": st.column_config.SelectboxColumn("Join", options=list(JOINS), required=True),
            "characters": st.column_config.TextColumn("Characters (names, comma-separated)"),
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
            )
            for r in edited
        ]
        try:
            studio.movies.set_storyboard(user.id, movie.id, drafts)
        except VeoGenError as exc:
            widgets.show_error(exc)
            return
        ss.pop("movies_rows", None)
        state.flash("Storyboard saved.")
        st.rerun()
    if movie.shots:
        st.markdown(
            f"**Price of the whole film: {widgets.fmt_usd(movie.price_usd)}** for {movie.length_seconds} s "
            f"in {len(movie.shots)} shots — reserved from your budget at once when you start it."
        )
        left, right = st.columns(2)
        if left.button(f"Start the film ({widgets.fmt_usd(movie.price_usd)})", type="primary"):
            start(movie, draft=False)
        if right.button("Draft it first (offline renderer, free)"):
            start(movie, draft=True)


def start(movie: MovieView, *, draft: bool) -> None:
    try:
        studio.movies.start(user.id, movie.id, draft=draft)
    except VeoGenError as exc:
        widgets.show_error(exc)
        return
    state.flash("Every shot is queued as a free draft." if draft else "Every shot is reserved and queued.")
    st.rerun()


def finalise(movie: MovieView) -> None:
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
            studio.movies.finalise(user.id, movie.id)
        except VeoGenError as exc:
            widgets.show_error(exc)
            return
        state.flash("The drafted shots are reserved and queued at their models.")
        st.rerun()


def shots(movie: MovieView) -> None:
    st.markdown(
        f"Cost so far **{widgets.fmt_usd(movie.spent_usd)}** · committed (reserved and spent) "
        f"**{widgets.fmt_usd(movie.committed_usd)}** · {movie.length_seconds} s in {len(movie.shots)} shots"
    )
    finalise(movie)
    for shot in movie.shots:
        with st.container(border=True):
            head, body = st.columns([1, 3])
            chosen = next((t for t in shot.takes if t.id == shot.chosen_id), None)
            latest = shot.takes[-1] if shot.takes else None
            with head:
                st.markdown(
                    f"**Shot {shot.position + 1}** · {shot.duration_seconds} s · {JOINS[shot.join]}"
                    + ("" if shot.final else " · draft")
                )
                if latest is not None:
                    widgets.status_badge(latest.status)
                if chosen is not None:
                    widgets.thumbnail(studio, user.id, chosen)
            with body:
                st.text(widgets.excerpt(shot.prompt, 200))
                for flag in chosen.videos[0].flags if chosen is not None and chosen.videos else ():
                    st.warning(widgets.md(flag), icon=":material/flag:")
                st.caption(
                    f"{catalog.get_model(shot.model).label} · {len(shot.takes)} take(s) · "
                    + " · ".join(f"take {n + 1}: {t.status.label}" for n, t in enumerate(shot.takes))
                )
                if latest is not None and latest.is_final:
                    widgets.outcome(latest)
                    new_prompt = st.text_input("Prompt for a new take", value=shot.prompt, key=f"retake_{shot.id}")
                    price = catalog.price_usd(latest.params)
                    if st.button(f"Re-render this shot ({widgets.fmt_usd(price)})", key=f"rerender_{shot.id}"):
                        try:
                            studio.movies.rerender(user.id, movie.id, shot.id, prompt=new_prompt)
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
                        format_func=lambda i, numbers=numbers: f"take {numbers[i]}",
                        horizontal=True,
                        key=f"take_{shot.id}",
                    )
                    if pick != shot.chosen_id:
                        studio.movies.choose_take(user.id, movie.id, shot.id, str(pick))
                        st.rerun()


if picked == NEW:
    new_film()
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


def assembled(movie: MovieView) -> None:
    """Join the chosen takes into one film (a worker job), then play and download it."""
    st.subheader("The film", anchor=False)
    ready = all(s.chosen_id for s in movie.shots)
    if movie.assembly_status in ("queued", "running"):
        st.info("Assembling the film from the chosen takes…")
        if st.button("Refresh"):
            st.rerun()
    elif movie.assembly_status == "failed":
        st.error(widgets.md(movie.assembly_message or "The film could not be assembled."))
    if movie.assembly_status == "done" or movie.assembled_at is not None:
        if not movie.assembly_current:
            st.caption("A shot's take changed since this film was assembled: assemble it again to use it.")
        for flag in movie.join_flags:
            st.warning(widgets.md(flag), icon=":material/flag:")
        data = studio.movies.film_bytes(user.id, movie.id)
        st.video(data)
        seconds = f"{movie.assembled_seconds:.1f} s · " if movie.assembled_seconds else ""
        st.caption(f"{seconds}assembled {widgets.fmt_time(movie.assembled_at)}")
        st.download_button("Download MP4", data, file_name=f"film-{movie.id[:8]}.mp4", mime="video/mp4")
    if movie.assembly_status not in ("queued", "running") and not movie.assembly_current:
        if not ready:
            st.caption("Every shot needs a finished take before the film can be assembled.")
        elif st.button("Assemble the film", type="primary", help="Joins the chosen takes; nothing is rendered again."):
            try:
                studio.movies.assemble(user.id, movie.id)
            except VeoGenError as exc:
                widgets.show_error(exc)
            else:
                state.flash("The film is being assembled.")
                st.rerun()


if film.started_at is None:
    storyboard(film)
else:
    assembled(film)
    shots(film)
