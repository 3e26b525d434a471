"""``veogen exporter``: gauges about the whole studio, computed from the database and Redis at each scrape.

Nothing is cached between scrapes and nothing is counted in-process here: the
database is the truth, so any number of exporters (or a restarted one) report
the same values. A source that does not answer is left out of that scrape and
counted in ``veogen_exporter_scrape_errors_total{source}``, so one outage
never hides the other source's gauges. Imports prometheus_client, SQLAlchemy
(through the services) and redis; no UI and no worker code.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from core.models import utcnow
from core.queue import QUEUE_NAME
from core.services import health
from core.webhooks import STATES as WEBHOOK_STATES

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from core.studio import Studio

log = logging.getLogger("veogen.exporter")

EXPORTER_METRIC_NAMES = (
    "veogen_queue_jobs",
    "veogen_workers_alive",
    "veogen_scheduler_leader",
    "veogen_generations",
    "veogen_operations_in_flight",
    "veogen_oldest_operation_age_seconds",
    "veogen_oldest_queued_age_seconds",
    "veogen_stuck_generations",
    "veogen_generations_finished_last_hour",
    "veogen_provider_errors_last_hour",
    "veogen_spend_today_usd",
    "veogen_spend_month_usd",
    "veogen_reserved_usd",
    "veogen_budget_month_usd",
    "veogen_budget_max_used_ratio",
    "veogen_budget_users_over",
    "veogen_webhook_state",
    "veogen_exporter_scrape_errors_total",
    "veogen_exporter_scrape_duration_seconds",
)
"""Every metric the exporter serves (the monitoring tests check rules and dashboards against these)."""


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


class StudioCollector(Collector):
    """Reads the studio's state when Prometheus scrapes."""

    def __init__(self, studio: Studio, errors: Counter, duration: Gauge) -> None:
        self.studio = studio
        self.errors = errors
        self.duration = duration

    def describe(self) -> list[Metric]:
        return []  # computed at scrape time; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        yield from self._redis()
        yield from self._database()
        yield from self._webhook()
        self.duration.set(time.perf_counter() - started)

    def _redis(self) -> Iterator[Metric]:
        queue = self.studio.queue
        try:
            counts = queue.counts()
            alive = queue.workers_alive()
            leading = queue.scheduler_leading()
        except RedisError as exc:
            log.warning("exporter: Redis did not answer: %s", exc)
            self.errors.labels("redis").inc()
            return
        jobs = _gauge("veogen_queue_jobs", "RQ jobs by state (registries read without cleanup).", ["queue", "state"])
        for state, count in counts.items():
            jobs.add_metric([QUEUE_NAME, state], count)
        yield jobs
        yield GaugeMetricFamily("veogen_workers_alive", "Workers whose alive key is fresh.", value=alive)
        yield GaugeMetricFamily(
            "veogen_scheduler_leader", "1 when a scheduler holds the leader lock.", value=1 if leading else 0
        )

    def _webhook(self) -> Iterator[Metric]:
        try:
            current = self.studio.webhooks.state()
        except RedisError as exc:
            log.warning("exporter: Redis did not answer: %s", exc)
            self.errors.labels("redis").inc()
            return
        except SQLAlchemyError as exc:
            log.warning("exporter: the database did not answer: %s", exc)
            self.errors.labels("database").inc()
            return
        yield _labelled(
            "veogen_webhook_state",
            "1 for the project webhook's current state (Google's enabled, disabled, disabled_due_to_failed_deliveries; "
            "missing, unregistered or unknown here), 0 for the others.",
            "state",
            {state: int(state == current) for state in WEBHOOK_STATES},
        )

    def _database(self) -> Iterator[Metric]:
        settings = self.studio.settings
        try:
            with self.studio.sessions() as session:
                h = health.measure(
                    session=session,
                    now=utcnow(),
                    stuck_after_seconds=settings.stuck_after_seconds,
                    limits=self.studio.limits,
                )
        except SQLAlchemyError as exc:
            log.warning("exporter: the database did not answer: %s", exc)
            self.errors.labels("database").inc()
            return
        yield _labelled("veogen_generations", "Generations by status.", "status", h.by_status)
        providers = sorted(set(h.in_flight) | self.studio.providers.usable() | {"offline"})
        yield _labelled(
            "veogen_operations_in_flight",
            "Generations submitting, running, fetching or processing, by provider.",
            "provider",
            {p: h.in_flight.get(p, 0) for p in providers},
        )
        yield _labelled(
            "veogen_oldest_operation_age_seconds",
            "Seconds since the oldest in-flight generation was submitted (0 when none), by provider.",
            "provider",
            {p: h.oldest_in_flight_seconds.get(p, 0.0) for p in providers},
        )
        yield GaugeMetricFamily(
            "veogen_oldest_queued_age_seconds",
            "Seconds the oldest queued generation has waited (0 when none).",
            value=h.oldest_queued_seconds,
        )
        yield GaugeMetricFamily(
            "veogen_stuck_generations",
            "In-flight generations untouched for VEOGEN_STUCK_AFTER_SECONDS.",
            value=h.stuck,
        )
        yield _labelled(
            "veogen_generations_finished_last_hour",
            "Generations that reached a final status in the last hour.",
            "status",
            h.finished_last_hour,
        )
        yield _labelled(
            "veogen_provider_errors_last_hour",
            "Generations failed in the last hour, by error code.",
            "code",
            h.errors_last_hour,
        )
        yield GaugeMetricFamily(
            "veogen_spend_today_usd",
            "Charged (settled) since 00:00 UTC, in US dollars.",
            value=float(h.spend_today_usd),
        )
        yield GaugeMetricFamily(
            "veogen_spend_month_usd",
            "Committed this UTC month (reservations and settled costs), in US dollars.",
            value=float(h.spend_month_usd),
        )
        yield GaugeMetricFamily(
            "veogen_reserved_usd", "Reservations of unfinished generations, in US dollars.", value=float(h.reserved_usd)
        )
        yield GaugeMetricFamily(
            "veogen_budget_month_usd",
            "Sum of enabled users' monthly budgets, in US dollars.",
            value=float(h.budget_month_usd),
        )
        yield GaugeMetricFamily(
            "veogen_budget_max_used_ratio",
            "The highest share of a monthly budget any user has committed.",
            value=h.budget_max_used_ratio,
        )
        yield _labelled(
            "veogen_budget_users_over",
            "Users who committed at least this fraction of their monthly budget.",
            "fraction",
            h.users_over,
        )


def _labelled(name: str, doc: str, label: str, values: dict[str, float] | dict[str, int]) -> GaugeMetricFamily:
    family = _gauge(name, doc, [label])
    for key, value in sorted(values.items()):
        family.add_metric([key], float(value))
    return family


def build_registry(studio: Studio) -> CollectorRegistry:
    """A registry with the studio collector and the exporter's own health metrics."""
    registry = CollectorRegistry()
    errors = Counter(
        "veogen_exporter_scrape_errors", "Scrapes in which a source did not answer.", ["source"], registry=registry
    )
    duration = Gauge(
        "veogen_exporter_scrape_duration_seconds", "How long the last scrape's queries took.", registry=registry
    )
    for source in ("database", "redis"):
        errors.labels(source)  # present from the first scrape, at 0
    registry.register(StudioCollector(studio, errors, duration))
    return registry


def serve(studio: Studio, host: str, port: int) -> None:
    """Serve the exporter's registry on ``host:port`` (a daemon thread; the caller keeps the process alive)."""
    start_http_server(port, addr=host, registry=build_registry(studio))
    log.info("exporter on http://%s:%s/metrics", host, port)
