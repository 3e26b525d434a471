"""The error boundary: an unexpected error shows a plain message and an incident id, never a traceback.

``run_page`` wraps the page the navigation runs; ``fragment`` and ``dialog`` wrap
Streamlit's, whose errors are handled inside them, beyond the page's boundary. The
exception is logged with the incident id (``incident_id`` in a JSON line). In
production nothing more reaches the browser, and Streamlit's own error details are
off (:func:`hide_error_details`) for what runs outside the boundary (widget
callbacks); in development the details follow the message. Imports streamlit and
``core`` only.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable
from typing import Any, ParamSpec

import streamlit as st
from streamlit.errors import FragmentHandledException

from core.config import get_settings

P = ParamSpec("P")

log = logging.getLogger("veogen.web")

ERROR_DETAILS_OPTION = "client.showErrorDetails"
"""Streamlit's setting of what an uncaught exception shows in the browser; ``none`` in production."""


def in_production() -> bool:
    """Whether details must be hidden; settings that cannot be read count as production."""
    try:
        return get_settings().env == "production"
    except Exception:
        return True


def hide_error_details() -> None:
    """In production, have Streamlit show a generic message for errors outside the boundary too."""
    if in_production():
        st.set_option(ERROR_DETAILS_OPTION, "none")


def new_incident_id() -> str:
    return secrets.token_hex(6)


def report(exc: Exception, where: str) -> str:
    """Log ``exc`` under a new incident id and show the user a plain message with it; return the id."""
    incident = new_incident_id()
    log.error(
        "incident %s: %s raised %s", incident, where, type(exc).__name__, exc_info=exc, extra={"incident_id": incident}
    )
    st.error(
        "Something went wrong on our side, and this part of the page could not be shown. "
        f"Try again; if it keeps happening, give an administrator the incident {incident}."
    )
    if not in_production():
        st.exception(exc)
    return incident


def guarded(body: Callable[P, Any], where: str = "") -> Callable[P, None]:
    """``body`` with its unexpected errors reported; ``st.stop``, ``st.rerun`` and page switches pass through.

    ``where`` names it in the log (the function's name when empty).
    """

    @functools.wraps(body)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            body(*args, **kwargs)
        except FragmentHandledException:  # a nested Streamlit fragment already showed it
            raise
        except Exception as exc:
            report(exc, where or getattr(body, "__qualname__", "a page"))

    return run


def run_page(page: Any) -> None:
    """Run the page ``st.navigation`` returned, inside the boundary."""
    guarded(page.run, f"page {page.url_path or page.title!r}")()


def fragment(*, run_every: float | None = None) -> Callable[[Callable[P, Any]], Callable[P, None]]:
    """``st.fragment`` whose errors are reported inside the fragment (it reruns on its own)."""

    def wrap(body: Callable[P, Any]) -> Callable[P, None]:
        return st.fragment(guarded(body), run_every=run_every)

    return wrap


def dialog(title: str, **kwargs: Any) -> Callable[[Callable[P, Any]], Callable[P, None]]:
    """``st.dialog`` whose errors are reported inside the dialog."""

    def wrap(body: Callable[P, Any]) -> Callable[P, None]:
        return st.dialog(title, **kwargs)(guarded(body))  # type: ignore[no-any-return]

    return wrap
