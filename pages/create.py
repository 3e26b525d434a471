"""Create: describe a video, see its price, submit it once, and watch it render.

A thin page: reads widgets, calls the Studio, renders. Imports only streamlit, ``core`` and
``pages._ui``; never sqlalchemy, rq, google-genai, cv2, av or workers.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

import streamlit as st

from core import catalog
from core.errors import BudgetError, NotFoundError, ValidationError
from core.services.generations import GenerationForm
from pages._ui import state, widgets

user = state.require_user()
studio = state.get_studio()
ss = st.session_state
specs = {spec.id: spec for spec in studio.models()}

st.title("Create a video")
state.show_flash()
if not specs:
    st.error("No video model is available on this studio. Ask an administrator to configure a provider.")
    st.stop()

# -- remix (?remix=<id>): copy that generation's settings into the widgets, once ----------
remix_request = st.query_params.get("remix")
if not remix_request:  # the remix ends when the page is opened without it
    ss.pop(state.REMIX_ID, None)
    ss.pop(state.REMIX_LOADED, None)
elif remix_request != ss.get(state.REMIX_LOADED):
    ss[state.REMIX_LOADED] = remix_request
    try:
        source = studio.get_generation(user.id, remix_request).as_form()
    except NotFoundError:
        st.error("No such generation to remix.")
    else:
        ss.update(widgets.create_widget_values(source, fallback_model=next(iter(specs)), models=specs))
        ss[state.REMIX_ID] = remix_request
        ss.pop(state.LAST_GENERATION, None)  # the status panel belongs to the previous request

remix_of: str | None = ss.get(state.REMIX_ID)
if remix_of:
    try:
        original = studio.get_generation(user.id, remix_of)
        st.info(f"Remixing “{widgets.md(widgets.excerpt(original.prompt, 60))}”")
        if st.button("Stop remixing"):
            ss.pop(state.REMIX_ID, None)
            st.query_params.pop("remix", None)
            st.rerun()
    except NotFoundError:
        ss.pop(state.REMIX_ID, None)
        remix_of = None


form_column, status_column = st.columns([3, 2], gap="large")  # the form left, its live status right

with form_column:
    spec = specs[widgets.choice("Model", list(specs), "create_model", format_func=lambda m: specs[m].label)]
    widgets.model_caption(spec)
    prompt = st.text_area(
        "Prompt",
        key="create_prompt",
        height=140,
        persist_state="session",
        placeholder="A red fox running through fresh snow at sunrise, slow motion",
    )
    count = f"{len(prompt or '')} / {catalog.MAX_PROMPT_CHARS} characters"
    st.caption(count if len(prompt or "") <= catalog.MAX_PROMPT_CHARS else f":red[{count} — too long]")
    negative = st.text_input(
        "Negative prompt (optional)",
        key="create_negative",
        persist_state="session",
        placeholder="What to keep out of the video",
    )
    left, middle, right, far = st.columns(4)
    with left:
        duration = widgets.choice("Duration", list(spec.durations), "create_duration", format_func=lambda d: f"{d} s")
    with middle:
        aspect = widgets.choice("Aspect ratio", list(spec.aspect_ratios), "create_aspect")
    with right:
        resolution = widgets.choice("Resolution", list(spec.resolutions), "create_resolution")
    with far:
        samples = widgets.choice("Videos", list(range(1, spec.max_samples + 1)), "create_samples")
    if spec.needs_8s_for:
        st.caption(f"{', '.join(spec.needs_8s_for)} needs 8 s with this model.")
    seed: int | None = None
    if spec.supports_seed and st.checkbox("Fixed seed", key="create_fixed_seed", persist_state="session"):
        seed = int(st.number_input("Seed", 0, catalog.MAX_SEED, key="create_seed", step=1, persist_state="session"))

    form = GenerationForm(
        model=spec.id,
        prompt=prompt or "",
        negative_prompt=negative or "",
        duration_seconds=int(duration),
        aspect_ratio=str(aspect),
        resolution=str(resolution),
        seed=seed,
        sample_count=int(samples),
        remix_of_id=remix_of,
    )

    # One idempotency key per request: clicking again with the same settings returns the same generation;
    # any change after a successful submit makes a new request with a new key.
    submitted: GenerationForm | None = ss.get(state.SUBMITTED_FORM)
    if state.FORM_KEY not in ss or (submitted is not None and replace(submitted, idempotency_key="") != form):
        ss[state.FORM_KEY] = uuid.uuid4().hex
        ss.pop(state.SUBMITTED_FORM, None)
    form = replace(form, idempotency_key=ss[state.FORM_KEY])

    try:
        st.markdown(f"**{widgets.price_line(studio.quote(form))}**")
    except ValidationError as exc:
        widgets.show_error(exc)

    if st.button("Generate", type="primary"):
        try:
            view, created = studio.submit(user.id, form)
        except ValidationError as exc:
            widgets.show_error(exc)
        except BudgetError as exc:
            st.error(widgets.md(str(exc)))
        else:
            ss[state.SUBMITTED_FORM] = form
            ss[state.LAST_GENERATION] = view.id
            if created:
                st.success("Submitted. It renders in the background; you can leave this page.")
            else:
                st.info("You already submitted this exact request, so here it is again; nothing new was created.")

    if ss.get(state.SUBMITTED_FORM) is not None and st.button("Make another with these settings"):
        ss[state.FORM_KEY] = uuid.uuid4().hex
        ss.pop(state.SUBMITTED_FORM, None)
        ss.pop(state.LAST_GENERATION, None)
        st.rerun()


last = ss.get(state.LAST_GENERATION)
with status_column:
    if not last:
        st.caption("Your video appears here while it renders.")
    else:
        try:
            widgets.live_panel(studio, user.id, last, lambda view: widgets.creation_status(studio, user.id, view))
        except NotFoundError:
            ss.pop(state.LAST_GENERATION, None)
