"""Pipeline bench: N generations through the whole pipeline against bare RQ no-op jobs, in one process.

Each generation is submitted with ``studio.submit``; then, in passes until
every one is final, ``studio.admission.admit()`` submits the queued ones to
the provider (``Pipeline.start``, what the scheduler process does every
second) and one in-process ``rq.SimpleWorker`` burst runs the jobs that
enqueued (``workers.tasks``, today one poll per generation), with the offline
renderer at its smallest size. The baseline is the same number of RQ jobs
doing nothing, enqueued through the same ``JobQueue`` (same serializer, same
job options) and drained the same way; admission is not an RQ job, so it has
no counterpart there and is reported on its own line. With
``poll_interval_seconds=0`` the pipeline enqueues its polls at once, so no
scheduler process is needed.

Backend: SQLite in a temp folder plus a private redis-server (the embedded
default), or ``--database-url``/``--redis-url`` for PostgreSQL and an external
Redis. The PostgreSQL database named in the URL is created and dropped here,
and the Redis database is flushed before and after, so both must be scratch.

Run from the repository root::

    .venv/bin/python -m bench.pipeline [--n 200] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

NOOP_JOB = "bench.pipeline.noop"
"""The baseline job, enqueued by dotted path like the pipeline's own jobs."""

PROMPT = "A paper boat drifting down a rainy street at dusk"
"""Prompt of every benched generation (numbered, so no two are alike)."""


def noop(*args: object) -> None:
    """Do nothing: a job whose whole cost is RQ's own."""
    return None


# -- backends -----------------------------------------------------------------


@contextlib.contextmanager
def scratch_database(url: str, folder: Path) -> Iterator[tuple[str, str]]:
    """Yield ``(database_url, label)``: a fresh, migrated database, dropped afterwards."""
    from core.db import upgrade_database

    if not url:
        sqlite_url = f"sqlite:///{(folder / 'veogen.db').resolve()}"
        upgrade_database(sqlite_url)
        yield "", "SQLite in a temp dir"
        return

    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.database or ""
    if not parsed.drivername.startswith("postgresql") or "bench" not in name:
        raise SystemExit(f"--database-url must name a scratch PostgreSQL database with 'bench' in its name: {url}")
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        upgrade_database(url)
        yield url, f"PostgreSQL {parsed.host}:{parsed.port or 5432}/{name} (created and dropped)"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def scratch_redis(url: str, folder: Path) -> Iterator[tuple[str, str]]:
    """Yield ``(redis_url, label)``: a private redis-server, or an external database flushed around the run."""
    if not url:
        from core.embedded import start_redis

        proc, socket_url = start_redis(folder / "redis")
        try:
            yield socket_url, "bundled redis-server on a unix socket"
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        return

    from core.queue import connect

    conn = connect(url)
    db = int(conn.connection_pool.connection_kwargs.get("db", 0))
    if db == 0:
        raise SystemExit("--redis-url must name a scratch database other than 0 (it is flushed), e.g. .../11")
    conn.flushdb()
    try:
        kw = conn.connection_pool.connection_kwargs
        where = kw.get("path") or f"{kw.get('host')}:{kw.get('port')}"
        yield url, f"external Redis {where} db {db} (flushed before and after)"
    finally:
        conn.flushdb()
        conn.close()


# -- the run --------------------------------------------------------------------


def make_timed_provider() -> Any:
    """Return an OfflineProvider that adds up the time spent rendering in ``fetch``."""
    from core.providers.offline import OfflineProvider

    class TimedOfflineProvider(OfflineProvider):
        def __init__(self) -> None:
            super().__init__()
            self.renders = 0
            self.render_seconds = 0.0

        def fetch(self, video: Any, dest: Path) -> None:
            started = time.perf_counter()
            super().fetch(video, dest)  # decodes the operation name, then render_video()
            self.render_seconds += time.perf_counter() - started
            self.renders += 1

    return TimedOfflineProvider()


def worker_pipeline(settings: Any, provider: Any) -> Any:
    """Make the job functions' own pipeline (``workers.context.get_pipeline``) use ``settings`` and ``provider``.

    Every setting is exported to the environment, so the worker side builds
    from exactly these settings whatever a ``.env`` file says; then its
    provider lookup is pointed at the timing provider.
    """
    from core.config import Settings, get_settings, setting_env_names

    for field, env in zip(Settings.model_fields, setting_env_names(), strict=True):
        os.environ[env] = str(getattr(settings, field))
    get_settings.cache_clear()
    from workers import context, tasks  # noqa: F401  (the module RQ runs the jobs from)

    context.get_pipeline.cache_clear()
    pipeline = context.get_pipeline()
    if pipeline.settings.model_dump() != settings.model_dump():
        raise SystemExit("the worker pipeline did not pick up the bench settings")
    pipeline.providers = lambda *_lookup: provider  # whatever the lookup key (provider name, user)
    return pipeline


MAX_PASSES_PER_CANDIDATE_PAGE = 4
"""Admission/drain passes allowed per page of admission candidates before the run is called stuck."""


def burst(queue: Any) -> tuple[float, int, int]:
    """Drain the queue with one in-process SimpleWorker; return (seconds, jobs finished, jobs failed)."""
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    worker = SimpleWorker([queue.queue], connection=queue.connection, serializer=JSONSerializer)
    started = time.perf_counter()
    worker.work(burst=True, logging_level="WARNING")
    elapsed = time.perf_counter() - started
    worker.refresh()  # the counts live in the worker's Redis hash, kept 60 s after it stops
    return elapsed, worker.successful_job_count, worker.failed_job_count


def submit_many(studio: Any, user_id: int, n: int) -> tuple[list[str], float]:
    """Submit ``n`` smallest offline generations; return their ids and the seconds the submits took."""
    from core.catalog import OFFLINE_MODEL
    from core.services.generations import GenerationForm

    forms = [
        GenerationForm(
            model=OFFLINE_MODEL,
            prompt=f"{PROMPT}, take {i + 1}",
            duration_seconds=2,
            aspect_ratio="16:9",
            resolution="240p",
            sample_count=1,
            idempotency_key=uuid.uuid4().hex,
        )
        for i in range(n)
    ]
    started = time.perf_counter()
    ids = [studio.generations.submit(user_id, form)[0].id for form in forms]
    return ids, time.perf_counter() - started


def open_count(studio: Any, ids: list[str]) -> int:
    """How many of ``ids`` are not final yet."""
    from sqlalchemy import func, select

    from core.models import Generation
    from core.status import FINAL

    with studio.sessions() as session:
        return int(
            session.execute(
                select(func.count())
                .select_from(Generation)
                .where(Generation.id.in_(ids), Generation.status.not_in([s.value for s in FINAL]))
            ).scalar_one()
        )


def admit_and_drain(studio: Any, ids: list[str]) -> dict[str, Any]:
    """Admit and drain in passes until every one of ``ids`` is final; return the times and counts.

    One pass is one ``studio.admission.admit()`` (which starts at most
    ``CANDIDATES_PER_PASS`` generations) then one burst. The finality check
    between passes is not timed. Bounded: a run that needs more passes than
    the candidate pages allow is stuck, and stops with an error.
    """
    from core.admission import CANDIDATES_PER_PASS

    max_passes = MAX_PASSES_PER_CANDIDATE_PAGE * (len(ids) // CANDIDATES_PER_PASS + 1)
    admit_seconds = drain_seconds = 0.0
    admitted = jobs = failed = passes = 0
    while open_count(studio, ids):
        if passes >= max_passes:
            raise SystemExit(f"still {open_count(studio, ids)} open generations after {passes} admission passes")
        passes += 1
        started = time.perf_counter()
        admitted += len(studio.admission.admit())
        admit_seconds += time.perf_counter() - started
        seconds, finished, failures = burst(studio.queue)
        drain_seconds += seconds
        jobs += finished
        failed += failures
    return {
        "admit_seconds": admit_seconds,
        "drain_seconds": drain_seconds,
        "admitted": admitted,
        "jobs": jobs,
        "failed_jobs": failed,
        "passes": passes,
    }


def check_succeeded(studio: Any, ids: list[str], failed_jobs: int) -> None:
    """Exit non-zero unless every generation succeeded and no RQ job failed."""
    from sqlalchemy import select

    from core.models import Generation

    with studio.sessions() as session:
        rows = session.execute(select(Generation.status, Generation.error_message).where(Generation.id.in_(ids))).all()
    statuses = Counter(status for status, _ in rows)
    if statuses == Counter({"succeeded": len(ids)}) and len(rows) == len(ids) and failed_jobs == 0:
        return
    errors = sorted({message for status, message in rows if status != "succeeded" and message})
    print(
        f"FAILED: statuses {dict(statuses)} of {len(ids)} generations; {failed_jobs} RQ job(s) failed", file=sys.stderr
    )
    for message in errors[:5]:
        print(f"  {message}", file=sys.stderr)
    raise SystemExit(1)


def enqueue_noops(queue: Any, count: int) -> None:
    for _ in range(count):
        queue.enqueue(NOOP_JOB, uuid.uuid4().hex, 0)


def run(settings: Any, n: int, warmup: int) -> dict[str, Any]:
    """Warm up, run the pipeline on ``n`` generations, then the no-op baseline; return the figures."""
    from core.studio import build_studio

    provider = make_timed_provider()
    worker_side = worker_pipeline(settings, provider)
    studio = build_studio(settings)
    studio.pipeline.providers = lambda *_lookup: provider  # admission submits through the same provider
    try:
        user = studio.accounts.add_user("bench", "bench-password-1")

        # Warm-up: first imports, codec start-up, SQL compilation and Redis connections are not measured.
        ids, _ = submit_many(studio, user.id, warmup)
        check_succeeded(studio, ids, admit_and_drain(studio, ids)["failed_jobs"])
        enqueue_noops(studio.queue, 20)
        burst(studio.queue)

        provider.renders, provider.render_seconds = 0, 0.0
        ids, submit_seconds = submit_many(studio, user.id, n)
        drained = admit_and_drain(studio, ids)
        check_succeeded(studio, ids, drained["failed_jobs"])
        if provider.renders != n or drained["admitted"] != n:
            admitted = drained["admitted"]
            raise SystemExit(f"expected {n} admissions and renders, counted {admitted} and {provider.renders}")
        jobs = drained["jobs"]
        if jobs < 1:
            raise SystemExit("the pipeline finished no RQ job")

        enqueue_noops(studio.queue, jobs)
        baseline_seconds, noop_jobs, noop_failed = burst(studio.queue)
        if noop_jobs != jobs or noop_failed:
            raise SystemExit(f"baseline: {noop_jobs} of {jobs} no-op jobs finished, {noop_failed} failed")
    finally:
        studio.engine.dispose()
        worker_side.sessions.kw["bind"].dispose()

    admit_seconds, drain_seconds = drained["admit_seconds"], drained["drain_seconds"]
    pipeline_seconds = admit_seconds + drain_seconds
    per_job_ms = baseline_seconds / jobs * 1000
    per_generation_ms = pipeline_seconds / n * 1000
    baseline_per_generation_ms = per_job_ms * jobs / n
    admit_ms = admit_seconds / n * 1000
    render_ms = provider.render_seconds / n * 1000
    return {
        "n": n,
        "jobs": jobs,
        "jobs_per_generation": jobs / n,
        "passes": drained["passes"],
        "submit_seconds": submit_seconds,
        "submit_per_second": n / submit_seconds,
        "admit_seconds": admit_seconds,
        "admit_per_second": n / admit_seconds,
        "drain_seconds": drain_seconds,
        "pipeline_seconds": pipeline_seconds,
        "pipeline_per_second": n / pipeline_seconds,
        "end_to_end_per_second": n / (submit_seconds + pipeline_seconds),
        "baseline_seconds": baseline_seconds,
        "baseline_jobs_per_second": jobs / baseline_seconds,
        "baseline_ms_per_job": per_job_ms,
        "per_generation_ms": per_generation_ms,
        "baseline_per_generation_ms": baseline_per_generation_ms,
        "overhead_ms": per_generation_ms - baseline_per_generation_ms,
        "ratio": per_generation_ms / baseline_per_generation_ms,
        "admit_ms": admit_ms,
        "render_ms": render_ms,
        "rest_ms": per_generation_ms - admit_ms - render_ms - baseline_per_generation_ms,
    }


# -- report -------------------------------------------------------------------


def report(f: dict[str, Any]) -> str:
    n, jobs = f["n"], f["jobs"]
    return "\n".join(
        [
            f"VeoGen pipeline bench, {f['date']}, {f['cpus']} CPUs, Python {f['python']}",
            f"backend: {f['database']}; {f['redis']}",
            f"work: {n} generations of offline-preview, 240p, 2 s, 16:9, 1 video;"
            " in-process admission + one in-process SimpleWorker",
            "",
            f"submit          {n} in {f['submit_seconds']:.2f} s = {f['submit_per_second']:.1f} generations/s",
            f"admission       {n} in {f['admit_seconds']:.2f} s = {f['admit_per_second']:.1f} generations/s"
            f" (start step, not an RQ job; {f['passes']} pass(es))",
            f"pipeline        {n} in {f['pipeline_seconds']:.2f} s = {f['pipeline_per_second']:.2f} generations/s"
            f" (admission {f['admit_seconds']:.2f} s + drain {f['drain_seconds']:.2f} s;"
            f" end to end with submit: {f['end_to_end_per_second']:.2f} generations/s)",
            f"jobs            {jobs} RQ jobs finished = {f['jobs_per_generation']:.2f} per generation",
            f"no-op baseline  {jobs} jobs in {f['baseline_seconds']:.2f} s"
            f" = {f['baseline_jobs_per_second']:.0f} jobs/s, {f['baseline_ms_per_job']:.2f} ms per job",
            f"per generation  {f['per_generation_ms']:.1f} ms = admission {f['admit_ms']:.1f}"
            f" + render {f['render_ms']:.1f} + RQ no-op cost {f['baseline_per_generation_ms']:.1f}"
            f" + rest {f['rest_ms']:.1f}",
            f"overhead        {f['overhead_ms']:.1f} ms per generation above its {f['jobs_per_generation']:.0f}"
            " bare RQ job(s)",
            f"ratio           {f['ratio']:.1f}x  (pipeline time per generation, admission included,"
            " / no-op time for the same number of jobs)",
            "",
            "How each figure was obtained:",
            "  submit: wall time of the studio.submit calls (row, reservation and event committed; no job enqueued).",
            "  admission: wall time of the studio.admission.admit() calls, which run Pipeline.start for every"
            " queued generation (provider submit, status changes, the poll job enqueued).",
            "  pipeline: admission plus the wall time of the SimpleWorker bursts that drain the jobs it enqueued,"
            " in passes until every generation is final; all generations checked 'succeeded'.",
            "  jobs: the burst workers' successful_job_count, read back from Redis (counted, not assumed)."
            " The start step is admission, not a job, so it is not in this count.",
            "  no-op baseline: the same number of jobs, enqueued through the same JobQueue (JSON serializer,"
            " same options), calling bench.pipeline.noop; wall time of its burst.",
            "  render: time inside OfflineProvider.fetch (which calls render_video), measured during the bursts"
            " by a timing subclass that both the worker's pipeline and admission use as their provider.",
            "  rest: per generation minus admission, render and no-op cost: database, storage, probe, thumbnail,"
            " poster, and RQ work beyond a no-op (the job's real arguments and the enqueues it does).",
            f"  warm-up: {f['warmup']} generations and 20 no-op jobs run first, not measured.",
        ]
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=200, help="generations to push through (default 200)")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured generations first (default 3)")
    parser.add_argument(
        "--database-url", default="", help="scratch PostgreSQL URL, created and dropped (default: SQLite in a temp dir)"
    )
    parser.add_argument(
        "--redis-url", default="", help="external Redis database, flushed (default: a private redis-server)"
    )
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)
    if args.n < 1 or args.warmup < 1:
        parser.error("--n and --warmup must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if str(ROOT) not in sys.path:  # the worker imports bench.pipeline.noop by dotted path
        sys.path.insert(0, str(ROOT))
    logging.basicConfig(level=logging.WARNING)
    from core.config import Settings

    with tempfile.TemporaryDirectory(prefix="veogen-bench-") as tmp, contextlib.ExitStack() as stack:
        folder = Path(tmp)
        database_url, database = stack.enter_context(scratch_database(args.database_url, folder))
        redis_url, redis = stack.enter_context(scratch_redis(args.redis_url, folder))
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=folder,
            database_url=database_url,
            redis_url=redis_url,
            poll_interval_seconds=0,
            default_max_open_generations=args.n + args.warmup,  # the bench user submits them all at once
        )
        figures = run(settings, args.n, args.warmup)
    figures.update(
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        cpus=os.cpu_count(),
        python=platform.python_version(),
        database=database,
        redis=redis,
        warmup=args.warmup,
    )
    print(report(figures))
    if args.json:
        print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
