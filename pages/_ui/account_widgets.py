"""Widgets of the account pages: credentials shown by their last four, the users table, one-time secrets,
user actions, and the account events.

Imports streamlit and ``core`` only. Secrets typed in are never written back into
a widget; stored ones come back only as ``CredentialView`` (set or not, last four).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import NoReturn

import streamlit as st

from core.errors import NotFoundError, PermissionDeniedError, ValidationError
from core.services.credentials import CredentialView, check_credential
from core.services.users import ROLES, UserView, check_limits
from core.studio import Studio
from pages._ui import boundary, state
from pages._ui.widgets import error_message, fmt_time, fmt_usd, md, show_error

REVEAL = "users_reveal"
"""Session key of a one-time secret to show once: ``(headline, secret, note)``."""

ERRORS = (ValidationError, PermissionDeniedError, NotFoundError)
"""What an account action may refuse with; the page shows the message."""

MAX_LIMIT_CHARS = 20
"""Longest budget or cap an admin may type, in characters."""


def act(action: Callable[[], object], done: str) -> None:
    """Run an account action; on success flash ``done`` (Markdown: escape usernames) and rerun, else say why not."""
    try:
        action()
    except ERRORS as exc:
        show_error(exc)
        return
    state.flash(done)
    st.rerun()


# -- credentials ------------------------------------------------------------------------


def credential_status(view: CredentialView) -> str:
    """``set · …1234``, ``set`` (too short to show any of it) or ``not set``."""
    if not view.is_set:
        return "not set"
    return f"set · …{view.last4}" if view.last4 else "set"


def credential_refusal(label: str, value: str) -> str | None:
    """Why a pasted credential is refused (too long, or with a control or invisible character), or None."""
    try:
        check_credential(label, value)
    except ValidationError as exc:
        return str(exc)
    return None


def credential_editor(
    label: str, view: CredentialView, save: Callable[[str], object], *, key: str, secret: bool, help: str = ""
) -> None:
    """One credential: its status, a never pre-filled input with Save, and Remove when it is set.

    The save runs in the button's callback, which also empties the input, so a typed
    secret stays neither in the browser's field nor in the session after the click.
    ``view`` must be read after the callbacks, i.e. in the page's own run.
    """
    field, outcome = f"{key}_value", f"{key}_outcome"
    ss = st.session_state

    def store(value: str, done: str) -> None:
        try:
            save(value)
        except ERRORS as exc:
            ss[outcome] = ("error", error_message(exc))
        else:
            ss[outcome] = ("success", done)

    def on_save() -> None:
        value = str(ss.get(field) or "").strip()
        ss[field] = ""
        refusal = credential_refusal(label, value)
        if refusal:
            ss[outcome] = ("error", refusal)
        elif value:
            store(value, f"{label} saved.")
        else:
            ss[outcome] = ("error", f"Enter a value to save (or use Remove to clear the {label}).")

    def on_remove() -> None:
        store("", f"{label} removed.")

    with st.container(border=True):
        st.markdown(f"**{label}** · {credential_status(view)}")
        if help:
            st.caption(help)
        with st.form(f"{key}-form", border=False):
            st.text_input(
                label,
                type="password" if secret else "default",
                key=field,
                placeholder="Paste a new value" if view.is_set else "Not set",
                autocomplete="off",
                label_visibility="collapsed",
            )
            st.form_submit_button("Save", key=f"{key}-save", on_click=boundary.guarded(on_save))
        if view.is_set:
            st.button("Remove", key=f"{key}-remove", on_click=boundary.guarded(on_remove))
        shown = ss.pop(outcome, None)
        if shown:
            (st.success if shown[0] == "success" else st.error)(shown[1])


# -- users ---------------------------------------------------------------------------


def status_of(user: UserView) -> str:
    if user.disabled:
        return "disabled"
    return "must change password" if user.must_change_password else "enabled"


def users_table(studio: Studio, users: list[UserView]) -> None:
    budget, cap = studio.limits.default_monthly_budget_usd, studio.limits.default_max_open_generations
    st.dataframe(
        {
            "Username": [u.username for u in users],
            "Role": [u.role for u in users],
            "Status": [status_of(u) for u in users],
            "Monthly budget": [
                fmt_usd(u.monthly_budget_usd) if u.monthly_budget_usd is not None else f"default ({fmt_usd(budget)})"
                for u in users
            ],
            "Open cap": [str(u.max_open_generations or f"default ({cap})") for u in users],
            "Last login": [fmt_time(u.last_login_at) if u.last_login_at else "never" for u in users],
        },
        hide_index=True,
        width="stretch",
    )


def reveal(headline: str, secret: str, note: str) -> NoReturn:
    """Keep a secret to show on the next run only (the page reruns to redraw the table)."""
    st.session_state[REVEAL] = (headline, secret, note)
    st.rerun()


def show_revealed() -> None:
    """Show the pending one-time secret, and forget it: it is never shown again."""
    pending = st.session_state.pop(REVEAL, None)
    if pending:
        headline, secret, note = pending
        with st.container(border=True):
            st.success(md(headline))
            st.code(secret, language=None)
            st.caption(note)


def new_user_form(studio: Studio, actor_id: int, *, invite: bool) -> None:
    """Create a user with a one-time password, or invite one with a one-time link."""
    prefix = "users_invite" if invite else "users_create"
    with st.form(prefix, clear_on_submit=True):
        username = st.text_input("Username", key=f"{prefix}_username", autocomplete="off")
        email = st.text_input("Email (optional)", key=f"{prefix}_email", autocomplete="off")
        role = st.selectbox("Role", ROLES[::-1], key=f"{prefix}_role")  # creator first
        submitted = st.form_submit_button("Invite user" if invite else "Create user", type="primary")
    if not submitted:
        return
    make = studio.accounts.invite_user if invite else studio.accounts.create_user
    try:
        user, secret = make(actor_id, username, str(role), email)
    except ERRORS as exc:
        show_error(exc)
        return
    if invite:
        reveal(
            f"Invited {user.role} {user.username}. Send them this one-time link:",
            secret,
            f"It works once, for {studio.settings.invite_ttl_hours} hours; they choose their own password there. "
            "It is not shown again.",
        )
    reveal(
        f"Created {user.role} {user.username}. Their initial password:",
        secret,
        "Copy it now: it is not shown again. They must change it when they first log in.",
    )


def parse_limits(budget_text: str, cap_text: str) -> tuple[Decimal | None, int | None]:
    """Read the budget (USD) and open cap typed by an admin; empty means the studio default."""
    budget_text, cap_text = budget_text.strip(), cap_text.strip()
    for text, label, field in (
        (budget_text, "Monthly budget", "monthly_budget_usd"),
        (cap_text, "Open-generation cap", "max_open_generations"),
    ):
        if len(text) > MAX_LIMIT_CHARS:
            raise ValidationError(
                f"{label} is {len(text)} characters long; the limit is {MAX_LIMIT_CHARS}.", field=field
            )
    try:
        budget = Decimal(budget_text.lstrip("$").replace(",", "")) if budget_text else None
    except InvalidOperation:
        raise ValidationError(f"Not an amount in dollars: {budget_text!r}.", field="monthly_budget_usd") from None
    try:
        cap = int(cap_text) if cap_text else None
    except ValueError:
        raise ValidationError(f"Not a whole number: {cap_text!r}.", field="max_open_generations") from None
    check_limits(budget, cap)
    return budget, cap


def user_actions(studio: Studio, actor_id: int, user: UserView) -> None:
    """Disable or re-enable, reset the password, change the role, set the budget and the open cap."""
    key = f"users_{user.id}"
    accounts = studio.accounts
    st.markdown(f"**{md(user.username)}** · {user.role} · {status_of(user)}")
    with st.container(horizontal=True, gap="small"):
        if st.button("Re-enable" if user.disabled else "Disable", key=f"{key}-disable"):
            act(
                lambda: accounts.set_disabled(actor_id, user.id, not user.disabled),
                f"{md(user.username)} {'re-enabled' if user.disabled else 'disabled; their sessions have ended'}.",
            )
        if st.button("Reset password", key=f"{key}-reset"):
            try:
                _, password = accounts.reset_password(actor_id, user.id)
            except ERRORS as exc:
                show_error(exc)
            else:
                reveal(
                    f"New password for {user.username}:",
                    password,
                    "Copy it now: it is not shown again. Their sessions have ended; they must change it at login.",
                )
    left, right = st.columns(2, gap="large")
    with left, st.form(f"{key}-role-form", border=False):
        role = st.selectbox("Role", ROLES, index=ROLES.index(user.role), key=f"{key}_role")
        if st.form_submit_button("Save role"):
            act(lambda: accounts.set_role(actor_id, user.id, str(role)), f"{md(user.username)} is now {role}.")
    with right, st.form(f"{key}-limits-form", border=False):
        default_budget = fmt_usd(studio.limits.default_monthly_budget_usd)
        budget_text = st.text_input(
            "Monthly budget (USD)",
            value="" if user.monthly_budget_usd is None else f"{user.monthly_budget_usd:.2f}",
            placeholder=f"empty: the default, {default_budget}",
            key=f"{key}_budget",
        )
        cap_text = st.text_input(
            "Open-generation cap",
            value="" if user.max_open_generations is None else str(user.max_open_generations),
            placeholder=f"empty: the default, {studio.limits.default_max_open_generations}",
            key=f"{key}_cap",
        )
        if st.form_submit_button("Save limits"):
            try:
                budget, cap = parse_limits(budget_text, cap_text)
            except ValidationError as exc:
                show_error(exc)
            else:
                act(
                    lambda: accounts.set_limits(actor_id, user.id, budget, cap),
                    f"Limits of {md(user.username)} saved.",
                )


def events_table(events: list[tuple[datetime, str, str, str]]) -> None:
    """Logins, failures, locks and account changes, newest first (shown as plain text, never Markdown)."""
    if not events:
        st.caption("No account events yet.")
        return
    st.dataframe(
        {
            "Time": [fmt_time(at) for at, *_ in events],
            "User": [username for _, username, _, _ in events],
            "Kind": [kind for _, _, kind, _ in events],
            "Detail": [detail for *_, detail in events],
        },
        hide_index=True,
        width="stretch",
    )
