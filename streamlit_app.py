"""VeoGen's entry: page config, the login gate, and the navigation of a logged-in user by role.

Every run checks the session against the database (``pages/_ui/auth.py``): a
disabled user, a revoked session or a cookie issued before a logout ends the
session here, before any page runs. Creators get Create, Gallery and Account;
admins also Analytics, Queue, Users and Settings; a user whose password must change gets Account
only. The page runs inside the error boundary (``pages/_ui/boundary.py``): in production an
unexpected error shows an incident id, never a traceback. The favicon is an SVG from the
repository, inlined into the page, so no browser fetches it from another host. Imports
streamlit and ``core``/``pages._ui`` only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from core.errors import ConfigurationError
from pages._ui import auth, boundary, guards, state
from pages._ui.widgets import md

FAVICON = Path(__file__).resolve().parent / "pages" / "_ui" / "assets" / "favicon.svg"
"""The browser tab's icon; Streamlit inlines an SVG file as a data: URL (a Material icon is fetched from Google)."""

st.set_page_config(page_title="VeoGen", page_icon=FAVICON, layout="wide")
boundary.hide_error_details()

PAGE_FILES = (
    state.CREATE_PAGE,
    state.GALLERY_PAGE_FILE,
    state.DETAIL_PAGE,
    state.MOVIES_PAGE,
    guards.ACCOUNT_PAGE,
    *guards.ADMIN_PAGES,
)
"""Every file page; a page a session may not open still answers at its address (see ``stand_ins``)."""

try:
    studio = state.get_studio()
except ConfigurationError as exc:  # production refuses a missing, weak or default secret, by name
    boundary.log.error("the studio refused its configuration: %s", exc)
    st.error(f"This studio cannot start until an administrator fixes its configuration: {md(str(exc))}")
    st.stop()
authenticator = auth.make_authenticator(studio)
user = auth.current_user(studio, authenticator)


def login_page() -> None:
    auth.login_page(studio)


def to_account() -> None:
    st.switch_page(guards.ACCOUNT_PAGE)


def stand_ins(body: Callable[[], None], files: tuple[str, ...], title: str) -> list[st.Page]:
    """Hidden pages at the addresses of ``files`` that run ``body`` instead (the files stay unregistered)."""
    return [st.Page(body, title=title, url_path=Path(page).stem, visibility="hidden") for page in files]


if user is None or auth.opening():
    # The login form answers at every page's address, so a deep link survives logging in.
    login = st.Page(login_page, title="Log in", icon=":material/login:", default=True)
    boundary.run_page(st.navigation([login, *stand_ins(login_page, PAGE_FILES, "Log in")], position="hidden"))
    st.stop()

with st.sidebar:
    st.markdown(f"Signed in as **{md(user.username)}**")
    if user.is_admin:
        st.caption("Administrator")
    logging_out = st.button("Log out", icon=":material/logout:", key="veogen-logout")
if logging_out:
    auth.log_out(studio, authenticator, user.id)
    # No st.rerun here: the cookie-deleting component must reach the browser first; it
    # reruns the app once the cookie is gone. The button covers a blocked component.
    st.success("You are logged out.")
    st.button("Log in again", key="veogen-login-again")
    st.stop()

if user.must_change_password:
    # Nothing else until the one-time password is replaced; other addresses lead to Account.
    first = st.Page(guards.ACCOUNT_PAGE, title="Account", icon=":material/person:", default=True)
    others = tuple(page for page in PAGE_FILES if page != guards.ACCOUNT_PAGE)
    boundary.run_page(st.navigation([first, *stand_ins(to_account, others, "Account")], position="hidden"))
    st.stop()

studio_pages = [
    st.Page(state.CREATE_PAGE, title="Create", icon=":material/movie:", default=True),
    st.Page(state.GALLERY_PAGE_FILE, title="Gallery", icon=":material/video_library:"),
    st.Page(state.MOVIES_PAGE, title="Movies", icon=":material/theaters:"),
    st.Page(guards.ACCOUNT_PAGE, title="Account", icon=":material/person:"),
    st.Page(state.DETAIL_PAGE, title="Generation", icon=":material/info:", visibility="hidden"),
]
if user.is_admin:
    admin_pages = [
        st.Page(guards.ADMIN_ANALYTICS_PAGE, title="Analytics", icon=":material/monitoring:"),
        st.Page(guards.ADMIN_QUEUE_PAGE, title="Queue", icon=":material/queue:"),
        st.Page(guards.ADMIN_USERS_PAGE, title="Users", icon=":material/group:"),
        st.Page(guards.ADMIN_SETTINGS_PAGE, title="Settings", icon=":material/settings:"),
    ]
    boundary.run_page(st.navigation({"Studio": studio_pages, "Administration": admin_pages}))
else:
    # Admin pages are not registered for creators; their addresses answer with the refusal.
    boundary.run_page(
        st.navigation([*studio_pages, *stand_ins(guards.refuse_admin_page, guards.ADMIN_PAGES, "Not allowed")])
    )
