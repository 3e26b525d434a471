"""The cached Studio, the session-state keys every page shares, and the login guard.

Imports streamlit and ``core`` only.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

import streamlit as st
from streamlit.errors import StreamlitAPIException

from core import metrics
from core.config import get_settings
from core.logs import configure_logging
from core.studio import Studio, build_studio

CURRENT_USER = "veogen_current_user"
"""Session key of the logged-in :class:`CurrentUser` (set by ``streamlit_app.py`` on every run)."""

FORM_KEY = "veogen_form_key"
"""Session key of the Create form's idempotency key (uuid4 hex)."""

SUBMITTED_FORM = "veogen_submitted_form"
"""Session key of the last submitted form (a GenerationForm), to tell a repeat click from a new request."""

LAST_GENERATION = "veogen_last_generation"
"""Session key of the generation the Create page follows live."""

REMIX_ID = "veogen_remix_id"
"""Session key of the generation the Create page is remixing (taken from its ``?remix=<id>`` query parameter)."""

REMIX_LOADED = "veogen_remix_loaded"
"""Session key of the remix id whose settings were last copied into the Create widgets."""

CONFIRM_DELETE = "veogen_confirm_delete"
"""Session key of the generation id awaiting a second "Confirm delete" click."""

GALLERY_PAGE = "veogen_gallery_page"
"""Session key of the gallery's current page number (1-based)."""

GALLERY_FILTERS = "veogen_gallery_filters"
"""Session key of the filters the gallery page number belongs to (a change goes back to page 1)."""

EXTEND_LOADED = "veogen_extend_loaded"
"""Session key of the ``?extend=<id>`` request whose video was last preselected on the Create page."""

UPLOAD_CHECKS = "veogen_upload_checks"
"""Session key of the checked uploads: ``{(role, file id): CleanImage or the refusal message}``."""

PROMPT_IMPROVED = "veogen_prompt_improved"
"""Session key of the last "Improve prompt" result: a ``create_form.ImprovedPrompt``."""

PROMPT_HELP_ERROR = "veogen_prompt_help_error"
"""Session key of the message of a failed "Improve prompt" (Markdown, escaped)."""

PENDING_REPEAT = "veogen_pending_repeat"
"""Session key of a refused repeat awaiting "Pay for another one": a ``submission.PendingRepeat``."""

FLASH = "veogen_flash"
"""Session key of a one-off message to show after a page switch or rerun."""

ENTRY = "streamlit_app.py"
CREATE_PAGE = "pages/create.py"
GALLERY_PAGE_FILE = "pages/gallery.py"
DETAIL_PAGE = "pages/generation.py"
MOVIES_PAGE = "pages/movies.py"


_GENERATION_ID = re.compile(r"[0-9a-f]{32}")


def looks_like_id(value: str) -> bool:
    """Whether a query parameter can be a generation id (32 hex digits); anything else is answered "No such …"
    without asking the database (a NUL byte is an error in PostgreSQL)."""
    return bool(_GENERATION_ID.fullmatch(value))


@dataclass(frozen=True)
class CurrentUser:
    """Who is logged in, as far as the pages need to know."""

    id: int
    username: str
    role: str
    name: str


@st.cache_resource(show_spinner=False)
def get_studio() -> Studio:
    """Return the process-wide Studio built from the environment's settings.

    The first call also sets up this process's logging and serves its metrics
    (``VEOGEN_WEB_METRICS_PORT``; a taken port only turns them off).
    """
    settings = get_settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format, process="web")
    metrics.serve(settings.metrics_host, [settings.web_metrics_port])
    return build_studio(settings)


def require_user() -> CurrentUser:
    """Return the logged-in user, or send the visitor to the login gate (or stop the page)."""
    user = st.session_state.get(CURRENT_USER)
    if isinstance(user, CurrentUser) and st.session_state.get("authentication_status"):
        return user
    # Through st.navigation a page only runs after the entry's login gate, so getting here means
    # Streamlit ran this file on its own: a freshly started server treats a ``pages/`` folder as
    # the old pages-folder app until the entry first runs. Hand over to the entry when it can.
    with contextlib.suppress(StreamlitAPIException):  # not a registered page, e.g. a test running this file
        st.switch_page(ENTRY)
    st.error("Please log in to use VeoGen.")
    st.stop()


def flash(message: str, kind: str = "success") -> None:
    """Keep a message (Markdown: escape any text from outside) to show once on the next run."""
    st.session_state[FLASH] = (kind, message)


def show_flash() -> None:
    """Show and forget the pending one-off message, if any."""
    pending = st.session_state.pop(FLASH, None)
    if pending:
        kind, message = pending
        {"success": st.success, "info": st.info, "warning": st.warning, "error": st.error}[kind](message)
