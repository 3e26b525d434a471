"""The Movies page's assembled film: its soundtrack, assembling (a worker job), playing and downloading it.

Imports streamlit, ``core`` and ``pages._ui`` only.
"""

from __future__ import annotations

import streamlit as st

from core.errors import VeoGenError
from core.images import MAX_IMAGE_BYTES
from core.movies import film_download_name
from core.services.film import MAX_SOUNDTRACK_BYTES, SOUNDTRACK_MODES
from core.services.movie_views import MovieView
from core.studio import Studio
from pages._ui import state, widgets

PAGE_SOUNDTRACK_MB = min(MAX_SOUNDTRACK_BYTES, MAX_IMAGE_BYTES) // 2**20
"""Largest soundtrack this page takes, in MiB: Streamlit's upload limit is sized for the largest image
(.streamlit/config.toml), since it holds uploads in memory for any page session; the REST API takes
soundtracks up to ``MAX_SOUNDTRACK_BYTES``."""


def soundtrack(studio: Studio, user_id: int, movie: MovieView) -> None:
    """Music for the film: uploaded once, mixed under the shots' sound or replacing it, used at assembly."""
    with st.expander(f"Soundtrack: {movie.soundtrack_name}" if movie.soundtrack_name else "Add a soundtrack"):
        if movie.soundtrack_name:
            st.caption(
                f"{widgets.md(movie.soundtrack_name)} · {SOUNDTRACK_MODES[movie.soundtrack_mode].lower()} "
                f"· level {movie.soundtrack_level:.0%}"
            )
            if st.button("Remove the soundtrack", key="movies_soundtrack_remove"):
                studio.movies.clear_soundtrack(user_id, movie.id)
                state.flash("Soundtrack removed: assemble the film again to use the shots' own sound.")
                st.rerun()
        upload = st.file_uploader(
            f"Music (MP3, AAC, M4A, WAV, Ogg or FLAC; up to {PAGE_SOUNDTRACK_MB} MiB here)",
            type=["mp3", "aac", "m4a", "mp4", "wav", "ogg", "oga", "flac"],
            key="movies_soundtrack_file",
            max_upload_size=PAGE_SOUNDTRACK_MB,
            help=f"Larger files, up to {MAX_SOUNDTRACK_BYTES // 2**20} MiB, through the REST API "
            "(PUT /v1/movies/{id}/soundtrack).",
        )
        mode = st.radio(
            "How it sounds",
            list(SOUNDTRACK_MODES),
            format_func=SOUNDTRACK_MODES.__getitem__,
            horizontal=True,
            key="movies_soundtrack_mode",
        )
        level = st.slider("Music level", 0, 100, 50, step=5, format="%d%%", key="movies_soundtrack_level")
        if st.button("Use this soundtrack", key="movies_soundtrack_use", disabled=upload is None) and upload:
            try:
                studio.movies.set_soundtrack(user_id, movie.id, upload.name, upload.getvalue(), str(mode), level / 100)
            except VeoGenError as exc:
                widgets.show_error(exc)
                return
            state.flash("Soundtrack saved: assemble the film to hear it.")
            st.rerun()


def assembled(studio: Studio, user_id: int, movie: MovieView) -> None:
    """Join the chosen takes into one film (a worker job), then play and download it."""
    st.subheader("The film", anchor=False)
    ready = all(s.chosen_id for s in movie.shots)
    if movie.assembly_status in ("queued", "running"):
        st.info("Assembling the film from the chosen takes…")
    elif movie.assembly_status == "failed":
        st.error(widgets.md(movie.assembly_message or "The film could not be assembled."))
    if movie.assembly_status == "done" or movie.assembled_at is not None:
        if not movie.assembly_current:
            st.caption("A take or the soundtrack changed since this film was assembled: assemble it again to use it.")
        for flag in movie.join_flags:
            st.warning(widgets.md(flag), icon=":material/flag:")
        data = studio.movies.film_bytes(user_id, movie.id)
        st.video(data)
        seconds = f"{movie.assembled_seconds:.1f} s · " if movie.assembled_seconds else ""
        st.caption(f"{seconds}assembled {widgets.fmt_time(movie.assembled_at)}")
        st.download_button("Download MP4", data, file_name=film_download_name(movie.id), mime="video/mp4")
    soundtrack(studio, user_id, movie)
    if movie.assembly_status not in ("queued", "running") and not movie.assembly_current:
        if not ready:
            st.caption("Every shot needs a finished take before the film can be assembled.")
        elif st.button("Assemble the film", type="primary", help="Joins the chosen takes; nothing is rendered again."):
            try:
                studio.movies.assemble(user_id, movie.id)
            except VeoGenError as exc:
                widgets.show_error(exc)
            else:
                state.flash("The film is being assembled.")
                st.rerun()
