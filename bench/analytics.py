"""Analytics bench: each query of the Analytics page against a seeded history, for 30 days and for the year.

Runs against the database bench/seed_history.py fills (default ``veogen_bench``,
1,000,000 generations); it only reads. Each query of core.services.analytics
runs once to warm up, then ``--repeat`` times, each in a fresh session; the
median wall time is printed with its ratio to a baseline measured the same way
in the same process (``SELECT count(*) FROM generations``), and whether it is
under the budget of ``LIMIT_MS``. The ranges end on the day of the newest
generation: the default range (last 30 days) and the whole year (366 days).
The budget burn-down reads one month whatever the range: the newest month
(that of the newest generation) in the 30-day column, the whole month before it
in the year column. The last row is the page's whole read,
``studio.analytics.report`` (all queries in one session, admin check included).

Run from the repository root, after seeding::

    .venv/bin/python -m bench.seed_history && .venv/bin/python -m bench.analytics [--repeat 7] [--live] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from bench.seed_history import DEFAULT_URL
from core.config import Settings
from core.models import Generation, User
from core.services import analytics
from core.services.budgets import period_of
from core.studio import build_studio

LIMIT_MS = 200.0
"""Each page query must finish within this many milliseconds on PostgreSQL."""

BASELINE_SQL = "SELECT count(*) FROM generations"


EXACT_SQL = text(
    "SELECT model, percentile_cont(0.5) WITHIN GROUP (ORDER BY submitted_at - created_at),"
    " percentile_cont(0.95) WITHIN GROUP (ORDER BY submitted_at - created_at),"
    " percentile_cont(0.5) WITHIN GROUP (ORDER BY provider_done_at - submitted_at),"
    " percentile_cont(0.95) WITHIN GROUP (ORDER BY provider_done_at - submitted_at)"
    " FROM generations WHERE created_at >= :start AND created_at < :end AND submitted_at IS NOT NULL GROUP BY model"
)
"""The exact percentiles over the live rows, for comparison (``--live``)."""

ROLLUPS = ("rollup_generations", "rollup_durations", "rollup_spend", "rollup_budget")


def median_ms(run: Callable[[], object], repeat: int, warmup: bool = True) -> float:
    if warmup:
        run()  # plans, caches, connections
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help="the seeded PostgreSQL database")
    parser.add_argument("--repeat", type=int, default=7, help="measured runs per query (default 7)")
    parser.add_argument("--explain", action="store_true", help="also print EXPLAIN ANALYZE of each SQL query")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument(
        "--live",
        action="store_true",
        help="also time the queries without the rollups (emptied in a transaction that is rolled back), "
        "and exact percentile_cont; slow",
    )
    args = parser.parse_args(argv)

    settings = Settings(_env_file=None, database_url=args.database_url)  # type: ignore[call-arg]
    studio = build_studio(settings)
    with studio.sessions() as session:
        newest = session.execute(select(func.max(Generation.created_at))).scalar_one()
        admin_id = session.execute(select(User.id).where(User.role == "admin").limit(1)).scalar_one_or_none()
        rows = session.execute(text("SELECT (SELECT count(*) FROM generations), (SELECT count(*) FROM ledger_entries)"))
        generations, entries = rows.one()
        server = session.execute(text("SHOW server_version")).scalar_one()
    if newest is None or admin_id is None:
        print("The database holds no history; run `python -m bench.seed_history` first.", file=sys.stderr)
        return 1
    last = newest.astimezone(UTC).date()
    period = period_of(last)
    previous = period_of(last.replace(day=1) - timedelta(days=1))
    periods = {"30 days": period, "year": previous}
    spans = {
        "30 days": analytics.DateRange(last - timedelta(days=analytics.DEFAULT_RANGE_DAYS - 1), last),
        "year": analytics.DateRange(last - timedelta(days=365), last),
    }
    print(
        f"PostgreSQL {server}, {generations:,} generations, {entries:,} ledger entries; newest {newest:%Y-%m-%d %H:%M}"
    )
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, Python {platform.python_version()}")
    print(f"median of {args.repeat} runs after one warm-up; ranges end {last}; budgets for {period} and {previous}\n")

    def in_session(query: Callable[..., object], **kwargs: Any) -> Callable[[], object]:
        def run() -> object:
            with studio.sessions() as session:
                return query(session=session, **kwargs)

        return run

    def whole_page(span: analytics.DateRange, month: str) -> Callable[[], object]:
        return lambda: studio.analytics.report(admin_id, span, month)

    def baseline() -> object:
        with studio.sessions() as session:
            return session.execute(text(BASELINE_SQL)).scalar_one()

    figures: dict[str, dict[str, float]] = {"baseline": {}}
    for label, span in spans.items():
        figures["baseline"][label] = median_ms(baseline, args.repeat)
        queries: dict[str, Callable[[], object]] = {
            "count_generations": in_session(analytics.count_generations, span=span),
            "time_generations": in_session(analytics.time_generations, span=span),
            "spend_by_day": in_session(analytics.spend_by_day, span=span),
            "spend_by_user": in_session(analytics.spend_by_user, span=span),
            "burn_budgets": in_session(analytics.burn_budgets, period=periods[label], limits=studio.limits, today=last),
            "report (whole page)": whole_page(span, periods[label]),
        }
        for name, run in queries.items():
            figures.setdefault(name, {})[label] = median_ms(run, args.repeat)

    header = f"{'query':<22}" + "".join(f"{label + ' ms':>12}{'× base':>8}{'< 200':>7}" for label in spans)
    print(header)
    print("-" * len(header))
    for name, by_span in figures.items():
        line = f"{name:<22}"
        for label in spans:
            ms = by_span[label]
            ratio = ms / figures["baseline"][label]
            verdict = "" if name == "baseline" or name.startswith("report") else ("yes" if ms < LIMIT_MS else "NO")
            line += f"{ms:>12.1f}{ratio:>8.2f}{verdict:>7}"
        print(line)
    slow = [
        n for n, s in figures.items() if n != "baseline" and not n.startswith("report") and max(s.values()) >= LIMIT_MS
    ]
    print(
        f"\n{'every query under' if not slow else 'OVER'} {LIMIT_MS:.0f} ms" + (f": {', '.join(slow)}" if slow else "")
    )

    if args.live:
        live = time_live(studio.sessions, spans, periods, studio.limits, last)
        figures.update({f"{name} (live)": by_span for name, by_span in live.items()})
        print(f"\nwithout rollups (every day read from the live tables), {LIVE_REPEAT} runs, no warm-up:")
        for name, by_span in live.items():
            print(f"{name:<26}" + "".join(f"{by_span[label]:>12.1f} ms" for label in spans))

    if args.explain:
        explain(studio.sessions, spans, previous, studio.limits, last)
    if args.json:
        print(json.dumps({"generations": generations, "ledger_entries": entries, "median_ms": figures}, indent=2))
    studio.engine.dispose()
    return 0


LIVE_REPEAT = 3
"""Runs per query without the rollups (a year of live rows takes seconds)."""


def time_live(
    sessions: Callable[[], Session],
    spans: dict[str, analytics.DateRange],
    periods: dict[str, str],
    limits: Any,
    today: Any,
) -> dict[str, dict[str, float]]:
    """Median ms of each query with the rollups emptied, and of exact percentile_cont, per range."""
    figures: dict[str, dict[str, float]] = {}
    with sessions() as session:
        for table in ROLLUPS:
            session.execute(text(f"DELETE FROM {table}"))
        for label, span in spans.items():
            runs: dict[str, Callable[[], object]] = {
                name: (lambda f=f, span=span: f(session=session, span=span))  # type: ignore[misc]
                for name, f in (
                    ("count_generations", analytics.count_generations),
                    ("time_generations", analytics.time_generations),
                    ("spend_by_day", analytics.spend_by_day),
                    ("spend_by_user", analytics.spend_by_user),
                )
            }
            runs["burn_budgets"] = lambda label=label: analytics.burn_budgets(  # type: ignore[misc]
                session=session, period=periods[label], limits=limits, today=today
            )
            start, end = span.bounds
            runs["percentile_cont (exact)"] = lambda start=start, end=end: session.execute(  # type: ignore[misc]
                EXACT_SQL, {"start": start, "end": end}
            ).all()
            for name, run in runs.items():
                figures.setdefault(name, {})[label] = median_ms(run, LIVE_REPEAT, warmup=False)
        session.rollback()
    return figures


def explain(
    sessions: Callable[[], Session], spans: dict[str, analytics.DateRange], period: str, limits: Any, today: Any
) -> None:
    """Print EXPLAIN ANALYZE of every statement the queries send (captured from the engine)."""
    from sqlalchemy import event

    captured: list[tuple[str, Any]] = []
    with sessions() as session:
        engine = session.get_bind()

        def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
            captured.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", capture)
        try:
            for span in spans.values():
                analytics.count_generations(session=session, span=span)
                analytics.time_generations(session=session, span=span)
                analytics.spend_by_day(session=session, span=span)
                analytics.spend_by_user(session=session, span=span)
            analytics.burn_budgets(session=session, period=period, limits=limits, today=today)
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        raw = session.connection().connection.driver_connection
        for statement, parameters in captured:
            print(
                "\n" + statement % {k: repr(v) for k, v in parameters.items()}
                if isinstance(parameters, dict)
                else statement
            )
            with raw.cursor() as cur:  # type: ignore[union-attr]
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                for (line,) in cur.fetchall():
                    print("   ", line)


if __name__ == "__main__":
    raise SystemExit(main())
