"""Outgoing webhooks on the Account page: register a URL (its signing secret shown once), pause, resume or
delete it, read the delivery log and replay a delivery.

The rules (which URLs, how many, who may see and replay what) are checked by ``studio.outgoing``.
Imports streamlit and ``core`` only.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core.errors import NotFoundError, TransitionError, ValidationError
from core.services.outgoing import EVENT_TYPES, MAX_DESCRIPTION_CHARS, DeliveryView, EndpointView
from core.services.webhook_targets import MAX_URL_CHARS
from core.studio import Studio
from pages._ui import state, widgets
from pages._ui.state import CurrentUser
from pages._ui.widgets import fmt_time, md, show_error

REVEAL = "account_webhook_reveal"
"""Session key of an endpoint just registered: ``(url, secret)``, shown on the next run only."""

LOG_SIZE = 20
"""Deliveries the log shows, newest first."""

ERRORS = (ValidationError, NotFoundError, TransitionError)

STATUS_ICONS = {"pending": ":material/schedule:", "delivered": ":material/check_circle:", "failed": ":material/error:"}


def show_new_secret() -> None:
    """Show the signing secret of the endpoint just registered, once."""
    widgets.show_secret_once(
        REVEAL,
        lambda url: f"Webhook {url} registered. Copy its signing secret now: it is not shown again.",
        "Verify each delivery's `webhook-signature` with it (any Standard Webhooks library).",
    )


def new_endpoint_form(studio: Studio, user: CurrentUser) -> None:
    """URL and description of a new endpoint; on success its secret is shown once."""
    with st.form("account_webhook_new", clear_on_submit=True):
        url = st.text_input(
            "URL", max_chars=MAX_URL_CHARS, placeholder="https://ci.example.com/hooks/veogen", key="account_webhook_url"
        )
        description = st.text_input("Description", max_chars=MAX_DESCRIPTION_CHARS, key="account_webhook_description")
        add = st.form_submit_button("Add webhook", type="primary")
    if add:
        try:
            view, secret = studio.outgoing.create(user.id, url, description)
        except ERRORS as exc:
            show_error(exc)
        else:
            st.session_state[REVEAL] = (view.url, secret)
            st.rerun()


def _act(action: Callable[[], object], done: str) -> None:
    """Run a button's action; on success flash ``done`` and rerun, else show why not."""
    try:
        action()
    except ERRORS as exc:
        show_error(exc)
    else:
        state.flash(md(done))
        st.rerun()


def endpoints_list(studio: Studio, user: CurrentUser, endpoints: list[EndpointView]) -> None:
    """Each endpoint with its state, and Pause/Resume and Delete buttons."""
    if not endpoints:
        st.caption("No webhooks.")
    for endpoint in endpoints:
        with st.container(border=True, horizontal=True, vertical_alignment="center"):
            note = f" · {md(endpoint.description)}" if endpoint.description else ""
            paused = "" if endpoint.active else " · **paused**"
            st.markdown(f"`{md(endpoint.url)}`{note}{paused}  \nadded {fmt_time(endpoint.created_at)}")
            label = "Pause" if endpoint.active else "Resume"
            if st.button(label, key=f"account_webhook_toggle_{endpoint.id}"):
                _act(
                    lambda e=endpoint: studio.outgoing.set_active(user.id, e.id, not e.active),
                    f"Webhook {endpoint.url} {'paused' if endpoint.active else 'resumed'}.",
                )
            if st.button("Delete", key=f"account_webhook_delete_{endpoint.id}"):
                _act(lambda e=endpoint: studio.outgoing.delete(user.id, e.id), f"Webhook {endpoint.url} deleted.")


def delivery_log(studio: Studio, user: CurrentUser, deliveries: list[DeliveryView]) -> None:
    """The latest deliveries: event, endpoint, status, attempts and last answer; Replay once finished."""
    if not deliveries:
        st.caption("Nothing delivered yet.")
    for delivery in deliveries:
        with st.container(border=True, horizontal=True, vertical_alignment="center"):
            answer = delivery.last_error or (f"HTTP {delivery.last_status_code}" if delivery.last_status_code else "")
            upcoming = f" · next try {fmt_time(delivery.next_attempt_at)}" if delivery.next_attempt_at else ""
            st.markdown(
                f"{STATUS_ICONS.get(delivery.status, '')} **{delivery.event_type}** → `{md(delivery.url)}` · "
                f"{delivery.status} after {delivery.attempts} attempt(s){upcoming}  \n"
                f"`{delivery.event_id}` · {fmt_time(delivery.created_at)}{' · ' + md(answer) if answer else ''}"
            )
            if delivery.status != "pending" and st.button("Replay", key=f"account_webhook_replay_{delivery.id}"):
                _act(
                    lambda d=delivery: studio.outgoing.replay(user.id, d.id),
                    f"{delivery.event_type} queued again for {delivery.url}.",
                )


def account_section(studio: Studio, user: CurrentUser) -> None:
    """The Account page's webhooks: register one, list yours, the delivery log."""
    st.caption(
        "VeoGen POSTs a signed event to each of your webhooks when one of your generations ends or a film is "
        f"assembled ({', '.join(EVENT_TYPES)}), and tries again with growing waits if it does not answer 2xx."
    )
    show_new_secret()
    new_endpoint_form(studio, user)
    endpoints_list(studio, user, studio.outgoing.list_endpoints(user.id))
    with st.expander("Delivery log"):
        delivery_log(studio, user, studio.outgoing.deliveries(user.id, limit=LOG_SIZE))
