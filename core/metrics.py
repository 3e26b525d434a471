"""Prometheus metrics: the definitions every long-lived process shares, and serving them.

Each process (web, scheduler, each worker, the exporter) keeps its metrics in
its own memory and serves them on its own port; nothing uses prometheus_client's
multiprocess mode (RQ forks would leave a file per PID behind, see
ARCHITECTURE.md, "Known traps"). Workers run jobs in-process, so their counters
live as long as the worker. Gauges about the studio as a whole (queue depth,
operations in flight, spend) are not here: ``core.exporter`` computes them from
the database and Redis at scrape time.

Names follow STYLE.md: ``veogen_`` prefix, unit suffixes, ``_total`` on
counters, low-cardinality labels only (never a prompt, a user or a generation id).
Imports prometheus_client only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from prometheus_client import Counter, Histogram, start_http_server

log = logging.getLogger(__name__)

WORKER_PORT_SPAN = 16
"""Workers on one host take the first free port of this many, starting at ``VEOGEN_WORKER_METRICS_PORT``."""

TRANSITIONS = Counter(
    "veogen_generation_transitions_total",
    "Committed status changes of generations, by the status reached.",
    ["provider", "status"],
)
FINISHED = Counter(
    "veogen_generations_finished_total",
    "Generations that reached a final status (succeeded, filtered, failed, canceled).",
    ["provider", "model", "status"],
)
PROVIDER_REQUESTS = Counter(
    "veogen_provider_requests_total",
    "Calls to a provider, by call (submit, poll, fetch) and outcome (ok, error).",
    ["provider", "call", "outcome"],
)
PROVIDER_ERRORS = Counter(
    "veogen_provider_errors_total",
    "Errors a provider answered, by call and the provider's code (RESOURCE_EXHAUSTED is a 429).",
    ["provider", "call", "code"],
)
MEDIA_SECONDS = Histogram(
    "veogen_media_processing_seconds",
    "Probe, thumbnail and poster of one stored video, in seconds.",
    ["provider"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
JOBS = Counter("veogen_jobs_total", "RQ jobs run by a worker, by job and outcome (ok, crashed).", ["rq_job", "outcome"])
JOB_SECONDS = Histogram(
    "veogen_job_duration_seconds",
    "Wall time of one RQ job in a worker, in seconds.",
    ["rq_job"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
SUBMISSIONS = Counter(
    "veogen_submissions_total",
    "Generation requests from the web: accepted, returned (the same idempotency key again) or refused.",
    ["provider", "outcome"],
)
LOGINS = Counter("veogen_logins_total", "Login attempts, by outcome (ok, failed, locked).", ["outcome"])
RECONCILE_REQUEUED = Counter(
    "veogen_reconcile_requeued_total", "Generations the reconciler found without a live job and enqueued again."
)
RECONCILE_EXPIRED = Counter("veogen_reconcile_expired_total", "Generations the reconciler failed past the deadline.")
ADMISSION_SUBMITS = Counter(
    "veogen_admission_submits_total", "Generations admission sent to their provider.", ["provider"]
)
WEBHOOK_EVENTS = Counter(
    "veogen_webhook_events_total",
    "Webhook deliveries the receiver judged, by outcome (accepted, duplicate, forged, stale, malformed, "
    "unknown_type, no_secret).",
    ["outcome"],
)

PROCESS_METRIC_NAMES = (
    "veogen_generation_transitions_total",
    "veogen_generations_finished_total",
    "veogen_provider_requests_total",
    "veogen_provider_errors_total",
    "veogen_media_processing_seconds",
    "veogen_jobs_total",
    "veogen_job_duration_seconds",
    "veogen_submissions_total",
    "veogen_logins_total",
    "veogen_reconcile_requeued_total",
    "veogen_reconcile_expired_total",
    "veogen_admission_submits_total",
    "veogen_webhook_events_total",
)
"""Every metric a process serves (the monitoring tests check rules and dashboards against these)."""


WEBHOOK_OUTCOMES = ("accepted", "duplicate", "forged", "stale", "malformed", "unknown_type", "no_secret")
"""Outcomes of a webhook delivery (``core.webhooks.Outcome``), so each series exists at 0 from the start."""

PROVIDERS = ("offline", "veo")
"""Provider names, so every series exists at 0 from the start (``increase()`` then sees the first one)."""


def _precreate() -> None:
    for provider in PROVIDERS:
        for call in ("submit", "poll", "fetch"):
            for outcome in ("ok", "error"):
                PROVIDER_REQUESTS.labels(provider, call, outcome)
        for call in ("submit", "poll"):
            PROVIDER_ERRORS.labels(provider, call, "RESOURCE_EXHAUSTED")
        ADMISSION_SUBMITS.labels(provider)
    for outcome in ("ok", "crashed"):
        JOBS.labels("poll_generation", outcome)
    for outcome in ("ok", "failed", "locked"):
        LOGINS.labels(outcome)
    for outcome in WEBHOOK_OUTCOMES:
        WEBHOOK_EVENTS.labels(outcome)


_precreate()


CODE_ALIASES = {"429": "RESOURCE_EXHAUSTED", "503": "UNAVAILABLE", "500": "INTERNAL", "504": "DEADLINE_EXCEEDED"}
"""HTTP statuses an error may carry instead of Google's status name; counted under the name, so one alert sees both."""


def record_provider_call(provider: str, call: str, code: str | None = None) -> None:
    """Count one provider call; ``code`` set means it failed with that code."""
    PROVIDER_REQUESTS.labels(provider, call, "error" if code else "ok").inc()
    if code:
        PROVIDER_ERRORS.labels(provider, call, CODE_ALIASES.get(code, code)).inc()


_serving: list[int] = []
"""The port this process already serves its metrics on (at most one)."""


def serve(host: str, ports: Iterable[int]) -> int | None:
    """Serve this process's metrics on the first free port of ``ports``; return it (None: off or all taken).

    A taken port is not fatal: the process works without metrics and says so.
    Calling it again in the same process returns the port already served.
    """
    if _serving:
        return _serving[0]
    ports = list(ports)
    if not ports:  # turned off (port 0): nothing to warn about
        return None
    for port in ports:
        if port <= 0:
            return None
        try:
            start_http_server(port, addr=host)
        except OSError as exc:
            log.debug("metrics port %s:%s unavailable: %s", host, port, exc)
            continue
        log.info("metrics on http://%s:%s/metrics", host, port)
        _serving.append(port)
        return port
    log.warning("no free metrics port on %s; this process serves no metrics", host)
    return None


def worker_ports(first: int) -> range:
    """The ports workers on one host try, in order (``first`` 0 means none)."""
    return range(first, first + WORKER_PORT_SPAN) if first > 0 else range(0)
