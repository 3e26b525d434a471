"""Generation: one of the user's generations in full — videos, facts, parameters, timeline, actions.

A thin page: reads widgets, calls the Studio, renders. Imports only streamlit, ``core`` and
``pages._ui``; never sqlalchemy, rq, google-genai, cv2, av or workers.
"""

from __future__ import annotations

import streamlit as st

from core.errors import NotFoundError
from core.services.generations import GenerationView
from pages._ui import state, widgets

user = state.require_user()
studio = state.get_studio()

generation_id = st.query_params.get("id", "")
if not generation_id:
    st.title("Generation")
    st.info("Pick a generation in the gallery to see it here.")
    st.page_link(state.GALLERY_PAGE_FILE, label="Go to the gallery", icon=":material/video_library:")
    st.stop()

try:
    if not state.looks_like_id(generation_id):
        raise NotFoundError("No such generation.")
    view = studio.generations.get_generation(user.id, generation_id)
except NotFoundError:
    # Unknown and not-yours look the same: nothing about the row is shown.
    st.error("No such generation.")
    st.stop()

st.title("Generation")
state.show_flash()
st.text(widgets.excerpt(view.prompt, 160))
# Google keeps a video two days; only then can it be extended or edited (the service decides which).
continuable = view.id in {v.id for v in studio.generations.sources(user.id)}


def after_delete() -> None:
    st.query_params.pop("id", None)
    st.switch_page(state.GALLERY_PAGE_FILE)


def status_panel(current: GenerationView) -> None:
    widgets.status_badge(current.status)
    if not current.is_final:
        widgets.progress(current)
    widgets.outcome(current)
    widgets.actions(studio, user.id, current, key="detail", show_open=False, after_delete=after_delete)
    if continuable and current.is_final:
        omni = current.provider == "omni"
        st.caption(
            "Google keeps this video for two days after it was made; until then you can "
            + ("extend it or edit it with an instruction." if omni else "extend it.")
        )
        with st.container(horizontal=True, gap="small"):
            if st.button("Extend", key="detail-extend", icon=":material/playlist_add:"):
                st.switch_page(state.CREATE_PAGE, query_params={"extend": current.id})
            if omni and st.button("Edit", key="detail-edit", icon=":material/edit:"):
                st.switch_page(state.CREATE_PAGE, query_params={"edit": current.id})
    st.subheader("Timeline", anchor=False)
    try:
        widgets.timeline(studio.generations.timeline(user.id, current.id))
    except NotFoundError:
        st.error("No such generation.")


media, side = st.columns([3, 2], gap="large")
with side:
    widgets.live_panel(studio, user.id, view.id, status_panel)

with media:
    if not view.videos:
        st.caption("No video yet." if not view.is_final else "This generation has no video.")
    for video in view.videos:
        st.subheader(f"Video {video.index + 1}" if len(view.videos) > 1 else "Video", anchor=False)
        widgets.video_player(studio, user.id, view, video)
    if view.input_roles:
        st.subheader("Your images", anchor=False)
        widgets.input_images(studio, user.id, view)
    st.subheader("Parameters", anchor=False)
    widgets.parameters_table(view)
    if view.extend_of_id:
        st.page_link(state.DETAIL_PAGE, label="Extends an earlier video", query_params={"id": view.extend_of_id})
    if view.remix_of_id:
        st.page_link(
            state.DETAIL_PAGE, label="Remixed from an earlier generation", query_params={"id": view.remix_of_id}
        )
