"""Users (admins only): every account, new users by password or invitation, per-user actions, everyone's API
tokens, account events.

A thin page: the guard first, then widgets from ``pages/_ui/account_widgets.py``; the
services refuse non-admins again. Imports only streamlit, ``core`` and ``pages._ui``.
"""

from __future__ import annotations

import streamlit as st

from pages._ui import account_widgets, guards, state, tokens

admin = guards.require_admin()
studio = state.get_studio()

users = guards.admin_read(admin, studio.accounts.list_users)
events = guards.admin_read(admin, studio.accounts.events)
all_tokens = guards.admin_read(admin, studio.tokens.list_all)

st.title("Users")
state.show_flash()
account_widgets.show_revealed()

account_widgets.users_table(studio, users)

st.subheader("Add a user", anchor=False)
create_tab, invite_tab = st.tabs(["Create with a one-time password", "Invite by link"])
with create_tab:
    st.caption("You pass the password on; they must change it when they first log in.")
    account_widgets.new_user_form(studio, admin.id, invite=False)
with invite_tab:
    st.caption("They open the link and choose their own password.")
    account_widgets.new_user_form(studio, admin.id, invite=True)

st.subheader("Manage a user", anchor=False)
by_id = {u.id: u for u in users}
chosen = st.selectbox(
    "User",
    list(by_id),
    format_func=lambda user_id: f"{by_id[user_id].username} ({by_id[user_id].role})",
    key="users_selected",
)
if chosen is not None:
    with st.container(border=True):
        account_widgets.user_actions(studio, admin.id, by_id[int(chosen)])

st.subheader("API tokens", anchor=False)
st.caption("Everyone's personal access tokens, newest first; revoke one that leaked or is no longer needed.")
tokens.tokens_list(all_tokens, lambda token_id: studio.tokens.revoke_any(admin.id, token_id), owners=True)

st.subheader("Account events", anchor=False)
st.caption("Logins, failed logins, locks and account changes, newest first.")
account_widgets.events_table(events)
