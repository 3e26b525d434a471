"""Widgets of the Analytics page: the report's aggregates as tables (for display and CSV) and Plotly figures.

Every figure and table is built from a ``core.services.analytics.Report``; nothing
here queries anything. Each section says plainly when its part of the history is
empty, and offers its aggregates as a CSV (exact amounts, model ids as stored).
Imports streamlit, pandas, plotly and ``core`` only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.colors import qualitative

from core import catalog
from core.errors import ValidationError
from core.services.analytics import PERCENTILES, BudgetReport, DateRange, FilmCounts, Report, outcomes_of
from core.status import Status
from pages._ui.widgets import fmt_usd

STATUS_COLOURS: dict[str, str] = {
    Status.SUCCEEDED: "#2e9e5b",
    Status.FILTERED: "#f0a030",
    Status.FAILED: "#d64545",
    Status.CANCELED: "#9aa0a6",
    Status.QUEUED: "#c7c9cc",
    Status.SUBMITTING: "#6fa8dc",
    Status.RUNNING: "#3d85c6",
    Status.FETCHING: "#674ea7",
    Status.PROCESSING: "#8e7cc3",
}
"""Bar colour of each status in the generations chart."""

LABELS: dict[str, str] = {
    "model": "Model",
    "stage": "Stage",
    "user": "User",
    "generations": "Generations",
    "succeeded": "Succeeded",
    "filtered": "Filtered",
    "failed": "Failed",
    "canceled": "Canceled",
    "open": "Open",
    "success_rate_pct": "Success rate",
    "filtered_rate_pct": "Filtered rate",
    "failure_rate_pct": "Failure rate",
    "p50_seconds": "p50 (s)",
    "p95_seconds": "p95 (s)",
    "spend_usd": "Spend",
    "settled": "Settled",
    "budget_usd": "Budget",
    "default_budget": "Default budget",
    "committed_usd": "Committed",
    "remaining_usd": "Remaining",
    "used_pct": "Used",
    "disabled": "Disabled",
}
"""Column headings of the tables shown (the CSV files keep the column names)."""

BURN_DEFAULT_USERS = 5
"""Users drawn in the burn-down at first: those who used the largest share of their budget."""


def model_label(model_id: str) -> str:
    """The catalog's name of a model, or its id when the catalog no longer has it."""
    try:
        return catalog.get_model(model_id).label
    except ValidationError:
        return model_id


def pct(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


# -- the aggregates as tables -----------------------------------------------------------------------


def generations_frame(report: Report) -> pd.DataFrame:
    rows = [(c.day, c.model, c.status, c.count) for c in report.counts]
    return pd.DataFrame(rows, columns=["day", "model", "status", "generations"])


def rates_frame(report: Report) -> pd.DataFrame:
    """Per model, then all models: counts of each ending and the rates (percent of those that ended)."""
    rows = []
    for model in [*sorted({c.model for c in report.counts}), None]:
        o = outcomes_of(report.counts, model)
        rows.append(
            {
                "model": model or "all models",
                "generations": o.total,
                "succeeded": o.succeeded,
                "filtered": o.filtered,
                "failed": o.failed,
                "canceled": o.canceled,
                "open": o.total - o.ended - o.canceled,
                "success_rate_pct": pct(o.rate(o.succeeded)),
                "filtered_rate_pct": pct(o.rate(o.filtered)),
                "failure_rate_pct": pct(o.rate(o.failed)),
            }
        )
    return pd.DataFrame(rows)


def timings_frame(report: Report) -> pd.DataFrame:
    rows = [(t.model, t.stage, t.count, round(t.p50_seconds, 2), round(t.p95_seconds, 2)) for t in report.timings]
    return pd.DataFrame(rows, columns=["model", "stage", "generations", "p50_seconds", "p95_seconds"])


def daily_spend_frame(report: Report) -> pd.DataFrame:
    rows = [(s.day, s.model, s.usd, s.settled) for s in report.daily_spend]
    return pd.DataFrame(rows, columns=["day", "model", "spend_usd", "settled"])


def user_spend_frame(report: Report) -> pd.DataFrame:
    rows = [(s.username, s.usd, s.settled) for s in report.user_spend]
    return pd.DataFrame(rows, columns=["user", "spend_usd", "settled"])


def budgets_frame(budgets: BudgetReport) -> pd.DataFrame:
    rows = [
        {
            "user": u.username,
            "budget_usd": u.budget_usd,
            "default_budget": u.uses_default,
            "committed_usd": u.committed_usd,
            "remaining_usd": u.remaining_usd,
            "used_pct": None if u.percent_used is None else round(u.percent_used, 1),
            "disabled": u.disabled,
        }
        for u in budgets.users
    ]
    return pd.DataFrame(
        rows, columns=["user", "budget_usd", "default_budget", "committed_usd", "remaining_usd", "used_pct", "disabled"]
    )


def burn_frame(budgets: BudgetReport) -> pd.DataFrame:
    names = {u.user_id: u.username for u in budgets.users}
    rows = [(p.day, names.get(p.user_id, f"user {p.user_id}"), p.committed_usd) for p in budgets.burn]
    return pd.DataFrame(rows, columns=["day", "user", "committed_usd"])


def download(frame: pd.DataFrame, name: str, span: DateRange | str) -> None:
    """Offer ``frame`` as a CSV file named after what it holds and the range it covers."""
    suffix = span if isinstance(span, str) else f"{span.start}_{span.end}"
    st.download_button(
        "Download CSV",
        frame.to_csv(index=False).encode(),
        file_name=f"veogen-{name}-{suffix}.csv",
        mime="text/csv",
        key=f"analytics_csv_{name}",
        icon=":material/download:",
        on_click="ignore",
    )


def table(frame: pd.DataFrame) -> None:
    """Show an aggregate table with headings, dollars and percentages; model ids by their names."""
    config: dict[str, object] = {}
    for column in frame.columns:
        fmt = "$%.2f" if column.endswith("_usd") else "%.1f%%" if column.endswith("_pct") else None
        label = LABELS.get(column, column)
        config[column] = st.column_config.NumberColumn(label, format=fmt) if fmt else st.column_config.Column(label)
    shown = frame.assign(**{c: frame[c].astype(float) for c in frame.columns if c.endswith("_usd")})
    if "model" in shown.columns:
        shown["model"] = [model_label(m) for m in shown["model"]]
    st.dataframe(shown, hide_index=True, column_config=config)


def chart(figure: go.Figure, key: str) -> None:
    figure.update_layout(
        margin={"l": 10, "r": 10, "t": 40, "b": 10}, legend={"orientation": "h", "traceorder": "normal"}
    )
    st.plotly_chart(figure, key=key, config={"displaylogo": False})


# -- sections ----------------------------------------------------------------------------------------


def generations_section(report: Report) -> None:
    st.subheader("Generations", anchor=False)
    if not report.counts:
        st.info("No generations were created in this range.")
        return
    overall = outcomes_of(report.counts)
    cols = st.columns(4)
    cols[0].metric("Generations", f"{overall.total:,}")
    for col, label, count in zip(
        cols[1:],
        ("Succeeded", "Safety-filtered", "Failed"),
        (overall.succeeded, overall.filtered, overall.failed),
        strict=True,
    ):
        share = overall.rate(count)
        col.metric(label, "—" if share is None else f"{share:.1%}", help=f"{count:,} of {overall.ended:,} that ended")
    st.caption(
        f"Rates are shares of the {overall.ended:,} generations that ended (succeeded, filtered or failed); "
        f"{overall.canceled:,} canceled and {overall.total - overall.ended - overall.canceled:,} still open "
        "are counted above but not in the rates. Days are UTC days of creation."
    )
    frame = generations_frame(report)
    figure = go.Figure(layout={"barmode": "stack", "title": "Generations per day, by status"})
    for status in Status:
        part = frame[frame["status"] == status.value].groupby("day", as_index=False)["generations"].sum()
        if len(part):
            figure.add_bar(
                x=part["day"].tolist(),
                y=part["generations"].tolist(),
                name=status.label,
                marker_color=STATUS_COLOURS[status],
            )
    chart(figure, "analytics_generations_chart")
    rates = rates_frame(report)
    table(rates)
    left, right = st.columns(2)
    with left:
        download(frame, "generations-per-day", report.span)
    with right:
        download(rates, "rates-by-model", report.span)


def timings_section(report: Report) -> None:
    st.subheader("Time in queue and at the provider", anchor=False)
    if not report.timings:
        st.info("No generation in this range reached the provider.")
        return
    st.caption(
        "Queue: from the request to its submission to the provider. Provider: from submission until the provider "
        "was done. p50 and p95 of the generations created in the range, within ±2%."
    )
    frame = timings_frame(report)
    cols = st.columns(2)
    for col, stage, title in zip(cols, ("queue", "provider"), ("Time in queue", "Time at the provider"), strict=True):
        part = frame[frame["stage"] == stage]
        figure = go.Figure(layout={"barmode": "group", "title": f"{title} (seconds)"})
        for fraction, column in zip(PERCENTILES, ("p50_seconds", "p95_seconds"), strict=True):
            figure.add_bar(
                x=[model_label(m) for m in part["model"]], y=part[column].tolist(), name=f"p{round(fraction * 100)}"
            )
        with col:
            chart(figure, f"analytics_{stage}_chart")
    table(frame)
    download(frame, "times-by-model", report.span)


def spend_section(report: Report) -> None:
    st.subheader("Spend", anchor=False)
    if not report.daily_spend:
        st.info("No cost was settled in this range.")
        return
    frame = daily_spend_frame(report)
    total = sum(s.usd for s in report.daily_spend)
    st.metric("Settled", f"${total:,.2f}", help="The real cost of the generations settled in the range")
    st.caption("The real cost of each settled generation, on the UTC day it was settled; deleted generations count.")
    figure = go.Figure(layout={"barmode": "stack", "title": "Spend per day, by model (USD)"})
    for model in sorted(frame["model"].unique()):
        part = frame[frame["model"] == model]
        figure.add_bar(x=part["day"].tolist(), y=[float(v) for v in part["spend_usd"]], name=model_label(model))
    chart(figure, "analytics_spend_chart")
    users = user_spend_frame(report)
    left, right = st.columns(2)
    with left:
        by_user = go.Figure(layout={"title": "Spend per user (USD)"})
        by_user.add_bar(x=[float(v) for v in users["spend_usd"]], y=users["user"].tolist(), orientation="h")
        by_user.update_yaxes(autorange="reversed")
        chart(by_user, "analytics_user_spend_chart")
        download(users, "spend-per-user", report.span)
    with right:
        by_model = frame.groupby("model", as_index=False).agg(
            spend_usd=("spend_usd", "sum"), settled=("settled", "sum")
        )
        table(by_model.sort_values("spend_usd", ascending=False))
        download(frame, "spend-per-day", report.span)


def budgets_section(budgets: BudgetReport) -> None:
    st.subheader(f"Budgets in {budgets.period}", anchor=False)
    st.caption("Committed: open reservations plus settled costs of the month's generations (UTC).")
    frame = budgets_frame(budgets)
    table(frame.sort_values("used_pct", ascending=False))
    download(frame, "budgets", budgets.period)
    if not budgets.burn:
        st.info(f"Nobody committed any spend in {budgets.period}.")
        return
    spenders = [u for u in budgets.users if any(p.user_id == u.user_id for p in budgets.burn)]
    ranked = sorted(spenders, key=lambda u: -(u.percent_used or 0))
    chosen = st.multiselect(
        "Burn-down of",
        [u.username for u in ranked],
        default=[u.username for u in ranked[:BURN_DEFAULT_USERS]],
        key="analytics_burn_users",
    )
    chart(burn_figure(budgets, chosen), "analytics_burn_chart")
    download(burn_frame(budgets), "burn-down", budgets.period)


def burn_figure(budgets: BudgetReport, usernames: Iterable[str]) -> go.Figure:
    """Each chosen user's cumulative committed spend by day, against their budget (dashed)."""
    figure = go.Figure(layout={"title": "Committed spend against budget (USD)"})
    by_name = {u.username: u for u in budgets.users}
    half_day = timedelta(hours=12)  # the budget line spans the axis, even when the month has begun today
    axis = [datetime.combine(budgets.days[0], time()) - half_day, datetime.combine(budgets.days[-1], time()) + half_day]
    for index, name in enumerate(usernames):
        user = by_name[name]
        points = [p for p in budgets.burn if p.user_id == user.user_id]
        line = {"color": qualitative.Plotly[index % len(qualitative.Plotly)]}
        figure.add_scatter(
            x=[p.day for p in points],
            y=[float(p.committed_usd) for p in points],
            name=name,
            line=line,
            mode="lines+markers",
        )
        figure.add_scatter(
            x=axis,
            y=[float(user.budget_usd)] * 2,
            name=f"{name} budget",
            mode="lines",
            line={**line, "dash": "dash"},
        )
    ticks = max(1, len(budgets.days) // 10)  # about ten dates on the axis
    figure.update_xaxes(tickformat="%b %-d", range=axis, dtick=ticks * 86_400_000)
    return figure


def films_line(films: FilmCounts) -> None:
    """Films in the range, in one line (their takes are also counted with every generation above)."""
    if not films.created and not films.takes:
        return
    st.subheader("Films", anchor=False)
    st.markdown(
        f"{films.created} film(s) created, {films.started} started · {films.takes} shot take(s), "
        f"{films.takes_succeeded} succeeded · {fmt_usd(films.spent_usd)} spent on film shots"
    )
