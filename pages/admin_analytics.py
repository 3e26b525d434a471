"""Analytics (admins only): generations per day by status, outcome rates, time in queue and at the provider,
spend per day, user and model, and each user's budget burn-down, over a date range (default: the last 30 days).

A thin page: the guard first, then the range and month widgets, one call to
``studio.analytics.report`` (which refuses non-admins again), and the sections
drawn by ``pages/_ui/analytics_widgets.py``, each with a CSV of its aggregates.
Imports only streamlit, ``core`` and ``pages._ui``.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from core.errors import ValidationError
from core.services.analytics import DateRange
from pages._ui import analytics_widgets, guards, state
from pages._ui.widgets import show_error

admin = guards.require_admin()
studio = state.get_studio()

st.title("Analytics")
st.caption("From the whole history, days in UTC. Every figure can be downloaded as CSV under its chart.")

default = studio.analytics.default_range()
left, right = st.columns([2, 1])
with left:
    picked = st.date_input(
        "Dates (UTC)",
        value=(default.start, default.end),
        max_value=default.end,
        key="analytics_dates",
        help="The last 30 days unless you choose others.",
    )
days = [d for d in (picked if isinstance(picked, tuple) else (picked,)) if isinstance(d, date)]
if len(days) != 2:
    st.info("Choose the last day of the range as well.")
    st.stop()
try:
    span = DateRange(days[0], days[1])
except ValidationError as exc:
    show_error(exc)
    st.stop()
with right:
    period = st.selectbox("Budget month", span.periods, key="analytics_period", help="A month of the range.")

with st.spinner("Adding up the history…"):
    report = guards.admin_read(admin, lambda actor: studio.analytics.report(actor, span, str(period)))

if report.is_empty:
    st.info(f"Nothing happened from {span.start} to {span.end}: no generation was created and no cost settled.")
else:
    analytics_widgets.generations_section(report)
    analytics_widgets.timings_section(report)
    analytics_widgets.spend_section(report)
analytics_widgets.films_line(report.films)
analytics_widgets.budgets_section(report.budgets)
