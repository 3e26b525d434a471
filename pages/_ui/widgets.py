"""Rendering helpers the pages share: badges, prices, times, cards, the timeline, actions.

Imports streamlit and ``core`` (studio, services dataclasses, catalog, status,
errors) only. Every user-supplied text is shown through widgets that do not
interpret Markdown, or escaped first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import streamlit as st

from core.catalog import MODES
from core.errors import NotFoundError, PermissionDeniedError, StorageError, ValidationError, VeoGenError
from core.generations import download_name
from core.services.generations import EventView, GenerationView, VideoView
from core.status import Status
from core.studio import Studio
from pages._ui import boundary, state

STAGE_PROGRESS: dict[Status, float] = {
    Status.QUEUED: 0.05,
    Status.SUBMITTING: 0.15,
    Status.RUNNING: 0.40,
    Status.FETCHING: 0.70,
    Status.PROCESSING: 0.85,
    Status.SUCCEEDED: 1.0,
    Status.FILTERED: 1.0,
    Status.FAILED: 1.0,
    Status.CANCELED: 1.0,
}
"""How far along the progress bar each stage is (0..1)."""

STATUS_COLOURS: dict[Status, str] = {
    Status.QUEUED: "gray",
    Status.SUBMITTING: "blue",
    Status.RUNNING: "blue",
    Status.FETCHING: "blue",
    Status.PROCESSING: "violet",
    Status.SUCCEEDED: "green",
    Status.FILTERED: "orange",
    Status.FAILED: "red",
    Status.CANCELED: "gray",
}

REFRESH_SECONDS = 2
"""How often a live status panel re-reads a generation that is not final, in seconds."""


# -- plain formatting ---------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")

WORD_JOINER = "\u2060"
"""An invisible character that joins without a break; put inside what GitHub-flavoured Markdown would link."""

_AUTOLINK_TRIGGERS = re.compile(r"(?i)(?<=www)(?=\.)|(?<=:)(?=//)|(?<=@)")
"""Where Streamlit's Markdown starts a link by itself, escaped or not: ``www.``, ``scheme://``, ``name@host``."""


def md(text: str) -> str:
    """Make text inert in Streamlit's Markdown (alerts, captions, labels and st.table cells all render it).

    Prompts, usernames and provider messages are user or third-party text. Backslash-escaping
    every punctuation character stops links, remote images (tracking pixels), LaTeX and colour
    directives written in Markdown, but not GitHub's autolinks: the renderer turns bare URLs,
    ``www.`` addresses and email addresses into links after the escapes are read. A word joiner
    inside each of those keeps them plain text that reads the same. Prefer ``st.text``, ``st.code``
    or a dataframe for longer user text; they render no Markdown at all.
    """
    flat = " ".join(str(text).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _AUTOLINK_TRIGGERS.sub(WORD_JOINER, flat))


def fmt_usd(amount: Decimal | None) -> str:
    return "—" if amount is None else f"${amount:,.2f}"


def price_line(price: Decimal) -> str:
    """Return the price sentence shown before submitting."""
    if price == 0:
        return "Price: $0.00 — free, rendered locally"
    return f"Price: {fmt_usd(price)} — reserved from your budget now, settled when the video is ready"


def fmt_time(moment: datetime | None, *, clock_only: bool = False) -> str:
    """Format a time in the browser's time zone (UTC when unknown)."""
    if moment is None:
        return "—"
    try:
        zone = ZoneInfo(st.context.timezone) if st.context.timezone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    local = moment.astimezone(zone)
    return local.strftime("%H:%M:%S" if clock_only else "%Y-%m-%d %H:%M:%S ") + (
        "" if clock_only else local.tzname() or "UTC"
    )


def fmt_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def excerpt(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def facts_line(video: VideoView) -> str:
    audio = "with audio" if video.has_audio else "no audio"
    return (
        f"{video.width}×{video.height} · {video.fps:g} fps · {video.codec} · {video.duration_seconds:.2f} s · "
        f"{fmt_bytes(video.size_bytes)} · {audio}"
    )


def form_line(view: GenerationView) -> str:
    videos = "1 video" if view.sample_count == 1 else f"{view.sample_count} videos"
    return f"{view.duration_seconds} s · {view.resolution} · {view.aspect_ratio} · {videos}"


# -- small elements -------------------------------------------------------------


def status_badge(status: Status) -> None:
    st.badge(status.label, color=STATUS_COLOURS[status])  # type: ignore[arg-type]


def outcome(view: GenerationView) -> None:
    """Say in plain words why a generation ended without a video (or that it is on its way)."""
    if view.status is Status.FAILED:
        st.error(md(view.error_message) if view.error_message else "The generation failed. You have not been charged.")
    elif view.status is Status.FILTERED:
        reasons = view.safety_reasons or ["The provider's safety filter blocked this request."]
        st.warning("Google's safety filter blocked this request. You have not been charged.")
        for category in view.safety_categories:
            st.markdown(f"**{md(category.name)}**: {md(category.advice)}")
        refusal = view.retry_refusal()
        if refusal:
            st.caption(md(refusal))
        for reason in reasons:
            st.text(f"• {reason}")
    elif view.status is Status.CANCELED:
        st.info("This generation was canceled before it reached the provider. You have not been charged.")


def progress(view: GenerationView) -> None:
    """A progress bar by stage (the stage's name is on the badge beside it)."""
    st.progress(STAGE_PROGRESS[view.status])


FIELD_LABELS = {
    "model": "Model",
    "prompt": "Prompt",
    "negative_prompt": "Negative prompt",
    "duration_seconds": "Duration",
    "aspect_ratio": "Aspect ratio",
    "resolution": "Resolution",
    "sample_count": "Videos",
    "seed": "Seed",
    "mode": "Mode",
    "first_frame": "First frame",
    "last_frame": "Last frame",
    "reference_images": "Reference images",
    "images": "Images",
    "extend_of_id": "Video to extend",
}
"""Create-page labels of the fields a ValidationError can name."""


ADMIN_ONLY = "This page is for administrators."
"""What a non-admin is told, whatever the admin-only thing was."""


def error_message(exc: VeoGenError) -> str:
    """The one mapping from a refusal to what a page shows (Markdown-safe).

    A role refusal says the one admin-only sentence; a validation error names the
    field it is about when its message does not already; anything else is its own
    plain message. Unexpected errors never come here: the error boundary
    (``pages/_ui/boundary.py``) shows those as an incident id.
    """
    if isinstance(exc, PermissionDeniedError):
        return ADMIN_ONLY
    message = str(exc)
    if isinstance(exc, ValidationError):
        label = FIELD_LABELS.get(exc.field or "")
        if label and not message.startswith(label):
            message = f"{label}: {message}"
    return md(message)


def show_error(exc: VeoGenError) -> None:
    """Show a refusal as an error box, in the words of :func:`error_message`."""
    st.error(error_message(exc))


def thumbnail(studio: Studio, user_id: int, view: GenerationView) -> None:
    if view.status is Status.SUCCEEDED and view.videos:
        try:
            st.image(
                studio.generations.media_bytes(user_id, view.id, view.videos[0].index, "thumbnail"), width="stretch"
            )
            return
        except (StorageError, NotFoundError):
            st.caption("Thumbnail missing from storage.")
            return
    st.caption("No video yet." if not view.is_final else "No video.")


def parameters_table(view: GenerationView) -> None:
    rows = [
        ("Model", view.model_label),
        ("Mode", MODES.get(view.mode, view.mode)),
        ("Prompt", view.prompt),
        ("Negative prompt", view.negative_prompt or "—"),
        ("Duration", f"{view.duration_seconds} s"),
        ("Aspect ratio", view.aspect_ratio),
        ("Resolution", view.resolution),
        ("Seed", "random" if view.seed is None else str(view.seed)),
        ("Videos", str(view.sample_count)),
        ("Price", fmt_usd(view.price_usd)),
        ("Cost", fmt_usd(view.cost_usd) if view.cost_usd is not None else "not settled yet"),
        ("Created", fmt_time(view.created_at)),
        ("Finished", fmt_time(view.finished_at)),
    ]
    st.table({"Setting": [r[0] for r in rows], "Value": [md(r[1]) for r in rows]}, hide_index=True)


ROLE_LABELS = {"first_frame": "First frame", "last_frame": "Last frame", "reference": "Reference image"}
"""How each uploaded image's role is named on the pages."""

INPUT_WIDTH = 200
"""Width of an uploaded image's thumbnail on the detail page, in pixels."""


def input_images(studio: Studio, user_id: int, view: GenerationView) -> None:
    """The images the user uploaded for this generation (their clean stored copies), with their roles."""
    shown: list[bytes] = []
    captions: list[str] = []
    for index, role in enumerate(view.input_roles):
        try:
            shown.append(studio.generations.input_bytes(user_id, view.id, index))
        except (StorageError, NotFoundError):
            st.caption(f"{ROLE_LABELS.get(role, role)}: missing from storage.")
            continue
        captions.append(ROLE_LABELS.get(role, role))
    if shown:
        st.image(shown, caption=captions, width=INPUT_WIDTH)


def timeline(events: list[EventView]) -> None:
    if not events:
        st.caption("No events yet.")
        return
    st.table(
        {
            "Time": [md(fmt_time(e.at, clock_only=True)) for e in events],  # the date is in Parameters
            "Change": [f"{e.from_status or 'new'} → {e.to_status}" if e.to_status else e.kind for e in events],
            "Detail": [md(e.detail) for e in events],
        },
        hide_index=True,
    )


# -- actions ---------------------------------------------------------------------


def open_detail(generation_id: str) -> None:
    st.switch_page(state.DETAIL_PAGE, query_params={"id": generation_id})


def start_remix(generation_id: str) -> None:
    """Go to the Create page with this generation's settings copied in."""
    st.session_state.pop(state.REMIX_LOADED, None)
    st.switch_page(state.CREATE_PAGE, query_params={"remix": generation_id})


def actions(
    studio: Studio,
    user_id: int,
    view: GenerationView,
    *,
    key: str,
    show_open: bool,
    after_delete: Callable[[], None] | None = None,
) -> None:
    """Open / Remix / Retry (failed, filtered, canceled) / Cancel (queued) / Delete with a confirming second click."""
    confirming = st.session_state.get(state.CONFIRM_DELETE) == view.id
    icons = not show_open  # a gallery card is too narrow for icons as well as labels
    with st.container(horizontal=True, gap="small"):
        if show_open and view.videos and st.button("Play", key=f"{key}-play", type="primary"):
            play_dialog(studio, user_id, view)
        if show_open and st.button("Open", key=f"{key}-open", icon=":material/open_in_new:" if icons else None):
            open_detail(view.id)
        if st.button("Remix", key=f"{key}-remix", icon=":material/tune:" if icons else None):
            start_remix(view.id)
        if view.status is Status.QUEUED and st.button(
            "Cancel", key=f"{key}-cancel", icon=":material/block:" if icons else None
        ):
            try:
                studio.generations.cancel(user_id, view.id)
                state.flash("Generation canceled; nothing was charged.")
            except (ValidationError, NotFoundError) as exc:
                state.flash(error_message(exc), "error")
            st.rerun()
        if view.retry_refusal() is None and st.button(
            "Retry", key=f"{key}-retry", icon=":material/replay:" if icons else None
        ):
            retry(studio, user_id, view.id)
        if (
            view.is_final
            and not confirming
            and st.button("Delete", key=f"{key}-delete", icon=":material/delete:" if icons else None)
        ):
            st.session_state[state.CONFIRM_DELETE] = view.id
            st.rerun()
    if confirming:
        st.warning("Delete this generation and its videos for good?")
        with st.container(horizontal=True, gap="small"):
            if st.button("Confirm delete", key=f"{key}-confirm", type="primary"):
                st.session_state.pop(state.CONFIRM_DELETE, None)
                try:
                    studio.generations.delete(user_id, view.id)
                except (ValidationError, NotFoundError, StorageError) as exc:
                    state.flash(error_message(exc), "error")
                else:
                    state.flash("Generation deleted.")
                    if after_delete:
                        after_delete()
                st.rerun()
            if st.button("Keep it", key=f"{key}-keep"):
                st.session_state.pop(state.CONFIRM_DELETE, None)
                st.rerun()


def retry(studio: Studio, user_id: int, generation_id: str) -> None:
    """Submit the request again as a new generation (its price reserved) and open it; say why when refused."""
    try:
        new, created = studio.generations.retry(user_id, generation_id)
    except VeoGenError as exc:
        state.flash(error_message(exc), "error")
        st.rerun()
    state.flash(
        f"Retrying as a new generation ({fmt_usd(new.price_usd)} reserved)."
        if created
        else "This generation was already retried; here is the retry."
    )
    open_detail(new.id)


def video_player(studio: Studio, user_id: int, view: GenerationView, video: VideoView) -> None:
    """One video: the player, a download button, and its facts."""
    try:
        data = studio.generations.media_bytes(user_id, view.id, video.index)
    except (StorageError, NotFoundError):
        st.error("This video is missing from storage.")
        return
    st.video(data)
    st.download_button(
        "Download MP4",
        data,
        file_name=download_name(view.id, video.index),
        mime="video/mp4",
        key=f"download-{view.id}-{video.index}",
        icon=":material/download:",
        on_click="ignore",
    )
    st.caption(facts_line(video))
    st.caption(f"SHA-256 {video.sha256}")


@boundary.dialog("Play", width="large")
def play_dialog(studio: Studio, user_id: int, view: GenerationView) -> None:
    """The gallery's player: every video of a generation, without leaving the gallery."""
    st.text(excerpt(view.prompt, 160))
    for video in view.videos:
        video_player(studio, user_id, view, video)


def generation_card(studio: Studio, user_id: int, view: GenerationView) -> None:
    with st.container(border=True):
        thumbnail(studio, user_id, view)
        status_badge(view.status)
        st.text(excerpt(view.prompt))
        st.caption(f"{fmt_time(view.created_at)} · {form_line(view)}")
        actions(studio, user_id, view, key=f"card-{view.id}", show_open=True)


def live_panel(studio: Studio, user_id: int, generation_id: str, body: Callable[[GenerationView], None]) -> None:
    """Render ``body(view)`` in a fragment that re-reads the generation every 2 s until it is final.

    The timer is set only while the generation is in progress; when it turns final the
    fragment reruns the whole page once, which then draws the panel without a timer.
    """
    first = studio.generations.get_generation(user_id, generation_id)
    polling = not first.is_final

    @boundary.fragment(run_every=REFRESH_SECONDS if polling else None)
    def panel() -> None:
        try:
            view = studio.generations.get_generation(user_id, generation_id)
        except NotFoundError:
            st.error("No such generation.")
            return
        body(view)
        if polling and view.is_final:
            st.rerun()

    panel()


def creation_status(studio: Studio, user_id: int, view: GenerationView) -> None:
    """The Create page's live panel: stage, progress, and the video or the reason there is none."""
    st.subheader("Status", anchor=False)
    st.text(excerpt(view.prompt, 100))
    status_badge(view.status)
    if not view.is_final:
        progress(view)
    if view.status is Status.SUCCEEDED:
        try:
            st.video(studio.generations.media_bytes(user_id, view.id, view.videos[0].index))
        except (StorageError, NotFoundError, IndexError):
            st.error("The video is missing from storage.")
    outcome(view)
    if view.is_final:
        st.page_link(
            state.DETAIL_PAGE, label="Open details", icon=":material/open_in_new:", query_params={"id": view.id}
        )
        st.page_link(state.GALLERY_PAGE_FILE, label="Go to the gallery", icon=":material/video_library:")


def show_secret_once(key: str, message: Callable[[str], str], caption: str) -> None:
    """Show, once, a secret a form just made: the session holds ``(label, secret)`` under ``key`` until now."""
    pending = st.session_state.pop(key, None)
    if pending:
        label, secret = pending
        with st.container(border=True):
            st.success(md(message(label)))
            st.code(secret, language=None)
            st.caption(caption)
