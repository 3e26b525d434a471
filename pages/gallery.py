"""Gallery: the user's generations, newest first, with filters, pages and per-card actions.

A thin page: reads widgets, calls the Studio, renders. Imports only streamlit, ``core`` and
``pages._ui``; never sqlalchemy, rq, google-genai, cv2, av or workers.
"""

from __future__ import annotations

import streamlit as st

from core import catalog
from core.errors import ValidationError
from core.services.generations import MAX_SEARCH_CHARS, GenerationPage
from core.status import Status
from pages._ui import boundary, state, widgets

# Cards per row.
COLUMNS = 3

user = state.require_user()
studio = state.get_studio()
ss = st.session_state

st.title("Gallery")
state.show_flash()

with st.container(horizontal=True, vertical_alignment="bottom"):
    statuses = st.multiselect(
        "Status",
        [s.value for s in Status],
        key="gallery_status",
        persist_state="session",
        format_func=lambda value: Status(value).label,
        placeholder="Any status",
    )
    models = st.multiselect(
        "Model",
        list(catalog.MODELS),
        key="gallery_models",
        persist_state="session",
        format_func=lambda model_id: catalog.MODELS[model_id].label,
        placeholder="Any model",
    )
    search = st.text_input(
        "Search prompts",
        key="gallery_search",
        persist_state="session",
        placeholder="Words in the prompt",
        help=f"Up to {MAX_SEARCH_CHARS} characters.",
    )

filters = (tuple(statuses), tuple(models), search.strip())
if ss.get(state.GALLERY_FILTERS) != filters:  # new filters start again at page 1
    ss[state.GALLERY_FILTERS] = filters
    ss[state.GALLERY_PAGE] = 1


def load() -> GenerationPage:
    result = studio.generations.list_generations(
        user.id, page=ss.get(state.GALLERY_PAGE, 1), statuses=statuses, models=models, search=search
    )
    ss[state.GALLERY_PAGE] = result.page  # the service clamps a page past the end
    return result


try:
    result = load()
except ValidationError as exc:  # the search is over the limit or has control characters
    st.error(widgets.md(str(exc)))
    st.stop()
if result.total == 0:
    if any(filters):
        st.info("No generations match these filters.")
    else:
        st.info("No generations yet — create one.")
        st.page_link(state.CREATE_PAGE, label="Create a video", icon=":material/movie:")
    st.stop()

in_progress = any(not view.is_final for view in result.items)


@boundary.fragment(run_every=widgets.REFRESH_SECONDS if in_progress else None)
def grid() -> None:
    """The cards; while any is in progress they refresh, and the page reruns once all are final."""
    current = load() if in_progress else result
    for start in range(0, len(current.items), COLUMNS):
        for column, view in zip(st.columns(COLUMNS), current.items[start : start + COLUMNS], strict=False):
            with column:
                widgets.generation_card(studio, user.id, view)
    if in_progress and all(view.is_final for view in current.items):
        st.rerun()


grid()

noun = "generation" if result.total == 1 else "generations"
with st.container(horizontal=True, vertical_alignment="center"):
    if st.button("Previous", icon=":material/chevron_left:", disabled=result.page <= 1):
        ss[state.GALLERY_PAGE] = result.page - 1
        st.rerun()
    st.markdown(f"Page {result.page} of {result.pages} · {result.total} {noun}")
    if st.button("Next", icon=":material/chevron_right:", icon_position="right", disabled=result.page >= result.pages):
        ss[state.GALLERY_PAGE] = result.page + 1
        st.rerun()
