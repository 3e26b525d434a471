"""Submitting the Create form: its idempotency key, price, the user's budget, and a repeat's confirmation.

Imports streamlit and ``core`` only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from decimal import Decimal

import streamlit as st

from core import catalog
from core.catalog import Offer
from core.errors import BudgetError, ConfirmationRequired, ValidationError
from core.services.budgets import BudgetView
from core.services.generations import GenerationForm
from core.studio import Studio
from pages._ui import state
from pages._ui.widgets import fmt_usd, md, price_line, show_error

# A ValidationError about one of these fields, with nothing given for it, is a step still to
# take, not a mistake: the page says what to add and still shows the price.
_INPUT_ROLES = {"first_frame": "first_frame", "last_frame": "last_frame", "reference_images": "reference"}


@dataclass(frozen=True)
class PendingRepeat:
    """A paid request refused as a repeat, waiting for "Pay for another one"."""

    form: GenerationForm
    existing_id: str
    message: str


def keyed(form: GenerationForm) -> GenerationForm:
    """Give ``form`` the request's idempotency key: kept while the settings stay, new after a change.

    Clicking again with the same settings returns the same generation; any change after a
    successful submit makes a new request with a new key.
    """
    ss = st.session_state
    submitted: GenerationForm | None = ss.get(state.SUBMITTED_FORM)
    if state.FORM_KEY not in ss or (submitted is not None and replace(submitted, idempotency_key="") != form):
        ss[state.FORM_KEY] = uuid.uuid4().hex
        ss.pop(state.SUBMITTED_FORM, None)
    return replace(form, idempotency_key=ss[state.FORM_KEY])


def _missing_input(exc: ValidationError, form: GenerationForm) -> bool:
    role = _INPUT_ROLES.get(exc.field or "")
    return role is not None and form.count(role) == 0


def price(studio: Studio, offer: Offer, form: GenerationForm) -> Decimal | None:
    """Show the request's price (or what is wrong with it); return the price when known."""
    spec = offer.spec
    try:
        amount = studio.generations.quote(form, surface=offer.surface)
    except ValidationError as exc:
        if not _missing_input(exc, form):
            show_error(exc)
            return None
        # The model's rules passed; only an image is still to come, which does not change the price.
        amount = catalog.price_usd(form.params, spec=spec)
        st.caption(md(str(exc)))
    st.markdown(f"**{price_line(amount)}**")
    return amount


def budget_line(budget: BudgetView) -> str:
    """Return the user's month in one line: money left and open generations."""
    return (
        f"Budget for {budget.period}: {fmt_usd(budget.remaining_usd)} of {fmt_usd(budget.budget_usd)} left · "
        f"{budget.open_generations} of {budget.max_open_generations} open generations"
    )


def budget_panel(studio: Studio, user_id: int, amount: Decimal | None) -> None:
    """The budget line, and a warning when this request would be refused for money or the cap."""
    budget = studio.generations.budget(user_id)
    st.caption(md(budget_line(budget)))
    if amount is not None and amount > budget.remaining_usd:
        st.warning(
            md(
                f"This request costs {fmt_usd(amount)}, more than the {fmt_usd(budget.remaining_usd)} left in "
                f"your budget for {budget.period}, so it would be refused. Ask an administrator to raise your budget."
            )
        )
    if budget.open_generations >= budget.max_open_generations:
        st.warning(
            f"You have {budget.open_generations} unfinished generations, the most you may have at once. "
            "Wait for some to finish or cancel queued ones."
        )


def submit(studio: Studio, user_id: int, form: GenerationForm) -> None:
    """Submit ``form``; follow the generation it made, or say why nothing was made."""
    ss = st.session_state
    try:
        view, created = studio.generations.submit(user_id, form)
    except ValidationError as exc:
        show_error(exc)
    except BudgetError as exc:
        show_error(exc)
    except ConfirmationRequired as exc:
        ss[state.PENDING_REPEAT] = PendingRepeat(replace(form, confirm_repeat=False), exc.existing_id, str(exc))
    else:
        ss.pop(state.PENDING_REPEAT, None)
        ss[state.SUBMITTED_FORM] = replace(form, confirm_repeat=False)
        ss[state.LAST_GENERATION] = view.id
        if created:
            st.success("Submitted. It renders in the background; you can leave this page.")
        else:
            st.info("You already submitted this exact request, so here it is again; nothing new was created.")


def repeat_confirmation(studio: Studio, user_id: int, form: GenerationForm) -> None:
    """After a refused repeat: say so, link the earlier generation, and offer to pay for another one.

    The refused attempt created nothing, so the confirmed one keeps the same idempotency key.
    """
    ss = st.session_state
    pending: PendingRepeat | None = ss.get(state.PENDING_REPEAT)
    if pending is None:
        return
    if pending.form != form:  # the settings changed: it is a different request now
        ss.pop(state.PENDING_REPEAT, None)
        return
    slot = st.empty()
    with slot.container():
        st.warning(md(pending.message))
        with st.container(horizontal=True, vertical_alignment="center"):
            st.page_link(
                state.DETAIL_PAGE,
                label="Open the earlier generation",
                icon=":material/open_in_new:",
                query_params={"id": pending.existing_id},
            )
            confirmed = st.button("Pay for another one", key="create_pay_again", type="primary")
    if confirmed:
        slot.empty()
        ss.pop(state.PENDING_REPEAT, None)
        submit(studio, user_id, replace(form, confirm_repeat=True))
