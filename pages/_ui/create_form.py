"""The Create page's form, piece by piece: remix and extend requests, model facts, the mode,
uploads, the video to extend, the prompt and its helper, and the options a mode allows.

Each function draws one part and returns what the page needs to build a GenerationForm.
Uploads are checked with :func:`core.images.check_image` as soon as they are picked, and
only the clean re-encoded copy is ever shown, so the browser never renders unchecked
bytes. Imports streamlit and ``core`` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import streamlit as st

from core import catalog
from core.catalog import ModelSpec, Offer
from core.errors import NotFoundError, ProviderError, ValidationError
from core.images import MAX_IMAGE_BYTES, CleanImage, check_image
from core.services.generations import GenerationForm, GenerationView, UploadedImage
from core.studio import Studio
from pages._ui import boundary, state
from pages._ui.widgets import excerpt, fmt_time, fmt_usd, md

# Widget keys of the Create form (the ``create_`` prefix is cleared at logout).
MODEL = "create_model"
MODE = "create_mode"
PROMPT = "create_prompt"
EXTEND = "create_extend"

PARAM_WIDGETS = {
    "model": MODEL,
    "mode": MODE,
    "prompt": PROMPT,
    "negative_prompt": "create_negative",
    "duration_seconds": "create_duration",
    "aspect_ratio": "create_aspect",
    "resolution": "create_resolution",
    "sample_count": "create_samples",
    "seed": "create_seed",
}
"""The Create widget that holds each of a generation's parameters (``core.params.GenerationParams``)."""
FIRST_FRAME = "create_first_frame"
LAST_FRAME = "create_last_frame"
REFERENCES = "create_references"

UPLOAD_TYPES = ("png", "jpg", "jpeg", "webp")
"""File name endings the uploaders offer; the content is what is checked."""

MAX_UPLOAD_MB = MAX_IMAGE_BYTES // (1024 * 1024)
"""Largest upload the browser sends, in megabytes (the server's own limit)."""

UPLOAD_HELP = f"PNG, JPEG or WebP, up to {MAX_UPLOAD_MB} MB. The studio checks the file's content, not its name."

PREVIEW_WIDTH = 160
"""Width of an upload's preview, in pixels."""

UPLOADS: dict[str, tuple[tuple[str, str, str, bool], ...]] = {
    "text": (),
    "image": (("first_frame", FIRST_FRAME, "First frame", False),),
    "frames": (("first_frame", FIRST_FRAME, "First frame", False), ("last_frame", LAST_FRAME, "Last frame", False)),
    "reference": (("reference", REFERENCES, "Reference images", True),),
    "extend": (),
    "edit": (),
}
"""The uploaders of each mode: (role, widget key, label, several files)."""

NO_SOURCES = {
    "veo": "No Veo video of yours can be extended right now: Veo extends 720p videos of the last two days.",
    "omni": "No Gemini Omni video of yours can be continued right now: Google keeps them for two days.",
}
"""What the source picker says when no video of the user can be continued by this backend."""


@dataclass(frozen=True)
class ImprovedPrompt:
    """What "Improve prompt" did, so the page can say so and offer the original back."""

    original: str
    improved: str
    model: str


# -- small widgets ------------------------------------------------------------------


def choice(label: str, options: Sequence[object], key: str, **kwargs: object) -> object:
    """A selectbox offering only ``options``; a value left over from another model falls back to the first."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = options[0]
    return st.selectbox(label, list(options), key=key, persist_state="session", **kwargs)  # type: ignore[call-overload]


def widget_values(form: GenerationForm, *, fallback_model: str, models: dict[str, ModelSpec]) -> dict[str, object]:
    """Return the Create page's widget values that reproduce ``form`` (for a remix)."""
    values: dict[str, object] = {PARAM_WIDGETS[name]: value for name, value in form.params.columns().items()}
    values[MODEL] = form.model if form.model in models else fallback_model
    values["create_fixed_seed"] = form.seed is not None
    values[PARAM_WIDGETS["seed"]] = form.seed or 0
    if form.extend_of_id:
        values[EXTEND] = form.extend_of_id
    return values


# -- remix and extend requests (?remix=<id>, ?extend=<id>) ------------------------------


def remix(studio: Studio, user_id: int, specs: dict[str, ModelSpec]) -> str | None:
    """Copy ``?remix=<id>``'s settings into the widgets once; return the generation being remixed."""
    ss = st.session_state
    requested = st.query_params.get("remix")
    if not requested:  # the remix ends when the page is opened without it
        ss.pop(state.REMIX_ID, None)
        ss.pop(state.REMIX_LOADED, None)
    elif requested != ss.get(state.REMIX_LOADED):
        ss[state.REMIX_LOADED] = requested
        try:
            if not state.looks_like_id(requested):
                raise NotFoundError("No such generation.")
            source = studio.generations.get_generation(user_id, requested).as_form()
        except NotFoundError:
            st.error("No such generation to remix.")
        else:
            ss.update(widget_values(source, fallback_model=next(iter(specs)), models=specs))
            ss[state.REMIX_ID] = requested
            for key in (state.LAST_GENERATION, state.PROMPT_IMPROVED, state.PENDING_REPEAT):
                ss.pop(key, None)  # they belong to the previous request

    remix_of: str | None = ss.get(state.REMIX_ID)
    if not remix_of:
        return None
    try:
        original = studio.generations.get_generation(user_id, remix_of)
    except NotFoundError:
        ss.pop(state.REMIX_ID, None)
        return None
    st.info(f"Remixing “{md(excerpt(original.prompt, 60))}”")
    if st.button("Stop remixing"):
        ss.pop(state.REMIX_ID, None)
        st.query_params.pop("remix", None)
        st.rerun()
    return remix_of


def apply_extend_request(studio: Studio, user_id: int, specs: dict[str, ModelSpec]) -> None:
    """Preselect ``?extend=<id>`` or ``?edit=<id>`` once: that mode, a model of the video's kind, and the video."""
    ss = st.session_state
    mode = "edit" if st.query_params.get("edit") else "extend"
    requested = st.query_params.get(mode)
    if not requested:
        ss.pop(state.EXTEND_LOADED, None)
        return
    if requested == ss.get(state.EXTEND_LOADED):
        return
    ss[state.EXTEND_LOADED] = requested
    verb = "extended" if mode == "extend" else "edited"
    if requested not in {view.id for view in studio.generations.sources(user_id)}:
        st.error(f"This video cannot be {verb}: only your own recent Veo or Gemini Omni videos can.")
        return
    source = studio.generations.get_generation(user_id, requested)
    able = [spec.id for spec in specs.values() if mode in spec.modes and spec.provider == source.provider]
    if not able:
        st.error(f"No model offered to you here can continue this video (it was made by {md(source.model_label)}).")
        return
    ss[MODEL] = source.model if source.model in able else able[0]
    ss[MODE] = mode
    ss[EXTEND] = requested
    for key in (state.LAST_GENERATION, state.PENDING_REPEAT):
        ss.pop(key, None)


# -- model and mode ---------------------------------------------------------------------


def rates_line(spec: ModelSpec) -> str:
    """Return the per-second prices of a model, by resolution."""
    return " · ".join(f"{resolution} {fmt_usd(rate)}/s" for resolution, rate in spec.usd_per_second.items())


def model_info(offer: Offer) -> None:
    """What the chosen model is and which credential serves it; the offline renderer says it is not AI."""
    spec = offer.spec
    if spec.notes:
        st.caption(md(spec.notes))
    if spec.provider == "offline":
        st.caption("A local preview renderer for trying the studio out: free, instant, and not AI.")
        return
    audio = "Audio: yes" if spec.audio else "Audio: no (silent video)"
    st.caption(md(f"Served by {offer.credential} · {audio} · {rates_line(spec)} · price read on {spec.price_read_on}"))


def negative_prompt(spec: ModelSpec) -> str:
    """The negative prompt box; for a model that takes none (Omni) it says the text joins the prompt."""
    folded = not spec.negative_prompt
    value = st.text_input(
        "Things to avoid (optional)" if folded else "Negative prompt (optional)",
        key=PARAM_WIDGETS["negative_prompt"],
        persist_state="session",
        placeholder="What to keep out of the video",
    )
    if folded:
        st.caption(f"{md(spec.label)} takes no negative prompt: this text is added to your prompt as “Avoid: …”.")
    return value or ""


def mode_picker(spec: ModelSpec) -> str:
    """The ways this model can make a video; returns the chosen mode."""
    options = list(spec.modes)
    if st.session_state.get(MODE) not in options:
        st.session_state[MODE] = options[0]
    chosen = st.segmented_control(
        "Mode",
        options,
        key=MODE,
        required=True,
        persist_state="session",
        wrap=True,  # five long labels do not fit one row of the form column
        format_func=lambda mode: catalog.MODES[mode],
    )
    return str(chosen or options[0])


# -- uploads ----------------------------------------------------------------------------


def check_upload(data: bytes, *, name: str, role: str) -> CleanImage | str:
    """Check one upload as the server will: the clean copy to preview, or the message saying why not."""
    try:
        return check_image(data, name=name, role=role)
    except ValidationError as exc:
        return str(exc)


def image_inputs(mode: str) -> tuple[tuple[UploadedImage, ...], bool]:
    """Draw the uploaders ``mode`` takes; return the uploads and whether any of them was refused.

    Each upload is checked once (by file id) and the answer kept for the session: a refusal
    is shown right under its uploader, an accepted image as a preview of its clean copy.
    """
    ss = st.session_state
    earlier: dict[tuple[str, str], CleanImage | str] = ss.get(state.UPLOAD_CHECKS, {})
    checks: dict[tuple[str, str], CleanImage | str] = {}
    images: list[UploadedImage] = []
    refused = False
    for role, key, label, several in UPLOADS[mode]:
        picked = st.file_uploader(
            label,
            type=list(UPLOAD_TYPES),
            accept_multiple_files=several,
            key=key,
            max_upload_size=MAX_UPLOAD_MB,
        )
        if several:
            st.caption(
                f"Up to {catalog.MAX_REFERENCE_IMAGES} reference images: people, objects or styles to keep. "
                f"{UPLOAD_HELP}"
            )
        else:
            st.caption(UPLOAD_HELP)
        files = picked if isinstance(picked, list) else [picked] if picked is not None else []
        previews: list[CleanImage] = []
        for upload in files:
            data = upload.getvalue()
            found = (role, upload.file_id)
            result = earlier[found] if found in earlier else check_upload(data, name=upload.name, role=role)
            checks[found] = result
            images.append(UploadedImage(role=role, name=upload.name, data=data))
            if isinstance(result, str):
                refused = True
                st.error(md(result))
            else:
                previews.append(result)
        if previews:
            st.image(
                [image.data for image in previews],
                caption=[f"{image.width}×{image.height}" for image in previews],
                width=PREVIEW_WIDTH,
            )
    ss[state.UPLOAD_CHECKS] = checks  # forget the files no longer picked
    return tuple(images), refused


def source_picker(studio: Studio, user_id: int, spec: ModelSpec, mode: str) -> GenerationView | None:
    """Pick one of the user's videos that ``spec`` can extend or edit; None (with the reason) when there is none."""
    sources = {view.id: view for view in studio.generations.sources(user_id, spec.id)}
    if not sources:
        st.info(NO_SOURCES.get(spec.provider, "No video of yours can be continued by this model."))
        return None
    picked = choice(
        "Video to extend" if mode == "extend" else "Video to edit",
        list(sources),
        EXTEND,
        format_func=lambda gid: f"{excerpt(sources[gid].prompt, 60)} · {fmt_time(sources[gid].created_at)}",
    )
    return sources[str(picked)]


# -- prompt -----------------------------------------------------------------------------


def _improve(studio: Studio) -> None:
    """On "Improve prompt": put the text model's rewrite into the prompt box, keeping the original."""
    ss = st.session_state
    original = str(ss.get(PROMPT) or "")
    try:
        improved = studio.generations.improve_prompt(original)
    except ValidationError as exc:
        ss[state.PROMPT_HELP_ERROR] = md(str(exc))
    except ProviderError as exc:
        ss[state.PROMPT_HELP_ERROR] = md(f"Prompt help failed: {exc}")
    else:
        ss[PROMPT] = improved
        ss[state.PROMPT_IMPROVED] = ImprovedPrompt(original, improved, studio.settings.prompt_model)


def _restore() -> None:
    improved: ImprovedPrompt | None = st.session_state.pop(state.PROMPT_IMPROVED, None)
    if improved is not None:
        st.session_state[PROMPT] = improved.original


def prompt_area(studio: Studio, mode: str) -> str:
    """The prompt box, its length, and "Improve prompt" (disabled, with the reason, when unavailable)."""
    ss = st.session_state
    prompt = st.text_area(
        "Prompt",
        key=PROMPT,
        height=140,
        persist_state="session",
        placeholder="A red fox running through fresh snow at sunrise, slow motion",
    )
    text = prompt or ""
    unavailable = studio.generations.prompt_help_unavailable()
    with st.container(horizontal=True, horizontal_alignment="distribute", vertical_alignment="center"):
        count = f"{len(text)} / {catalog.MAX_PROMPT_CHARS} characters"
        st.caption(count if len(text) <= catalog.MAX_PROMPT_CHARS else f":red[{count} — too long]")
        st.button(
            "Improve prompt",
            key="create_improve",
            icon=":material/auto_awesome:",
            disabled=unavailable is not None,
            help=unavailable or f"Rewrite the prompt with {studio.settings.prompt_model}; you can undo it.",
            on_click=boundary.guarded(_improve),
            args=(studio,),
        )
    if unavailable:
        st.caption(md(unavailable))
    if mode in ("image", "frames"):
        st.caption("The prompt is optional with a first frame: say what should happen next.")
    error = ss.pop(state.PROMPT_HELP_ERROR, None)
    if error:
        st.error(error)
    improved: ImprovedPrompt | None = ss.get(state.PROMPT_IMPROVED)
    if improved is not None and text != improved.original:
        if text == improved.improved:
            st.info(f"Prompt improved by {md(improved.model)}; edit it or submit.")
        with st.expander("Your original prompt"):
            st.text(improved.original)
            st.button("Restore my original prompt", key="create_restore", on_click=boundary.guarded(_restore))
    return text


# -- options a mode allows ----------------------------------------------------------------


def source_length(source: GenerationView | None) -> int:
    """The length of a video to continue, in whole seconds (what an edit keeps)."""
    if source is None:
        return 0
    return round(max((v.duration_seconds or 0) for v in source.videos) if source.videos else source.duration_seconds)


def durations_for(spec: ModelSpec, mode: str, source: GenerationView | None = None) -> tuple[int, ...]:
    """Durations offered: Veo's reference images and extensions come at 8 s; an Omni edit keeps the video's
    length, an Omni extension adds at most what keeps the video within the model's longest."""
    if spec.provider == "veo" and mode in ("reference", "extend"):
        return (8,)
    if mode == "edit" and source is not None:
        return (source_length(source),)
    if mode == "extend" and source is not None:
        room = spec.max_total_seconds - source_length(source)
        return tuple(d for d in spec.durations if d <= room) or (min(spec.durations),)
    return spec.durations


def resolutions_for(spec: ModelSpec, mode: str, source: GenerationView | None = None) -> tuple[str, ...]:
    """Resolutions offered: a Veo extension is made at 720p; Omni continues a video at its resolution."""
    if spec.provider == "veo" and mode == "extend":
        return ("720p",)
    if mode in catalog.SOURCE_MODES and source is not None and source.resolution in spec.resolutions:
        return (source.resolution,)
    return spec.resolutions


def aspect_ratios_for(
    spec: ModelSpec, mode: str, resolution: str, source: GenerationView | None = None
) -> tuple[str, ...]:
    """Aspect ratios offered: Veo's reference images and 16:9-only resolutions; a continued video keeps its own."""
    if (spec.provider == "veo" and mode == "reference") or resolution in spec.only_16_9_for:
        return ("16:9",)
    if mode in catalog.SOURCE_MODES and source is not None and source.aspect_ratio in spec.aspect_ratios:
        return (source.aspect_ratio,)
    return spec.aspect_ratios


def rules_line(spec: ModelSpec, mode: str, source: GenerationView | None = None) -> str:
    """The model's and the mode's rules on duration, resolution and shape, in a sentence or two."""
    veo = spec.provider == "veo"
    if mode == "reference" and veo:
        return "Reference images need 8 s and 16:9."
    if mode == "extend" and veo:
        added = spec.extend_seconds
        return (
            f"An extension is made at 720p and 8 s in the video's aspect ratio; it adds "
            f"{added} s to the video, and you pay for {added} s."
        )
    if mode == "extend":
        return (
            f"An extension adds the chosen seconds to the end of the video (up to {spec.max_total_seconds} s in "
            "all) and you pay for the seconds added; Google returns the whole, longer video."
        )
    if mode == "edit":
        length = source_length(source)
        return (
            f"An edit applies your instruction to the whole video and keeps its length ({length} s), its "
            "resolution and its shape; you pay for that length."
        )
    rules = []
    if spec.needs_8s_for:
        rules.append(f"{', '.join(spec.needs_8s_for)} needs 8 s with this model.")
    if spec.only_16_9_for:
        rules.append(f"{', '.join(spec.only_16_9_for)} comes only in 16:9 with this model.")
    return " ".join(rules)
