"""Guards at the top of pages: who may see this page at all.

Navigation hides admin pages from creators, but hiding is not enforcing: every
admin page starts with :func:`require_admin`, which re-reads the user's role from
the database, and the services refuse non-admins again (PermissionDeniedError).
Imports streamlit and ``core``/``pages._ui`` only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn, TypeVar

import streamlit as st

from core.errors import NotFoundError, PermissionDeniedError
from pages._ui import auth, state
from pages._ui.widgets import ADMIN_ONLY

ONE_TIME_NOTICE = "Change your password first: your account was given a one-time password."

T = TypeVar("T")

ACCOUNT_PAGE = "pages/account.py"
ADMIN_USERS_PAGE = "pages/admin_users.py"
ADMIN_SETTINGS_PAGE = "pages/admin_settings.py"
ADMIN_ANALYTICS_PAGE = "pages/admin_analytics.py"
ADMIN_QUEUE_PAGE = "pages/admin_queue.py"
ADMIN_PAGES = (ADMIN_ANALYTICS_PAGE, ADMIN_QUEUE_PAGE, ADMIN_USERS_PAGE, ADMIN_SETTINGS_PAGE)
"""Every admin-only page file (not registered for creators; their addresses answer with the refusal)."""


def refuse_admin_page() -> NoReturn:
    """Stop the page with the one refusal a non-admin gets (never any of the page's data)."""
    st.error(ADMIN_ONLY)
    st.stop()


def require_user() -> state.CurrentUser:
    """Return the logged-in user; stop a page other than Account while their password must change."""
    user = state.require_user()
    if st.session_state.get(auth.MUST_CHANGE):
        st.warning(ONE_TIME_NOTICE)
        st.stop()
    return user


def admin_read(admin: state.CurrentUser, read: Callable[[int], T]) -> T:
    """Call an admin service on behalf of ``admin``; a role refusal ends the page with the one refusal.

    Every admin page reads its data through this, after :func:`require_admin`:
    the service checks the role again, and a user demoted meanwhile sees only the refusal.
    """
    try:
        return read(admin.id)
    except PermissionDeniedError:
        refuse_admin_page()


def require_admin() -> state.CurrentUser:
    """Return the logged-in admin; anyone else gets the refusal (the role is read from the database)."""
    user = require_user()
    try:
        current = state.get_studio().accounts.by_username(user.username)
    except NotFoundError:
        refuse_admin_page()
    if current.id != user.id or not current.is_admin:
        refuse_admin_page()
    return user
