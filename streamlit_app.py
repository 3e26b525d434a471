"""VeoGen's entry: page config, the login gate, and the navigation of a logged-in user.

streamlit-authenticator draws the form and checks bcrypt hashes from the users
table; around it, every run re-reads the user from the database and refuses a
disabled or deleted account, and the session keeps only a small CurrentUser.
Imports streamlit, streamlit-authenticator and ``core``/``pages._ui`` only.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
import streamlit_authenticator as stauth

from core.errors import NotFoundError
from pages._ui import state
from pages._ui.widgets import md

# The one answer to a failed login, whether the user is unknown or the password is wrong.
LOGIN_ERROR = "Wrong username or password."

# Name of the re-authentication cookie set by streamlit-authenticator.
COOKIE_NAME = "veogen_auth"

LOGIN_FIELDS = {"Form name": "Log in", "Username": "Username", "Password": "Password", "Login": "Log in"}

# Session keys dropped at logout, so the next user of this browser tab starts clean.
SESSION_PREFIXES = ("veogen_", "create_", "gallery_")

st.set_page_config(page_title="VeoGen", page_icon=":material/movie:", layout="wide")

studio = state.get_studio()
settings = studio.settings
authenticator = stauth.Authenticate(
    credentials=studio.login_credentials(),
    cookie_name=COOKIE_NAME,
    cookie_key=settings.resolved_cookie_key(),
    cookie_expiry_days=settings.cookie_expiry_days,
    auto_hash=False,
)


def log_out() -> None:
    """End the session: the authenticator's state and cookie, then every VeoGen key."""
    if st.session_state.get("authentication_status"):
        authenticator.logout(location="unrendered")
    for key in list(st.session_state):
        if str(key).startswith(SESSION_PREFIXES):
            del st.session_state[key]


def cookie_just_written() -> bool:
    """Whether this run's login queued the re-authentication cookie for the browser to store."""
    return authenticator.cookie_controller.cookie_model.exp_date is not None


def login_page() -> None:
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        st.title("VeoGen")
        st.caption("A self-hosted studio for AI video. Log in with the account your administrator gave you.")
        try:
            authenticator.login(location="main", fields=LOGIN_FIELDS, key="veogen-login")
        except stauth.LoginError:
            # A cookie naming an account that may no longer log in: ignore the cookie, show the form.
            st.session_state["logout"] = True
            st.session_state["authentication_status"] = None
            authenticator.login(location="main", fields=LOGIN_FIELDS, key="veogen-login")
        status = st.session_state.get("authentication_status")
        if status and not cookie_just_written():
            st.rerun()
        if status:
            # The cookie component must reach the browser before the page changes; once it has
            # stored the cookie it reruns the app by itself. The button covers a blocked component.
            st.success("Logged in. Opening your studio…")
            st.button("Continue", type="primary", key="veogen-continue")
        elif status is False:
            st.error(LOGIN_ERROR)
        state.show_flash()


def current_user() -> state.CurrentUser | None:
    """Return the logged-in user re-read from the database, or None (logging out a disabled one)."""
    if not st.session_state.get("authentication_status"):
        st.session_state.pop(state.CURRENT_USER, None)
        return None
    try:
        found = studio.user(str(st.session_state.get("username") or ""))
    except NotFoundError:
        found = None
    if found is None or found.disabled:
        log_out()
        state.flash("This account is disabled. Ask an administrator.", "error")
        return None
    user = state.CurrentUser(id=found.id, username=found.username, role=found.role, name=found.name)
    st.session_state[state.CURRENT_USER] = user
    return user


user = current_user()
if user is None:
    # The login form answers at every page's address, so a deep link survives logging in.
    login_pages = [st.Page(login_page, title="Log in", icon=":material/login:", default=True)] + [
        st.Page(login_page, title="Log in", url_path=Path(page).stem, visibility="hidden")
        for page in (state.GALLERY_PAGE_FILE, state.DETAIL_PAGE)
    ]
    st.navigation(login_pages, position="hidden").run()
else:
    with st.sidebar:
        st.markdown(f"Signed in as **{md(user.username)}**")
        logging_out = st.button("Log out", icon=":material/logout:", key="veogen-logout")
        if logging_out:
            log_out()
    if logging_out:
        # No st.rerun here: the cookie-deleting component must reach the browser first; it
        # reruns the app once the cookie is gone. The button covers a blocked component.
        st.success("You are logged out.")
        st.button("Log in again", key="veogen-login-again")
        st.stop()
    pages = [
        st.Page(state.CREATE_PAGE, title="Create", icon=":material/movie:", default=True),
        st.Page(state.GALLERY_PAGE_FILE, title="Gallery", icon=":material/video_library:"),
        st.Page(state.DETAIL_PAGE, title="Generation", icon=":material/info:", visibility="hidden"),
    ]
    st.navigation(pages).run()
