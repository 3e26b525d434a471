"""The login gate: our login, invitation and registration forms, the login cookie, and the session check on every run.

The login cookie is a JWT signed with VEOGEN_COOKIE_KEY that names the user and says when it was
issued and when it expires (``studio.accounts.issue_cookie``). A session is restored from the cookie
its browser sent when the session opened (``st.context.cookies``); ``studio.accounts`` decides the
rest: the password check under the throttle, and on every run whether the session still counts (the
user enabled, and nothing revoked since the cookie was issued or the form login). A revoked, disabled
or unknown session is logged out (its cookie, refused on every run, is left for the next login to
replace; logging out deletes it).

The browser writes and deletes the cookie through extra-streamlit-components' cookie component, which
is drawn only on the runs that change the cookie, and never on a run that draws the login form: each
report of the component reruns the app, and a rerun that arrives while the login button's callback is
checking the password starts a new run at once (Streamlit's fast reruns) without the button's click —
the person got the empty form back, logged in on the server but not in the tab. streamlit-
authenticator's ``Authenticate`` drew that component on every run, to read cookies we read from the
request, and it reported right after the first paint (twice in a session's first runs, whose element
ids differ), so it is not used here.
Imports streamlit, extra-streamlit-components and ``core``/``pages._ui`` only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import streamlit as st
from extra_streamlit_components.CookieManager import _component_func as cookie_component
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.errors import NotFoundError, ValidationError
from core.services.auth import LoginResult
from core.services.users import UserView
from core.studio import Studio
from pages._ui import boundary, state
from pages._ui.widgets import md, show_error

COOKIE_NAME = "veogen_auth"
"""Name of the login cookie."""

LOGIN_AT = "veogen_login_at"
"""Session key: when this session began (aware UTC datetime): its form login, or the signed issue time of
the cookie it was restored from. Sessions revoked at or after it end."""

MUST_CHANGE = "veogen_must_change_password"
"""Session key: whether the logged-in user must change their password before anything else."""

ISSUE_COOKIE = "veogen_issue_cookie"
"""Session key: write a fresh cookie on this run (after a login, or a password change that revoked the old ones)."""

OPENING = "veogen_opening"
"""Session key: the form login just succeeded; say so once while the browser stores the cookie."""

LOGIN_USERNAME = "login_username"
"""Widget key of the login form's username (read by the button's callback)."""

LOGIN_PASSWORD = "login_password"  # noqa: S105  (a widget key, not a password)
"""Widget key of the login form's password (read and emptied by the button's callback)."""

COOKIE_PENDING = "veogen_cookie_pending"
"""Session key: the cookie change the browser has not yet reported done, ``(component key, method, token,
expiry)``. The component only acts while it is drawn, and a rerun that comes first would drop it; so it is
drawn on every run until it reports. Each change has its own component key: a key's last report would
otherwise count as this change's."""

IGNORE_COOKIE = "veogen_ignore_cookie"
"""Session key: the cookie this session opened with is not read again (it was logged out, or refused)."""

NOTICE = "veogen_login_notice"
"""Session key: ``(kind, Markdown)`` shown above the login form until the next login attempt (a failed
login's answer, an ended session, a set password)."""

SESSION_PREFIXES = ("veogen_", "create_", "gallery_", "account_", "users_", "settings_")
"""Session keys dropped at logout, so the next user of this browser tab starts clean."""

AUTH_KEYS = ("authentication_status", "username", "name", "email", "roles")
"""Session keys naming the logged-in user (``authentication_status`` is True while logged in, else None)."""

SESSION_ENDED = "Your session has ended; log in again."
ACCOUNT_DISABLED = "This account is disabled. Ask an administrator."
INVITE_ACCEPTED = "Password set; log in."
ACCOUNT_CREATED = "Account created; log in."


@dataclass(frozen=True)
class OpeningCookie:
    """The login cookie the browser sent when this session opened (None without one)."""

    token: str | None


def make_authenticator(studio: Studio) -> OpeningCookie:
    """This run's view of the login cookie (the entry script's name is from streamlit-authenticator's days)."""
    return OpeningCookie(st.context.cookies.get(COOKIE_NAME))


def socket_peer() -> str | None:
    """The address at the other end of this session's connection, as its socket reports it.

    Not ``st.context.ip_address``: Streamlit's server (Uvicorn, whose proxy headers are on by default) has
    already replaced it with the X-Forwarded-For header when the peer is loopback (FORWARDED_ALLOW_IPS),
    and that header is whatever the client wrote. The websocket's ASGI ``receive`` is a method of
    Uvicorn's protocol object, whose transport holds the socket. Under another server, the reported
    client is the peer only when no X-Forwarded-For was sent; otherwise this is None.
    """
    ctx = get_script_run_ctx()
    if ctx is None or not runtime.exists():
        return None
    client = runtime.get_instance().get_client(ctx.session_id)
    protocol = getattr(getattr(getattr(client, "_websocket", None), "_receive", None), "__self__", None)
    transport = getattr(protocol, "transport", None)
    peer = transport.get_extra_info("peername") if transport is not None else None
    if isinstance(peer, tuple | list) and peer:
        return str(peer[0])
    context = getattr(client, "client_context", None)
    if context is not None and not st.context.headers.get_all("X-Forwarded-For"):
        remote_ip = context.remote_ip
        return str(remote_ip) if remote_ip else None
    return None


def client_address(studio: Studio) -> str:
    """The address the login throttle counts this browser under: the socket peer, or, when that peer is
    one of VEOGEN_TRUSTED_PROXIES, the client it forwarded."""
    return studio.accounts.client_address(socket_peer(), st.context.headers.get_all("X-Forwarded-For"))


# -- the check on every run -------------------------------------------------------


def restore_session(studio: Studio, cookie: OpeningCookie) -> None:
    """Log this tab in from the cookie it opened with, if we signed it and it has not expired (checked next)."""
    ss = st.session_state
    claims = None if ss.get(IGNORE_COOKIE) else studio.accounts.read_cookie(cookie.token)
    if claims is None:
        return
    ss.update(authentication_status=True, username=claims.username)
    if claims.issued_at is not None:
        ss[LOGIN_AT] = claims.issued_at


def current_user(studio: Studio, cookie: OpeningCookie) -> UserView | None:
    """Return the user of a session that still counts, or None (ending a session that does not)."""
    ss = st.session_state
    # The cookie component comes and goes; in a slot of its own, the page's elements keep their
    # places (a shifted widget is redrawn, closing an open dropdown under the user's pointer).
    slot = st.container()
    for key in AUTH_KEYS:
        ss.setdefault(key, None)
    if not ss.get("authentication_status"):
        restore_session(studio, cookie)
    if not ss.get("authentication_status"):
        ss.pop(state.CURRENT_USER, None)
        # The login form is drawn next: no component beside it. A logout's deletion not reported yet
        # is dropped (the cookie was revoked on the server, and this session does not read it again).
        ss.pop(COOKIE_PENDING, None)
        return None
    username = str(ss.get("username") or "")
    issued = ss.get(LOGIN_AT)
    user = studio.accounts.session_user(username, issued if isinstance(issued, datetime) else None)
    if user is None:
        with slot:
            end_session(ended_notice(studio, username))
        return None
    ss[state.CURRENT_USER] = state.CurrentUser(id=user.id, username=user.username, role=user.role, name=user.name)
    ss.update(name=user.name, email=user.email, roles=[user.role])  # the database's, not the cookie's
    ss[MUST_CHANGE] = user.must_change_password
    if ss.pop(ISSUE_COOKIE, False):
        token, expires = studio.accounts.issue_cookie(user.username)
        change_cookie("set", token, expires)
    with slot:
        write_cookie()
    return user


def change_cookie(method: str, token: str = "", expires: datetime | None = None) -> None:
    """Have the browser set or delete the login cookie (drawn by ``write_cookie`` until it reports it done)."""
    when = (expires or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    st.session_state[COOKIE_PENDING] = (f"veogen-cookie-{secrets.token_hex(6)}", method, token, when)


def write_cookie() -> None:
    """Draw the pending cookie change here; forget it once the component reports that the browser made it.

    The component is called directly: extra-streamlit-components' ``CookieManager()`` would also draw
    an instance that reads every cookie and reports them (a rerun).
    """
    pending = st.session_state.get(COOKIE_PENDING)
    if not pending:
        return
    key, method, token, expires = pending
    if method == "set":
        options = {"path": "/", "expires": expires, "sameSite": "strict"}
        done = cookie_component(method="set", cookie=COOKIE_NAME, value=token, options=options, key=key, default=False)
    else:
        done = cookie_component(method="delete", cookie=COOKIE_NAME, key=key, default=False)
    if done is True:
        st.session_state.pop(COOKIE_PENDING, None)


def ended_notice(studio: Studio, username: str) -> tuple[str, str]:
    """What to tell someone whose session was just ended."""
    try:
        disabled = bool(username) and studio.accounts.by_username(username).disabled
    except NotFoundError:
        disabled = False
    return ("error", ACCOUNT_DISABLED) if disabled else ("warning", SESSION_ENDED)


def clear_session() -> None:
    """Forget every VeoGen key of this browser tab."""
    for key in list(st.session_state):
        if str(key).startswith(SESSION_PREFIXES):
            del st.session_state[key]


def end_session(notice: tuple[str, str] | None = None, *, delete_cookie: bool = False) -> None:
    """Log this tab out: our keys, and the cookie it opened with is not read again.

    ``delete_cookie`` has the browser delete its cookie too; only where no login form follows in the
    same run (the logged-out screen), so the component's rerun cannot meet a login.
    """
    ss = st.session_state
    for key in AUTH_KEYS:
        ss[key] = None
    clear_session()
    ss[IGNORE_COOKIE] = True
    if delete_cookie:
        change_cookie("delete")
        write_cookie()
    if notice:
        ss[NOTICE] = notice


def log_out(studio: Studio, cookie: OpeningCookie, user_id: int) -> None:
    """End every session of the user (copied cookies included), then this tab's."""
    studio.accounts.logout(user_id)
    end_session(delete_cookie=True)


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
    user = studio.accounts.by_username(str(result.username))
    ss = st.session_state
    ss.update(
        authentication_status=True,
        username=user.username,
        name=user.name,
        email=user.email,
        roles=[user.role],
    )
    ss.pop(IGNORE_COOKIE, None)
    ss[LOGIN_AT] = datetime.now(UTC)
    ss[ISSUE_COOKIE] = True
    ss[OPENING] = True


def submit_login(studio: Studio) -> None:
    """The login button's callback: check the password and start the session, or keep the answer.

    It runs before the script body. A rerun requested meanwhile would start a new run without
    waiting for it (and without the click): so the login page draws no component that reruns.
    """
    ss = st.session_state
    username, password = str(ss.get(LOGIN_USERNAME) or ""), str(ss.get(LOGIN_PASSWORD) or "")
    ss[LOGIN_PASSWORD] = ""
    ss.pop(NOTICE, None)
    result = studio.accounts.login(username, password, client_address(studio))
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
        st.form_submit_button(
            "Log in", type="primary", on_click=boundary.guarded(submit_login, "login"), args=(studio,)
        )


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
        show_error(exc)
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
        show_error(exc)
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
