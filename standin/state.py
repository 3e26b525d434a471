"""What the stand-in remembers between requests: knobs, jobs (Veo operations and Omni interactions), generated
files and counters, behind one lock; and the timer thread that finishes jobs when their time comes.

A job finishing ("settling") fires its webhook event, whether or not anybody polls. Standard library only
(plus the sibling modules).
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import heapq
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from standin.behaviour import Behaviour, Stats, checked
from standin.deliveries import Policy, Webhooks
from standin.protocol import new_id
from standin.render import Renderer, RenderSpec

log = logging.getLogger("standin")


@dataclass(slots=True, kw_only=True)
class Job:
    """One accepted paid request; small on purpose (no image or video bytes)."""

    kind: ClassVar[str] = "job"
    id: str
    name: str
    model: str
    vertex: bool
    prompt: str
    parameters: dict[str, Any]
    """What the request asked for, as sent (minus inputs)."""
    inputs: list[dict[str, Any]]
    """Role or type, mime type and size or uri of each input; never bytes."""
    created: float
    """Unix time."""
    started: float
    """Monotonic time."""
    ready_at: float
    """Monotonic time from which the job may be done."""
    polls_needed: int
    outcome: str
    file_ids: tuple[str, ...] = ()
    pending_answers: int = 0
    settled: bool = False
    finished_at: float | None = None
    """Unix time it finished (settled), or None while it runs."""

    def is_done(self, now: float) -> bool:
        return now >= self.ready_at and self.pending_answers >= self.polls_needed

    def seconds_made(self) -> float:
        """Seconds of video a successful job made (what it would be billed for)."""
        return 0.0

    def event(self) -> tuple[str, dict[str, Any]] | None:
        """The webhook event (type, data) its settling fires, if any."""
        return None

    def render_spec(self) -> RenderSpec:
        raise NotImplementedError

    def summary(self) -> dict[str, Any]:
        keys = ("name", "model", "vertex", "prompt", "created", "outcome", "finished_at")
        return (
            {"kind": self.kind}
            | {k: getattr(self, k) for k in keys}
            | {
                "parameters": copy.deepcopy(self.parameters),
                "inputs": [dict(i) for i in self.inputs],
                "file_ids": list(self.file_ids),
                "done": self.settled,
            }
        )


@dataclass(slots=True)
class FileEntry:
    """A generated file: sample ``index`` of job ``job_id``."""

    job_id: str
    index: int
    created: float
    """Unix time."""
    reads: int = 0
    """``files.get`` reads so far (the first ``file_processing_polls`` say PROCESSING)."""


@dataclass
class _Counters:
    per_prompt: collections.Counter[str] = field(default_factory=collections.Counter)
    interactions_per_prompt: collections.Counter[str] = field(default_factory=collections.Counter)
    rejected: collections.Counter[str] = field(default_factory=collections.Counter)
    posts: collections.Counter[str] = field(default_factory=collections.Counter)
    seconds: dict[str, float] = field(default_factory=dict)
    submit_requests: int = 0
    polls: int = 0
    downloads: int = 0
    text_calls: int = 0
    interaction_gets: int = 0
    file_gets: int = 0
    peak: int = 0


class State:
    """Knobs, jobs, files and counters. Hold :attr:`lock` to read or change any of them."""

    def __init__(self, behaviour: Behaviour, renderer: Renderer, webhooks: Webhooks) -> None:
        self.lock = threading.Lock()
        self.wakeup = threading.Condition(self.lock)
        self.initial = {k: checked(k, v) for k, v in behaviour.as_dict().items()}
        self.behaviour = Behaviour(**copy.deepcopy(self.initial))
        self.renderer, self.webhooks = renderer, webhooks
        self.stopping = False
        self.clear()

    def clear(self) -> None:
        """Forget every job, file and counter (call under the lock, or before serving)."""
        self.jobs: dict[str, Job] = {}
        self.files: dict[str, FileEntry] = {}
        self.in_flight: set[str] = set()
        self.due: list[tuple[float, str]] = []  # (ready_at, job id) of jobs not yet settled
        self.recent: collections.deque[float] = collections.deque()  # Veo submit times, for rpm_limit
        self.counts = _Counters()

    # knobs

    def copy_behaviour(self) -> Behaviour:
        with self.lock:
            return copy.deepcopy(self.behaviour)

    def configure(self, changes: dict[str, Any]) -> Behaviour:
        """Change knobs by name (all or none); raise ValueError on an unknown name or bad value."""
        new = {name: checked(name, value) for name, value in changes.items()}
        with self.lock:
            self.behaviour = dataclasses.replace(self.behaviour, **new)
        return self.copy_behaviour()

    def reset(self) -> None:
        with self.lock:
            self.behaviour = Behaviour(**copy.deepcopy(self.initial))
            self.clear()
            self.wakeup.notify_all()

    # jobs (call under the lock)

    def new_id(self) -> str:
        return new_id(taken=self.jobs.keys() | self.files.keys())

    def add(self, job: Job) -> None:
        """Remember a new job, its files, and when to settle it."""
        self.jobs[job.id] = job
        for index, file_id in enumerate(job.file_ids):
            self.files[file_id] = FileEntry(job.id, index, job.created)
        self.in_flight.add(job.id)
        self.counts.peak = max(self.counts.peak, len(self.in_flight))
        heapq.heappush(self.due, (job.ready_at, job.id))
        self.wakeup.notify_all()

    def retained(self, job: Job, now: float) -> bool:
        return now - job.started <= self.behaviour.retention_seconds

    def settle(self, now: float) -> None:
        """Settle every job whose time has come and that owes no polls (the rest settle when polled)."""
        while self.due and self.due[0][0] <= now:
            job = self.jobs.get(heapq.heappop(self.due)[1])
            if job is not None and job.is_done(now):
                self.settle_job(job)

    def settle_job(self, job: Job) -> None:
        """Mark ``job`` finished (once): count its seconds and fire its webhook event."""
        if job.settled:
            return
        job.settled, job.finished_at = True, time.time()
        self.in_flight.discard(job.id)
        if job.outcome == "success":
            seconds = self.counts.seconds
            seconds[job.model] = seconds.get(job.model, 0.0) + job.seconds_made()
        event = job.event()
        if event is not None:
            self.webhooks.emit(*event, Policy.of(self.behaviour))
        log.info("finished %s (%s)", job.name, job.outcome)

    def file_job(self, file_id: str, now: float) -> tuple[Job, int, FileEntry] | None:
        """The finished, successful, retained job and sample a file id names, if any."""
        entry = self.files.get(file_id)
        job = self.jobs.get(entry.job_id) if entry is not None else None
        if entry is None or job is None or job.outcome != "success" or not job.is_done(now):
            return None
        return (job, entry.index, entry) if self.retained(job, now) else None

    # the timer

    def run_settler(self) -> None:
        """Settle jobs at their ready time until :meth:`stop_settler` (run in a thread)."""
        with self.wakeup:
            while not self.stopping:
                now = time.monotonic()
                self.settle(now)
                wait = self.due[0][0] - now if self.due else None
                self.wakeup.wait(None if wait is None else max(wait, 0.001))

    def stop_settler(self) -> None:
        with self.lock:
            self.stopping = True
            self.wakeup.notify_all()

    # counters

    def stats(self) -> Stats:
        deliveries = self.webhooks.counts()
        with self.lock:
            self.settle(time.monotonic())
            c = self.counts
            return Stats(
                submissions=sum(c.per_prompt.values()),
                submissions_per_prompt=dict(c.per_prompt),
                submit_requests=c.submit_requests,
                rejected_submits=dict(c.rejected),
                seconds_generated=dict(c.seconds),
                polls=c.polls,
                downloads=c.downloads,
                generate_content_calls=c.text_calls,
                in_flight=len(self.in_flight),
                peak_in_flight=c.peak,
                posts=dict(c.posts),
                interactions_created=sum(c.interactions_per_prompt.values()),
                interactions_per_prompt=dict(c.interactions_per_prompt),
                interaction_gets=c.interaction_gets,
                file_gets=c.file_gets,
                deliveries=deliveries,
            )
