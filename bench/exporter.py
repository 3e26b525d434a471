"""The exporter's scrape on a long history: `veogen exporter`'s database queries against `SELECT count(*)`.

Runs against the database `bench.seed_history` filled (1,000,000 generations by
default; run that first). Prints the median of ``--repeat`` scrapes of the
database gauges (``core.services.health.measure``, what every Prometheus
scrape runs) and of the whole exporter output (with Redis), each as a ratio to
a full ``count(*)`` of the generations table in the same process.

    python -m bench.exporter [--database-url URL] [--repeat 9]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from prometheus_client import generate_latest
from sqlalchemy import text

from bench.seed_history import DEFAULT_URL
from core.config import Settings
from core.exporter import build_registry
from core.models import utcnow
from core.studio import build_studio


def median_ms(action: Callable[[], object], repeat: int) -> float:
    action()  # warm caches and the connection pool
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help="the seeded PostgreSQL database")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9", help="a Redis for the queue gauges")
    parser.add_argument("--repeat", type=int, default=9, help="measured runs (default 9)")
    args = parser.parse_args(argv)
    settings = Settings(_env_file=None, database_url=args.database_url, redis_url=args.redis_url)  # type: ignore[call-arg]
    studio = build_studio(settings)
    with studio.sessions() as session:
        rows = session.execute(text("SELECT count(*) FROM generations")).scalar_one()

    def count() -> None:
        with studio.sessions() as session:
            session.execute(text("SELECT count(*) FROM generations")).scalar_one()

    def health() -> None:
        with studio.sessions() as session:
            health.measure(
                session=session, now=utcnow(), stuck_after_seconds=settings.stuck_after_seconds, limits=studio.limits
            )

    registry = build_registry(studio)
    baseline = median_ms(count, args.repeat)
    print(f"{rows:,} generations; median of {args.repeat} runs")
    print(f"  baseline count(*)           {baseline:7.1f} ms  1.00")
    for name, action in (("database gauges", health), ("whole scrape (+Redis)", lambda: generate_latest(registry))):
        ms = median_ms(action, args.repeat)
        print(f"  {name:<27} {ms:7.1f} ms  {ms / baseline:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
