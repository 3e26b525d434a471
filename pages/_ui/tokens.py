"""Personal access tokens for the REST API: a user's own on Account, everyone's for admins on Users.

Making one shows its secret once, in a box with a copy button; after that only its
first characters are ever shown. Revoking is one click. The rules (names, scopes,
lives, who may revoke what) are checked by ``studio.tokens``. Imports streamlit and
``core`` only.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core.errors import NotFoundError, PermissionDeniedError, ValidationError
from core.services.tokens import EXPIRY_CHOICES, MAX_NAME_CHARS, SCOPES, TokenView
from core.studio import Studio
from pages._ui import state, widgets
from pages._ui.state import CurrentUser
from pages._ui.widgets import fmt_time, md, show_error

REVEAL = "account_token_reveal"
"""Session key of a token just made: ``(name, secret)``, shown on the next run only."""

DEFAULT_DAYS = 90
"""The life the form proposes, in days."""

STATES = {"active": "active", "expired": "expired", "revoked": "revoked", "ended": "ended (account disabled)"}
"""How each state of a token reads."""

ERRORS = (ValidationError, PermissionDeniedError, NotFoundError)


def show_new_secret() -> None:
    """Show the secret of the token just made, once."""
    widgets.show_secret_once(
        REVEAL,
        lambda name: f"Token “{name}” made. Copy it now: it is not shown again.",
        "Send it as `Authorization: Bearer <token>`. Anyone holding it acts as you within its scopes.",
    )


def new_token_form(studio: Studio, user: CurrentUser) -> None:
    """Name, scopes and life of a new token; on success its secret is shown once."""
    offered = [scope for scope in SCOPES if scope != "admin" or user.role == "admin"]
    with st.form("account_token_new", clear_on_submit=True):
        name = st.text_input(
            "Name", max_chars=MAX_NAME_CHARS, placeholder="e.g. nightly renders on CI", key="account_token_name"
        )
        scopes = st.multiselect(
            "Scopes",
            offered,
            default=["read", "generate"],
            format_func=lambda scope: f"{scope} — {SCOPES[scope]}",
            key="account_token_scopes",
        )
        days = st.selectbox(
            "Expires after",
            EXPIRY_CHOICES,
            index=EXPIRY_CHOICES.index(DEFAULT_DAYS),
            format_func=lambda n: f"{n} days",
            key="account_token_days",
        )
        make = st.form_submit_button("Make token", type="primary")
    if make:
        try:
            view, secret = studio.tokens.create(user.id, name, scopes, int(days))
        except ERRORS as exc:
            show_error(exc)
        else:
            st.session_state[REVEAL] = (view.name, secret)
            st.rerun()


def tokens_list(tokens: list[TokenView], revoke: Callable[[int], object], *, owners: bool = False) -> None:
    """Each token with its scopes, dates and state, and a Revoke button while it can still be used."""
    if not tokens:
        st.caption("No tokens.")
        return
    for token in tokens:
        with st.container(border=True, horizontal=True, vertical_alignment="center"):
            who = f"{md(token.username)} · " if owners else ""
            st.markdown(
                f"{who}**{md(token.name)}** `{token.hint}…` · {', '.join(token.scopes)} · {STATES[token.state]}  \n"
                f"made {fmt_time(token.created_at)} · expires {fmt_time(token.expires_at)} · "
                f"last used {fmt_time(token.last_used_at) if token.last_used_at else 'never'}",
            )
            if token.active and st.button("Revoke", key=f"account_token_revoke_{token.id}"):
                try:
                    revoke(token.id)
                except ERRORS as exc:
                    show_error(exc)
                else:
                    state.flash(md(f"Token “{token.name}” revoked; it no longer works."))
                    st.rerun()


def account_section(studio: Studio, user: CurrentUser) -> None:
    """The Account page's tokens: make one, list and revoke yours."""
    st.caption(
        "For scripts and tools that use VeoGen's REST API (its interactive docs are at `/docs` on the API's "
        "address). A token stops working when it expires, when you revoke it, and when your password is "
        "changed or reset; logging out of this page does not end it."
    )
    show_new_secret()
    new_token_form(studio, user)
    tokens_list(studio.tokens.list_mine(user.id), lambda token_id: studio.tokens.revoke(user.id, token_id))
