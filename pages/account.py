"""Account (everyone): change your password, see this month's spend and your open generations,
set an optional personal Gemini key, make, list and revoke tokens for the REST API, and register webhooks.

While a user's password must change (a one-time password from an admin), this is
the only page they get, and it shows only the password form. A thin page: reads
widgets, calls the Studio, renders. Imports only streamlit, ``core`` and ``pages._ui``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st

from core.errors import ValidationError
from core.status import Status
from pages._ui import account_widgets, auth, outgoing_webhooks, state, tokens
from pages._ui.widgets import excerpt, fmt_usd, md, show_error

OPEN_STATUSES = [status.value for status in Status if not status.is_final]
"""Statuses of a generation that is still on its way (queued … processing)."""

CHANGED_AT = "account_password_changed_at"
"""Session key: when this tab last changed the password (the confirmation shows for a minute)."""

user = state.require_user()
studio = state.get_studio()
ss = st.session_state
must_change = bool(ss.get(auth.MUST_CHANGE))

st.title("Account")
state.show_flash()
st.caption("Role: administrator" if user.role == "admin" else "Role: creator")

if must_change:
    st.warning("Your account has a one-time password. Choose your own password to start using VeoGen.")
changed_at = ss.get(CHANGED_AT)
if isinstance(changed_at, datetime) and datetime.now(UTC) - changed_at < timedelta(minutes=1):
    st.success("Password changed. Every other session of yours has ended.")

st.subheader("Password", anchor=False)
with st.form("account_password", clear_on_submit=True):
    current = st.text_input("Current password", type="password", autocomplete="current-password")
    new = st.text_input("New password", type="password", autocomplete="new-password")
    repeat = st.text_input("Repeat the new password", type="password", autocomplete="new-password")
    st.caption(
        f"At least {studio.settings.min_password_chars} characters, at most 72 bytes, not a common password "
        "and not your username."
    )
    change = st.form_submit_button("Change password", type="primary")
if change:
    if new != repeat:
        st.error("The two new passwords differ.")
    else:
        try:
            studio.accounts.change_password(user.id, current, new)
        except ValidationError as exc:
            show_error(exc)
        else:
            auth.renew_session()  # this tab stays logged in with a fresh cookie; the others have ended
            ss[CHANGED_AT] = datetime.now(UTC)
            st.rerun()
if must_change:
    st.stop()

st.subheader("This month", anchor=False)
budget = studio.generations.budget(user.id)
share = float(budget.committed_usd / budget.budget_usd) if budget.budget_usd > 0 else 1.0
st.progress(min(1.0, max(0.0, share)))
st.markdown(
    f"{fmt_usd(budget.committed_usd)} of {fmt_usd(budget.budget_usd)} spent or reserved in {budget.period} · "
    f"{fmt_usd(budget.remaining_usd)} left"
)
st.caption("Reserved when you submit, settled with the real cost when the video is ready, released if it fails.")

st.subheader("Open generations", anchor=False)
page = studio.generations.list_generations(user.id, statuses=OPEN_STATUSES)
st.caption(f"{budget.open_generations} of at most {budget.max_open_generations} at once.")
if not page.items:
    st.caption("None right now.")
for view in page.items:
    st.page_link(
        state.DETAIL_PAGE,
        label=f"{md(excerpt(view.prompt, 80))} — {view.status.label}",
        icon=":material/pending:",
        query_params={"id": view.id},
    )
if page.total > len(page.items):
    st.page_link(state.GALLERY_PAGE_FILE, label=f"All {page.total} in the gallery", icon=":material/video_library:")

st.subheader("Personal Gemini key", anchor=False)
account_widgets.credential_editor(
    "Personal Gemini API key",
    studio.accounts.personal_key(user.id),
    lambda value: studio.accounts.set_personal_key(user.id, value),
    key="account_personal_key",
    secret=True,
    help="Optional. Only your own generations use it, and they use it instead of the team's key; "
    "nobody else's do. Stored encrypted; only its last four characters are shown.",
)

st.subheader("API tokens", anchor=False)
tokens.account_section(studio, user)

st.subheader("Webhooks", anchor=False)
outgoing_webhooks.account_section(studio, user)
