"""The login gate: our login, invitation and registration forms, and the session check on every run.

streamlit-authenticator keeps the re-authentication cookie (a signed JWT its browser
component writes) and restores a session from it; ``studio.accounts`` decides the
rest: the password check under the throttle, and on every run whether the session
still counts (the user enabled, and nothing revoked since the session began). A
revoked, disabled or unknown session is logged out and its cookie deleted.
Imports streamlit, streamlit-authenticator and ``core``/``pages._ui`` only.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st
import streamlit_authenticator as stauth

from core.errors import NotFoundError, ValidationError
from core.services.auth import LoginResult
from core.services.users import UserView
from core.studio import Studio
from pages._ui import state
from pages._ui.widgets import md

COOKIE_NAME = "veogen_auth"
"""Name of the re-authentication cookie set by streamlit-authenticator."""

LOGIN_AT = "veogen_login_at"
"""Session key: when this session logged in through the form (aware UTC datetime).

A cookie written during the session never reaches ``st.context.cookies`` (those are
the ones the browser sent when the session began), so such a session is dated by this.
"""

MUST_CHANGE = "veogen_must_change_password"
"""Session key: whether the logged-in user must change their password before anything else."""

ISSUE_COOKIE = "veogen_issue_cookie"
"""Session key: write a fresh cookie on this run (after a login, or a password change that revoked the old ones)."""

OPENING = "veogen_opening"
"""Session key: the form login just succeeded; say so once while the browser stores the cookie."""

CONFIRM_KEY = "veogen-cookie-confirm"
"""Component key of the repeated cookie write; its value turns True once the browser stored the cookie."""

LOGIN_USERNAME = "login_username"
"""Widget key of the login form's username (read by the button's callback)."""

LOGIN_PASSWORD = "login_password"  # noqa: S105  (a widget key, not a password)
"""Widget key of the login form's password (read and emptied by the button's callback)."""

COOKIE_PENDING = "veogen_cookie_pending"
"""Session key: ``(token, expiry timestamp)`` of a cookie the browser has not yet reported back as stored.

The component that writes a cookie only runs while it is drawn; a rerun that comes
first (a click, or a just-deleted stale cookie's rerun) would drop it unwritten. So it
is drawn again on every run until it reports the write done.
"""

NOTICE = "veogen_login_notice"
"""Session key: ``(kind, Markdown)`` shown above the login form until the next login attempt (a failed
login's answer, an ended session, a set password)."""

SESSION_PREFIXES = ("veogen_", "create_", "gallery_", "account_", "users_", "settings_")
"""Session keys dropped at logout, so the next user of this browser tab starts clean."""

SESSION_ENDED = "Your session has ended; log in again."
ACCOUNT_DISABLED = "This account is disabled. Ask an administrator."
INVITE_ACCEPTED = "Password set; log in."
ACCOUNT_CREATED = "Account created; log in."


def make_authenticator(studio: Studio) -> stauth.Authenticate:
    """Build this run's authenticator (it draws the cookie component, so once per run)."""
    settings = studio.settings
    return stauth.Authenticate(
        credentials=studio.login_credentials(),
        cookie_name=COOKIE_NAME,
        cookie_key=settings.resolved_cookie_key(),
        cookie_expiry_days=settings.cookie_expiry_days,
        auto_hash=False,
        # 0.4.2 reads the cookie from st.context.cookies, so its wait for the component is not needed.
        login_sleep_time=0,
    )


def client_address() -> str:
    """The browser's address as the server's socket sees it (we never read X-Forwarded-For)."""
    return st.context.ip_address or "unknown"


# -- the check on every run -------------------------------------------------------


def current_user(studio: Studio, authenticator: stauth.Authenticate) -> UserView | None:
    """Return the user of a session that still counts, or None (ending a session that does not)."""
    ss = st.session_state
    # The cookie components come and go; in a slot of their own, the page's elements keep their
    # places (a shifted widget is redrawn, closing an open dropdown under the user's pointer).
    slot = st.container()
    try:
        authenticator.login(location="unrendered")  # restores a session from the cookie, if any
    except stauth.LoginError:
        # A valid cookie naming someone who may not log in (disabled or deleted).
        token = authenticator.cookie_controller.cookie_model.token
        with slot:
            end_session(authenticator, ended_notice(studio, token.get("username", "") if token else ""))
        return None
    if not ss.get("authentication_status"):
        ss.pop(state.CURRENT_USER, None)
        return None
    username = str(ss.get("username") or "")
    issued = ss.get(LOGIN_AT)
    if not isinstance(issued, datetime):
        issued = studio.accounts.cookie_issued_at(st.context.cookies.get(COOKIE_NAME))
    user = studio.accounts.session_user(username, issued)
    if user is None:
        with slot:
            end_session(authenticator, ended_notice(studio, username))
        return None
    ss[state.CURRENT_USER] = state.CurrentUser(id=user.id, username=user.username, role=user.role, name=user.name)
    ss["roles"] = [user.role]  # the database's role, not the one read at login
    ss[MUST_CHANGE] = user.must_change_password
    with slot:
        if ss.pop(ISSUE_COOKIE, False):
            issue_cookie(authenticator)
        else:
            confirm_cookie(authenticator)
    return user


def issue_cookie(authenticator: stauth.Authenticate) -> None:
    """Have the browser store a new re-authentication cookie for ``st.session_state["username"]``."""
    model = authenticator.cookie_controller.cookie_model
    model.set_cookie()
    st.session_state[COOKIE_PENDING] = (model.cookie_manager.cookies.get(COOKIE_NAME), model.exp_date)


def confirm_cookie(authenticator: stauth.Authenticate) -> None:
    """Write the pending cookie again, until its component reports back that the browser stored it."""
    pending = st.session_state.get(COOKIE_PENDING)
    if not pending:
        return
    token, expires = pending
    write = authenticator.cookie_controller.cookie_model.cookie_manager.cookie_manager  # the component itself
    options = {"path": "/", "expires": datetime.fromtimestamp(expires).isoformat(), "sameSite": "strict"}
    stored = write(method="set", cookie=COOKIE_NAME, value=token, options=options, key=CONFIRM_KEY, default=False)
    if stored is True or not token:
        st.session_state.pop(COOKIE_PENDING, None)


def ended_notice(studio: Studio, username: str) -> tuple[str, str]:
    """What to tell someone whose session was just ended."""
    try:
        disabled = bool(username) and studio.user(username).disabled
    except NotFoundError:
        disabled = False
    return ("error", ACCOUNT_DISABLED) if disabled else ("warning", SESSION_ENDED)


def clear_session() -> None:
    """Forget every VeoGen key of this browser tab."""
    for key in list(st.session_state):
        if str(key).startswith(SESSION_PREFIXES):
            del st.session_state[key]


def end_session(authenticator: stauth.Authenticate, notice: tuple[str, str] | None = None) -> None:
    """Log this tab out: the authenticator's state, its cookie (deleted by the browser), our keys."""
    ss = st.session_state
    if ss.get("authentication_status"):
        authenticator.logout(location="unrendered")  # sets ss["logout"]: the cookie is not read again
    else:
        ss["logout"] = True
        authenticator.cookie_controller.delete_cookie()
    for key in ("authentication_status", "username", "name", "email", "roles"):
        ss[key] = None
    clear_session()
    if notice:
        ss[NOTICE] = notice


def log_out(studio: Studio, authenticator: stauth.Authenticate, user_id: int) -> None:
    """End every session of the user (copied cookies included), then this tab's."""
    studio.accounts.logout(user_id)
    end_session(authenticator)


def renew_session() -> None:
    """Keep this tab logged in after a password change revoked every older session, and re-issue the cookie."""
    st.session_state[LOGIN_AT] = datetime.now(UTC)
    st.session_state[ISSUE_COOKIE] = True


def opening() -> bool:
    """Whether this run follows the form login (the login page says so instead of drawing the studio)."""
    return bool(st.session_state.get(OPENING))


# -- the login page ---------------------------------------------------------------


def start_session(studio: Studio, result: LoginResult) -> None:
    """Log this tab in after a successful check; the next script body writes the cookie."""
    user = studio.user(str(result.username))
    ss = st.session_state
    ss.update(
        authentication_status=True,
        username=user.username,
        name=user.name,
        email=user.email,
        roles=[user.role],
        logout=None,
    )
    ss[LOGIN_AT] = datetime.now(UTC)
    ss[ISSUE_COOKIE] = True
    ss[OPENING] = True


def submit_login(studio: Studio) -> None:
    """The login button's callback: check the password and start the session, or keep the answer.

    It runs before the script body, to the end: a rerun arriving meanwhile (the cookie
    component's first report, right after the page loads) cannot drop the click.
    """
    ss = st.session_state
    username, password = str(ss.get(LOGIN_USERNAME) or ""), str(ss.get(LOGIN_PASSWORD) or "")
    ss[LOGIN_PASSWORD] = ""
    ss.pop(NOTICE, None)
    result = studio.accounts.login(username, password, client_address())
    if result.error or result.username is None:
        # Kept until the next attempt, so no rerun can wipe it.
        ss[NOTICE] = ("error", result.error or "Wrong username or password.")
        return
    ss[LOGIN_USERNAME] = ""
    start_session(studio, result)


def login_form(studio: Studio) -> None:
    with st.form("veogen-login", clear_on_submit=True):
        st.subheader("Log in", anchor=False)
        st.text_input("Username", key=LOGIN_USERNAME, autocomplete="username")
        st.text_input("Password", type="password", key=LOGIN_PASSWORD, autocomplete="current-password")
        st.form_submit_button("Log in", type="primary", on_click=submit_login, args=(studio,))


def opening_message() -> None:
    """Shown once after the form login: the cookie component reruns the app once it stored the cookie."""
    st.session_state.pop(OPENING, None)
    st.success("Logged in. Opening your studio…")
    st.button("Continue", type="primary", key="veogen-continue")  # in case the component is blocked


def invitation_form(studio: Studio, token: str) -> None:
    with st.form("veogen-invite", clear_on_submit=True):
        st.subheader("Set your password", anchor=False)
        st.caption("You were invited to VeoGen. Choose a password to finish setting up your account.")
        password = st.text_input("New password", type="password", autocomplete="new-password")
        repeat = st.text_input("Repeat the new password", type="password", autocomplete="new-password")
        submitted = st.form_submit_button("Set password", type="primary")
    if not submitted:
        return
    if password != repeat:
        st.error("The two passwords differ.")
        return
    try:
        user = studio.accounts.accept_invite(token, password)
    except ValidationError as exc:
        st.error(md(str(exc)))
        return
    st.session_state[NOTICE] = ("success", f"{INVITE_ACCEPTED} Your username is **{md(user.username)}**.")
    st.query_params.pop("invite", None)
    st.rerun()


def registration_form(studio: Studio) -> None:
    with st.form("veogen-register", clear_on_submit=True):
        st.subheader("Create an account", anchor=False)
        username = st.text_input("Choose a username", autocomplete="off")
        email = st.text_input("Work email", autocomplete="email")
        password = st.text_input("Choose a password", type="password", autocomplete="new-password")
        repeat = st.text_input("Repeat the password", type="password", autocomplete="new-password")
        submitted = st.form_submit_button("Create account")
    if not submitted:
        return
    if password != repeat:
        st.error("The two passwords differ.")
        return
    try:
        user = studio.accounts.register(username, email, password)
    except ValidationError as exc:
        st.error(md(str(exc)))
        return
    st.session_state[NOTICE] = ("success", f"{ACCOUNT_CREATED} Your username is **{md(user.username)}**.")
    st.rerun()


def show_notice() -> None:
    notice = st.session_state.get(NOTICE)
    if notice:
        kind, message = notice
        {"success": st.success, "info": st.info, "warning": st.warning, "error": st.error}[kind](message)


def login_page(studio: Studio) -> None:
    """The page every address shows without a session: log in, set an invited password, or register."""
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        st.title("VeoGen")
        st.caption("A self-hosted studio for AI video. Log in with the account your administrator gave you.")
        if opening():
            opening_message()
            return
        notice = st.container()  # filled last, with what this run's form submission said
        state.show_flash()
        invite = st.query_params.get("invite", "")
        if invite:
            invitation_form(studio, invite)
        elif studio.settings.self_registration:
            log_in_tab, register_tab = st.tabs(["Log in", "Create an account"])
            with log_in_tab:
                login_form(studio)
            with register_tab:
                registration_form(studio)
        else:
            login_form(studio)
        with notice:
            show_notice()
