"""RQ job functions. Each takes only ids, runs one short step, and is safe to run twice.

Enqueued by dotted path (``core.queue.POLL_JOB``, ``core.webhooks.EVENT_JOB``,
``core.outgoing.DELIVER_JOB``), so the web process never imports this module. Submitting is not a
worker job: the scheduler's admission pass does it (core.admission).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from core import metrics
from core.errors import TransitionError
from core.queue import POLL_JOB
from workers.context import get_movies, get_pipeline, get_studio

log = logging.getLogger(__name__)


def _run(step: str, generation_id: str, seq: int, action: Callable[[str, int], None]) -> None:
    job = step.rsplit(".", 1)[-1]
    started = time.perf_counter()
    outcome = "ok"
    try:
        action(generation_id, seq)
    except TransitionError as exc:
        # Another job moved the row first; that job carries on, this one stops.
        log.info("generation %s: %s", generation_id, exc)
    except Exception as exc:
        outcome = "crashed"
        log.exception("generation %s: %s crashed", generation_id, step, extra={"generation_id": generation_id})
        get_pipeline().on_crash(generation_id, seq, step, exc)
    finally:
        metrics.JOBS.labels(job, outcome).inc()
        metrics.JOB_SECONDS.labels(job).observe(time.perf_counter() - started)


def poll_generation(generation_id: str, seq: int) -> None:
    """Poll the provider once; fetch and process the videos when they are ready."""
    _run(POLL_JOB, generation_id, seq, get_pipeline().poll)


def handle_webhook_event(provider_id: str) -> None:
    """A verified webhook said a provider job finished: poll its generation at once (other ids change nothing)."""
    started = time.perf_counter()
    outcome = "ok"
    try:
        found = get_pipeline().poll_now(provider_id)
        log.info("webhook event for %s: %s", provider_id[:120], f"generation {found}" if found else "not ours")
    except Exception:
        outcome = "crashed"  # the regular poll still finds it; the event only made it sooner
        log.exception("webhook event for %s crashed", provider_id[:120])
    finally:
        metrics.JOBS.labels("handle_webhook_event", outcome).inc()
        metrics.JOB_SECONDS.labels("handle_webhook_event").observe(time.perf_counter() - started)


def assemble_movie(movie_id: str, seq: int) -> None:
    """Join a film's chosen takes into one video (stale jobs do nothing; a failure is recorded on the film)."""
    started = time.perf_counter()
    outcome = "ok"
    try:
        get_movies().run_assembly(movie_id, seq)
    except Exception:
        outcome = "crashed"
        log.exception("movie %s: assembly crashed", movie_id)
        get_movies().finish_assembly(
            movie_id, seq, None, "The film could not be assembled (an unexpected error); try again."
        )
    finally:
        metrics.JOBS.labels("assemble_movie", outcome).inc()
        metrics.JOB_SECONDS.labels("assemble_movie").observe(time.perf_counter() - started)


def deliver_webhook(delivery_id: int) -> None:
    """Make one attempt of an outgoing webhook delivery; a failed attempt queues the next one after its backoff."""
    started = time.perf_counter()
    outcome = "ok"
    try:
        result = get_studio().outgoing.deliver(delivery_id)
        log.info("webhook delivery %s: %s", delivery_id, result)
    except Exception:
        outcome = "crashed"  # the delivery stays pending; the scheduler's sweep queues it again after its lease
        log.exception("webhook delivery %s crashed", delivery_id)
    finally:
        metrics.JOBS.labels("deliver_webhook", outcome).inc()
        metrics.JOB_SECONDS.labels("deliver_webhook").observe(time.perf_counter() - started)
