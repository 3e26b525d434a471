"""The Movies page's picture bank of a film: characters (reference images) and start images (first frames).

Imports streamlit, ``core`` and ``pages._ui`` only.
"""

from __future__ import annotations

import streamlit as st

from core import catalog
from core.errors import VeoGenError
from core.services.generations import UploadedImage
from core.services.movie_views import MovieView
from core.studio import Studio
from pages._ui import state, widgets


def characters(studio: Studio, user_id: int, movie: MovieView) -> None:
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
                studio.movies.add_character(user_id, movie.id, name, description, images)
            except VeoGenError as exc:
                widgets.show_error(exc)
                return
            state.flash(f"{name} joined the film.")
            st.rerun()


def start_images(studio: Studio, user_id: int, movie: MovieView) -> None:
    """Pictures a shot may start from (first-frame mode), optionally recoloured to the shot before it."""
    st.subheader("Start images", anchor=False)
    if movie.start_images:
        st.caption(" · ".join(f"{widgets.md(i.name)} ({i.width}×{i.height})" for i in movie.start_images))
    with st.expander("Add a start image"):
        name = st.text_input("Name", max_chars=60, key="movies_start_name")
        upload = st.file_uploader("Picture", type=["png", "jpg", "jpeg", "webp"], key="movies_start_file")
        if st.button("Add start image", disabled=upload is None) and upload is not None:
            image = UploadedImage("first_frame", upload.name, upload.getvalue())
            try:
                studio.movies.add_start_image(user_id, movie.id, name, image)
            except VeoGenError as exc:
                widgets.show_error(exc)
                return
            state.flash(f"Start image {name} added: pick it for a shot in the storyboard.")
            st.rerun()
