"""Queue (admins): is it healthy, what is stuck, what failed — and cancel or retry through the owner's path.

A thin page: the guard first, then ``studio.queue_admin`` (which checks the role
again) and the widgets in ``pages/_ui/queue_widgets.py``. The header refreshes
itself every few seconds. The last section is Google's webhook, read through
``studio.webhooks`` (no Google call). Imports only streamlit, ``core`` and ``pages._ui``.
"""

from __future__ import annotations

import streamlit as st

from pages._ui import boundary, guards, queue_widgets, state

REFRESH_SECONDS = 5
"""How often the health header re-reads the queue, in seconds."""

admin = guards.require_admin()
studio = state.get_studio()

snap = guards.admin_read(admin, studio.queue_admin.snapshot)

st.title("Queue")
state.show_flash()


@boundary.fragment(run_every=REFRESH_SECONDS)
def live_header() -> None:
    queue_widgets.header(guards.admin_read(admin, studio.queue_admin.snapshot))


live_header()

st.subheader("Stuck", anchor=False)
st.caption(
    f"In flight and untouched for {studio.settings.stuck_after_seconds} s, or without a live job past "
    f"{studio.settings.stale_after_seconds:.0f} s. The reconciler re-enqueues a lost poll by itself and fails "
    f"generations past the {studio.settings.operation_deadline_seconds // 60}-minute deadline; one that stays here "
    "points at a dead scheduler or an unreachable provider."
)
queue_widgets.operations_table(snap.stuck, snap.no_live_job)

st.subheader("Unfinished", anchor=False)
st.caption("Longest-running first; age is since submit (since creation while queued), idle since the last change.")
queue_widgets.operations_table(snap.unfinished, snap.no_live_job)

left, right = st.columns(2, gap="large")
with left:
    st.subheader("Cancel", anchor=False)
    st.caption("Only a queued generation can be canceled: once at the provider it is being paid for.")
    queue_widgets.cancel_form(studio, admin.id, [r for r in snap.unfinished if r.status == "queued"])
with right:
    st.subheader("Retry", anchor=False)
    st.caption(
        "A retry is a new generation of the same owner, checked and priced like theirs; retrying the same one "
        "twice gives the first retry back. A submission whose answer was lost is never retried here."
    )
    queue_widgets.retry_form(studio, admin.id, snap.failures)

st.subheader("Recent failures", anchor=False)
queue_widgets.failures_table(snap.failures)

st.subheader("RQ", anchor=False)
st.caption(
    "Jobs carry only a generation id and its fencing token; requeueing one from rq-dashboard (`veogen dashboard`) "
    "never submits to the provider again. Newest failed jobs:"
)
st.code("\n".join(snap.failed_jobs) if snap.failed_jobs else "none", language=None)

st.subheader("Webhooks", anchor=False)
queue_widgets.webhook_panel(
    guards.admin_read(admin, studio.webhooks.overview),
    safety_poll_seconds=studio.settings.webhook_safety_poll_seconds,
)
