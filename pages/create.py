"""Create: pick a model and a mode, describe the video, see its price and your budget, submit it once,
and watch it render.

A thin page: reads widgets, calls the Studio, renders; the form's pieces live in
``pages/_ui/create_form.py``. Imports only streamlit, ``core`` and ``pages._ui``; never
sqlalchemy, rq, google-genai, cv2, av or workers.
"""

from __future__ import annotations

import uuid

import streamlit as st

from core import catalog
from core.errors import NotFoundError
from core.services.generations import GenerationForm
from pages._ui import create_form, state, submission, widgets

user = state.require_user()
studio = state.get_studio()
ss = st.session_state
offers = {offer.spec.id: offer for offer in studio.generations.offers(user.id)}
specs = {model: offer.spec for model, offer in offers.items()}

st.title("Create a video")
state.show_flash()
for reason in studio.generations.unavailable_reasons(user.id):
    st.warning(widgets.md(reason))
if not specs:
    st.error("No video model is available on this studio. Ask an administrator to configure a provider.")
    st.stop()

remix_of = create_form.remix(studio, user.id, specs)  # ?remix=<id>
create_form.apply_extend_request(studio, user.id, specs)  # ?extend=<id>

form_column, status_column = st.columns([3, 2], gap="large")  # the form left, its live status right

with form_column:
    picked = create_form.choice("Model", list(specs), create_form.MODEL, format_func=lambda m: specs[m].label)
    offer = offers[str(picked)]
    spec = offer.spec
    create_form.model_info(offer)
    mode = create_form.mode_picker(spec)
    images, refused = create_form.image_inputs(mode)
    continues = mode in catalog.SOURCE_MODES
    source = create_form.source_picker(studio, user.id, spec, mode) if continues else None
    prompt = create_form.prompt_area(studio, mode)
    negative = create_form.negative_prompt(spec)
    left, middle, right, far = st.columns(4)
    with left:
        duration = create_form.choice(
            "Duration", create_form.durations_for(spec, mode, source), "create_duration", format_func=lambda d: f"{d} s"
        )
    with right:  # before the aspect ratio: some resolutions come only in 16:9
        resolution = str(
            create_form.choice("Resolution", create_form.resolutions_for(spec, mode, source), "create_resolution")
        )
    with middle:
        aspect = create_form.choice(
            "Aspect ratio", create_form.aspect_ratios_for(spec, mode, resolution, source), "create_aspect"
        )
    with far:
        samples = create_form.choice("Videos", list(range(1, spec.max_samples_on(offer.surface) + 1)), "create_samples")
    rules = create_form.rules_line(spec, mode, source)
    if rules:
        st.caption(rules)
    seed: int | None = None
    if spec.supports_seed and st.checkbox("Fixed seed", key="create_fixed_seed", persist_state="session"):
        seed = int(st.number_input("Seed", 0, catalog.MAX_SEED, key="create_seed", step=1, persist_state="session"))

    form = submission.keyed(
        GenerationForm(
            model=spec.id,
            prompt=prompt,
            negative_prompt=negative or "",
            duration_seconds=int(str(duration)),
            aspect_ratio=str(aspect),
            resolution=resolution,
            seed=seed,
            sample_count=int(str(samples)),
            remix_of_id=remix_of,
            mode=mode,
            images=images,
            extend_of_id=source.id if source else None,
        )
    )
    price = submission.price(studio, offer, form)
    budget = st.container()  # filled after a submit, so it counts what was just reserved

    can_submit = not continues or source is not None  # with nothing to continue there is nothing to submit
    help_text = "Replace the refused image first." if refused else None
    if can_submit and st.button("Generate", type="primary", disabled=refused, help=help_text):
        submission.submit(studio, user.id, form)
    submission.repeat_confirmation(studio, user.id, form)
    with budget:
        submission.budget_panel(studio, user.id, price)

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
