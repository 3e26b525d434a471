"""The Queue page's pieces: the health header, the tables, and cancel/retry through the owner's path.

Imports streamlit and ``core`` only. Usernames and provider messages are shown
in dataframes (never interpreted as Markdown) or escaped first.
"""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from core.errors import VeoGenError
from core.queue_admin import QueueSnapshot
from core.services.health import FailureRow, UnfinishedRow
from core.services.webhooks import WebhookOverview
from core.studio import Studio
from pages._ui import state
from pages._ui.widgets import error_message, fmt_time, fmt_usd, md

SELECTED_CANCEL = "veogen_queue_cancel"
"""Session key of the queued generation picked for Cancel on the Queue page."""

SELECTED_RETRY = "veogen_queue_retry"
"""Session key of the failed generation picked for Retry on the Queue page."""


def fmt_age(seconds: float) -> str:
    """A duration the way an operator reads it: 45 s, 12 min, 3.5 h, 2.0 d."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def header(snap: QueueSnapshot) -> None:
    """Is it healthy: workers, scheduler, queue, in flight, oldest, stuck, last hour, money."""
    h = snap.health
    if snap.redis_error:
        st.error(md(snap.redis_error) + " — queue numbers below come from the database only.")
    elif snap.workers_alive == 0:
        st.error("No worker is alive: nothing will be polled, fetched or processed until one starts.")
    if not snap.redis_error and not snap.scheduler_leading:
        st.error("No scheduler holds the lead: nothing is admitted, and no delayed poll moves.")
    if snap.stuck:
        st.warning(f"{len(snap.stuck)} generation(s) look stuck; see below.")
    row = st.columns(6)
    row[0].metric("Workers alive", snap.workers_alive if not snap.redis_error else "?")
    row[1].metric("Scheduler", "leading" if snap.scheduler_leading else "none")
    row[2].metric("Queued", h.by_status.get("queued", 0), help="Waiting for admission (database).")
    row[3].metric("In flight", sum(h.in_flight.values()), help="Submitting, running, fetching or processing.")
    oldest = max(h.oldest_in_flight_seconds.values(), default=0.0)
    row[4].metric("Oldest in flight", fmt_age(oldest) if oldest else "—", help="Since it was submitted.")
    row[5].metric("Stuck", len(snap.stuck))
    row = st.columns(6)
    jobs = snap.jobs
    row[0].metric("RQ jobs waiting", jobs.get("queued", "?"), help="Jobs in the RQ list (polls due now).")
    row[1].metric("RQ delayed", jobs.get("scheduled", "?"), help="Polls scheduled for later.")
    row[2].metric("RQ failed", jobs.get("failed", "?"), help="Jobs RQ failed (kept a week).")
    finished = h.finished_last_hour
    done = sum(finished.values())
    row[3].metric(
        "Last hour", f"{finished.get('succeeded', 0)} ok / {done}", help="Succeeded of all finished, last hour."
    )
    row[4].metric("Spend today", fmt_usd(h.spend_today_usd), help="Settled since 00:00 UTC.")
    row[5].metric(
        "This month",
        fmt_usd(h.spend_month_usd),
        help=f"Committed (reserved + settled) of {fmt_usd(h.budget_month_usd)} in budgets.",
    )
    st.caption(
        f"Read at {fmt_time(snap.read_at)}. Reserved for unfinished generations: {fmt_usd(h.reserved_usd)}. "
        f"Highest budget use: {h.budget_max_used_ratio:.0%}; users at or over budget: {h.users_over.get('1', 0)}."
    )


WEBHOOK_OFF_STATES = ("disabled", "disabled_due_to_failed_deliveries", "missing")
"""Webhook states that need an operator (the VeoGenWebhookDisabled alert fires on them)."""


def webhook_panel(o: WebhookOverview, *, safety_poll_seconds: float) -> None:
    """Google's completion events: the webhook's state, the receiver, the last delivery and the counts."""
    if o.error:
        st.warning("The last webhook check failed: " + md(o.error))
    if not o.registered:
        st.caption(
            "Not registered: finished videos are found by polling alone. With a public HTTPS address, "
            "registering it makes them arrive sooner (Gemini API only):"
        )
        st.code("veogen webhooks register --url https://<your host>/webhooks/google", language="bash")
    elif o.state in WEBHOOK_OFF_STATES:
        st.error(
            f"Google reports the webhook as {o.state}: polling alone finds finished videos. Check the receiver "
            "and its public address, then run `veogen webhooks register --url …` again."
        )
    row = st.columns(4)
    row[0].metric("State", o.state.replace("_", " "), help="Google's answer when the scheduler last asked.")
    row[1].metric(
        "Polling",
        f"every {safety_poll_seconds:.0f} s" if o.healthy else "normal",
        help="While webhooks are healthy polls slow down (never stop); otherwise they keep their normal pace.",
    )
    row[2].metric("Receiver", "running" if o.receiver_alive else "not running")
    row[3].metric("Last event", fmt_time(o.last_event_at), help="The last delivery of any outcome.")
    st.dataframe([o.events], hide_index=True, width="stretch")
    if o.registered:
        st.caption(
            f"Webhook {md(o.webhook_id)} delivers to {md(o.uri)}; state read at {fmt_time(o.checked_at)}; last "
            f"accepted event {fmt_time(o.last_accepted_at)}. Forged, stale and malformed deliveries change nothing."
        )


def operations_table(rows: Iterable[UnfinishedRow], no_live_job: set[str]) -> None:
    data = [
        {
            "generation": r.id,
            "user": r.username,
            "model": r.model,
            "status": r.status,
            "age": fmt_age(r.age_seconds),
            "idle": fmt_age(r.idle_seconds),
            "polls": r.poll_count,
            "retries": r.retry_count,
            "live job": "no" if r.id in no_live_job else "yes" if r.status != "queued" else "—",
        }
        for r in rows
    ]
    if not data:
        st.caption("None.")
        return
    st.dataframe(data, hide_index=True, width="stretch")


def failures_table(rows: list[FailureRow]) -> None:
    if not rows:
        st.caption("No failed or filtered generations.")
        return
    st.dataframe(
        [
            {
                "finished": fmt_time(r.finished_at),
                "generation": r.id,
                "user": r.username,
                "model": r.model,
                "status": r.status,
                "code": r.error_code,
                "message": r.message,
            }
            for r in rows
        ],
        hide_index=True,
        width="stretch",
    )


def _pick(label: str, choices: dict[str, str], key: str) -> str | None:
    """A selectbox of generation ids shown by their descriptions."""
    return st.selectbox(label, list(choices), format_func=lambda gid: choices[gid], key=key)


def cancel_form(studio: Studio, admin_id: int, queued: list[UnfinishedRow]) -> None:
    """Cancel a queued generation: the owner's Cancel, on their behalf (reservation released)."""
    if not queued:
        st.caption("Nothing is queued.")
        return
    chosen = _pick(
        "Queued generation", {r.id: f"{r.id[:8]} · {r.username} · {r.model}" for r in queued}, SELECTED_CANCEL
    )
    if chosen and st.button("Cancel it", key="queue-cancel", icon=":material/block:"):
        try:
            studio.queue_admin.cancel(admin_id, chosen)
        except VeoGenError as exc:
            state.flash(error_message(exc), "error")
        else:
            state.flash("Canceled; its reservation was released.")
        st.rerun()


def retry_form(studio: Studio, admin_id: int, failures: list[FailureRow]) -> None:
    """Retry a failed one as a new generation of its owner (their budget, a new reservation)."""
    if not failures:
        st.caption("Nothing to retry.")
        return
    choices = {r.id: f"{r.id[:8]} · {r.username} · {r.error_code or r.status}" for r in failures}
    chosen = _pick("Failed or filtered generation", choices, SELECTED_RETRY)
    if chosen and st.button("Retry it", key="queue-retry", icon=":material/replay:"):
        try:
            new, created = studio.queue_admin.retry(admin_id, chosen)
        except VeoGenError as exc:
            state.flash(error_message(exc), "error")
        else:
            state.flash(
                f"Retrying as generation {new.id[:8]} for its owner ({fmt_usd(new.price_usd)} reserved)."
                if created
                else f"Already retried as generation {new.id[:8]}."
            )
        st.rerun()
