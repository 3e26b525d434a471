"""Generation statuses and the one table of allowed transitions.

Imports nothing but the standard library.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Where a generation is in its life (see ARCHITECTURE.md, "A generation's life")."""

    QUEUED = "queued"
    SUBMITTING = "submitting"
    RUNNING = "running"
    FETCHING = "fetching"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FILTERED = "filtered"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        return self in FINAL

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]


FINAL = frozenset({Status.SUCCEEDED, Status.FILTERED, Status.FAILED, Status.CANCELED})

UNFINISHED = tuple(s.value for s in Status if s not in FINAL)
"""Values of the statuses still in progress. Queries say ``status IN UNFINISHED`` rather than
``NOT IN FINAL``: the status index then reads the few open rows instead of a long history."""

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.QUEUED: frozenset({Status.SUBMITTING, Status.CANCELED, Status.FAILED}),
    Status.SUBMITTING: frozenset({Status.RUNNING, Status.FAILED, Status.QUEUED}),
    Status.RUNNING: frozenset({Status.FETCHING, Status.FILTERED, Status.FAILED}),
    Status.FETCHING: frozenset({Status.PROCESSING, Status.FAILED}),
    Status.PROCESSING: frozenset({Status.SUCCEEDED, Status.FAILED}),
    Status.SUCCEEDED: frozenset(),
    Status.FILTERED: frozenset(),
    Status.FAILED: frozenset(),
    Status.CANCELED: frozenset(),
}
"""Allowed status changes. ``submitting → queued`` hands a submit back after a transient error."""

STAGE_LABELS: dict[Status, str] = {
    Status.QUEUED: "Waiting for a worker",
    Status.SUBMITTING: "Sending to the provider",
    Status.RUNNING: "Rendering at the provider",
    Status.FETCHING: "Downloading the video",
    Status.PROCESSING: "Making thumbnails",
    Status.SUCCEEDED: "Done",
    Status.FILTERED: "Blocked by the safety filter",
    Status.FAILED: "Failed",
    Status.CANCELED: "Canceled",
}


def can_transition(current: Status, new: Status) -> bool:
    """Return whether ``current → new`` is in the table."""
    return new in TRANSITIONS[current]
