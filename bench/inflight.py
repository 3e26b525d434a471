"""In-flight bench: two worker processes carry N Veo operations at once, against one blocking job per generation.

**Pipeline** (the design): N generations of Veo 3.1 Fast (720p, 4 s, text) are
submitted with ``studio.submit`` in this process; then exactly two
``python -m workers.main`` processes and one ``python -m workers.scheduler``
start. The scheduler's admission submits every queued generation to the Veo
stand-in (a ``VeoStandIn`` served from this process, every operation taking
``--latency`` seconds, videos drawn at 240p); the workers run the short poll
jobs, then download, probe and thumbnail each video. Every second this process
samples the stand-in's operations in flight, the database's generations in
``submitting``/``running``, the queue and the processes' resident memory, until
all N have succeeded.

**Baseline** (the design we do not build, bench/blocking.py): each generation
holds one RQ job for its whole operation: submit to the same stand-in over
REST, poll every ``POLL_SECONDS`` until done, download the video. Two
SimpleWorker processes (which preload what ``workers.main`` preloads) run
``--baseline-n`` of them, with the same latency, after the pipeline. Two
blocking workers can never have more than two operations in flight, so a
short sample is enough to measure its throughput and memory.

The report gives the ratio pipeline / baseline of peak in flight and of
throughput (generations per minute), and resident memory per in-flight
generation for both.

Backend: a scratch PostgreSQL database (created, migrated, dropped) and a
Redis database flushed before and after. Run from the repository root::

    .venv/bin/python -m bench.inflight [--n 1000] [--latency 60] [--baseline-n 4] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.blocking import run_baseline
from bench.pipeline import scratch_database, scratch_redis
from bench.processes import ROOT, Children, children, rss_mb

MODEL = "veo-3.1-fast-generate-001"
"""The cheapest Veo model of the catalog that the stand-in knows."""

API_KEY = "test-key"
"""The stand-in's Gemini API key (a local stand-in, not a secret)."""

PROMPT = "A paper boat drifting down a rainy street at dusk"
"""Prompt of every benched generation (numbered, so no two are alike)."""

POLL_SECONDS = 5.0
"""The pipeline's first poll delay (it backs off to ``POLL_MAX_SECONDS``); the baseline polls at this pace."""

POLL_MAX_SECONDS = 15.0
"""Upper bound of the pipeline's poll backoff, in seconds."""

TIMELINE_EVERY_SECONDS = 10
"""One timeline row per this many one-second samples."""

USERS = 20
"""Creators the N generations are spread over (admission is round-robin between users)."""


# -- the baseline job ----------------------------------------------------------


# -- settings -------------------------------------------------------------------


def make_settings(database_url: str, redis_url: str, data_dir: Path, standin_url: str, n: int) -> Any:
    """Settings with every cap out of the way: what is measured is the design, not a quota."""
    from core.config import Settings

    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_url,
        provider="veo",
        gemini_api_key=API_KEY,
        veo_base_url=standin_url,
        max_concurrent_operations=100_000,
        submits_per_minute=100_000,
        user_max_concurrent=100_000,
        default_monthly_budget_usd=Decimal(1_000_000_000),
        default_max_open_generations=max(100_000, n),
        poll_interval_seconds=POLL_SECONDS,
        poll_max_interval_seconds=POLL_MAX_SECONDS,
        stale_after_seconds=120,
        log_level="WARNING",
    )


def child_env(settings: Any) -> dict[str, str]:
    """The environment of a child process: every setting exported, no Google credentials inherited."""
    from core.config import Settings, setting_env_names

    env = {k: v for k, v in os.environ.items() if not k.startswith(("VEOGEN_", "GOOGLE_", "GEMINI_"))}
    for field, name in zip(Settings.model_fields, setting_env_names(), strict=True):
        env[name] = str(getattr(settings, field))
    env["PYTHONPATH"] = str(ROOT)
    return env


# -- the pipeline phase -----------------------------------------------------------


def submit_all(studio: Any, users: int, n: int) -> tuple[list[str], float]:
    """Create ``users`` creators and submit ``n`` generations round-robin between them; return ids and seconds."""
    from core.services.generations import GenerationForm

    user_ids = [studio.accounts.add_user(f"bench{u + 1}", "bench-password-1").id for u in range(users)]
    started = time.perf_counter()
    ids = []
    for i in range(n):
        form = GenerationForm(
            model=MODEL,
            prompt=f"{PROMPT}, take {i + 1}",
            duration_seconds=4,
            aspect_ratio="16:9",
            resolution="720p",
            idempotency_key=uuid.uuid4().hex,
        )
        ids.append(studio.generations.submit(user_ids[i % users], form)[0].id)
    return ids, time.perf_counter() - started


def db_counts(studio: Any) -> Counter[str]:
    from sqlalchemy import func, select

    from core.models import Generation

    with studio.sessions() as session:
        rows = session.execute(select(Generation.status, func.count()).group_by(Generation.status)).all()
    return Counter({status: int(count) for status, count in rows})


def db_times(studio: Any) -> dict[str, float]:
    """Unix times of the first and last submit to the provider and of the first and last generation to finish."""
    from sqlalchemy import func, select

    from core.models import Generation

    with studio.sessions() as session:
        row = session.execute(
            select(
                func.min(Generation.submitted_at),
                func.max(Generation.submitted_at),
                func.min(Generation.finished_at),
                func.max(Generation.finished_at),
            )
        ).one()
    keys = ("first_submit", "last_submit", "first_final", "last_final")
    return {key: value.timestamp() for key, value in zip(keys, row, strict=True) if value is not None}


def run_pipeline(studio: Any, standin: Any, env: dict[str, str], logs: Path, n: int, timeout: float) -> dict[str, Any]:
    """Submit ``n``, start 2 workers and 1 scheduler, sample every second until all are final; return figures."""
    ids, submit_seconds = submit_all(studio, USERS, n)
    standin.reset()
    queue = studio.queue.queue
    samples: list[dict[str, Any]] = []
    with children(env, logs) as procs:
        t0 = time.time()
        workers = [procs.start("worker", "-m", "workers.main") for _ in range(2)]
        scheduler = procs.start("scheduler", "-m", "workers.scheduler")
        while True:
            time.sleep(max(0.0, t0 + len(samples) + 1 - time.time()))
            procs.check_alive()
            stats, counts = standin.stats(), db_counts(studio)
            samples.append(
                {
                    "t": time.time() - t0,
                    "standin_in_flight": stats.in_flight,
                    "submissions": stats.submissions,
                    "polls": stats.polls,
                    "downloads": stats.downloads,
                    "queued": counts["queued"],
                    "db_in_flight": counts["submitting"] + counts["running"],
                    "collecting": counts["fetching"] + counts["processing"],
                    "final": sum(counts[s] for s in ("succeeded", "failed", "filtered", "canceled")),
                    "queue_depth": queue.count,
                    "scheduled": queue.scheduled_job_registry.count,
                    "worker_rss_mb": sum(rss_mb(w.pid) for w in workers),
                    "scheduler_rss_mb": rss_mb(scheduler.pid),
                }
            )
            if samples[-1]["final"] >= n or samples[-1]["t"] > timeout:
                break
    logged = procs.problems()
    stats, counts, times = standin.stats(), db_counts(studio), db_times(studio)
    jobs = standin.jobs()
    last_done_at_provider = max(job["created"] for job in jobs) + standin.behaviour.latency_seconds if jobs else t0
    peak = max(samples, key=lambda s: s["standin_in_flight"])
    in_flight_phase = [s for s in samples if s["t"] <= last_done_at_provider - t0] or samples
    return {
        "submit_seconds": submit_seconds,
        "ids": len(ids),
        "statuses": dict(counts),
        "timed_out": samples[-1]["final"] < n,
        "samples": samples,
        "submissions": stats.submissions,
        "rejected_submits": dict(stats.rejected_submits),
        "polls": stats.polls,
        "downloads": stats.downloads,
        "peak_in_flight": stats.peak_in_flight,
        "peak_in_flight_sampled": peak["standin_in_flight"],
        "peak_in_flight_at": peak["t"],
        "peak_db_in_flight": max(s["db_in_flight"] for s in samples),
        "first_submit_seconds": times.get("first_submit", t0) - t0,
        "admit_all_seconds": times.get("last_submit", t0) - t0,
        "last_done_at_provider_seconds": last_done_at_provider - t0,
        "first_final_seconds": times.get("first_final", t0) - t0,
        "all_final_seconds": times.get("last_final", t0 + samples[-1]["t"]) - t0,
        "peak_queue_depth": max(s["queue_depth"] for s in samples),
        "peak_poll_rate": max(poll_rates(samples), default=0.0),
        "peak_worker_rss_mb": max(s["worker_rss_mb"] for s in samples),
        "end_worker_rss_mb": samples[-1]["worker_rss_mb"],
        "in_flight_phase_worker_rss_mb": max(s["worker_rss_mb"] for s in in_flight_phase),
        "peak_scheduler_rss_mb": max(s["scheduler_rss_mb"] for s in samples),
        "end_scheduler_rss_mb": samples[-1]["scheduler_rss_mb"],
        "logged_problems": len(logged),
        "logged_problems_first": logged[:5],
    }


# -- the whole run ----------------------------------------------------------------


def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from core.studio import build_studio
    from standin import LEGACY_GEMINI_VEO, Behaviour, VeoStandIn

    with contextlib.ExitStack() as stack:
        database_url, database = stack.enter_context(scratch_database(args.database_url, folder))
        redis_url, redis = stack.enter_context(scratch_redis(args.redis_url, folder))
        standin = VeoStandIn(
            api_key=API_KEY,
            behaviour=Behaviour(
                latency_seconds=args.latency, render_resolution="240p", gemini_models=list(LEGACY_GEMINI_VEO)
            ),
        ).start()
        stack.callback(standin.stop)
        settings = make_settings(database_url, redis_url, folder / "data", standin.url, args.n)
        env = child_env(settings)
        studio = build_studio(settings)
        stack.callback(studio.engine.dispose)
        if "veo" not in studio.providers.usable():
            raise SystemExit("the Veo provider is not configured in the bench settings")
        timeout = args.latency * 2 + 120 + args.n * 0.5
        (folder / "logs-pipeline").mkdir()
        (folder / "logs-baseline").mkdir()
        pipeline = run_pipeline(studio, standin, env, folder / "logs-pipeline", args.n, timeout)
        if pipeline["timed_out"] or pipeline["statuses"].get("succeeded") != args.n:
            print(Children(env, folder / "logs-pipeline").tail(), file=sys.stderr)
        baseline = run_baseline(
            studio,
            standin,
            env,
            folder / "logs-baseline",
            n=args.baseline_n,
            latency=args.latency,
            model=MODEL,
            prompt=PROMPT,
            poll_seconds=POLL_SECONDS,
        )
    return {"database": database, "redis": redis, "pipeline": pipeline, "baseline": baseline}


def figures_of(result: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    p, b, n = result["pipeline"], result["baseline"], args.n
    # Counted, not assumed: a failed run reports what did finish (and exits non-zero).
    pipeline_per_minute = p["statuses"].get("succeeded", 0) / max(0.001, p["all_final_seconds"]) * 60
    baseline_per_minute = b["finished"] / max(0.001, b["all_done_seconds"]) * 60
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "database": result["database"],
        "redis": result["redis"],
        "n": n,
        "latency_seconds": args.latency,
        "users": USERS,
        "pipeline_per_minute": pipeline_per_minute,
        "baseline_per_minute": baseline_per_minute,
        "throughput_ratio": pipeline_per_minute / max(1e-9, baseline_per_minute),
        "in_flight_ratio": p["peak_in_flight"] / max(1, b["peak_in_flight"]),
        "pipeline_mb_per_in_flight": p["peak_worker_rss_mb"] / max(1, p["peak_in_flight"]),
        "baseline_mb_per_in_flight": b["peak_worker_rss_mb"] / max(1, b["peak_in_flight"]),
        "pipeline": {k: v for k, v in p.items() if k != "samples"},
        "baseline": {k: v for k, v in b.items() if k != "failed_tail"},
    }


# -- report ---------------------------------------------------------------------


def poll_rates(samples: list[dict[str, Any]]) -> list[float]:
    """Polls per second seen by the stand-in over each window of ``TIMELINE_EVERY_SECONDS`` samples."""
    rates = []
    for i in range(TIMELINE_EVERY_SECONDS, len(samples), TIMELINE_EVERY_SECONDS):
        before, after = samples[i - TIMELINE_EVERY_SECONDS], samples[i]
        rates.append((after["polls"] - before["polls"]) / max(0.001, after["t"] - before["t"]))
    return rates


def timeline(samples: list[dict[str, Any]]) -> list[str]:
    rows = [
        "     t  stand-in  queued  db in flight  collecting  final  queue  scheduled  polls/s  workers MB  scheduler MB"
    ]
    picked = list(range(TIMELINE_EVERY_SECONDS - 1, len(samples), TIMELINE_EVERY_SECONDS))
    if samples and (not picked or picked[-1] != len(samples) - 1):
        picked.append(len(samples) - 1)
    for i in picked:
        s, before = samples[i], samples[max(0, i - TIMELINE_EVERY_SECONDS)]
        rate = (s["polls"] - before["polls"]) / max(0.001, s["t"] - before["t"]) if i else 0.0
        rows.append(
            f"{s['t']:5.0f}s  {s['standin_in_flight']:8d}  {s['queued']:6d}  {s['db_in_flight']:12d}"
            f"  {s['collecting']:10d}  {s['final']:5d}  {s['queue_depth']:5d}  {s['scheduled']:9d}  {rate:7.1f}"
            f"  {s['worker_rss_mb']:10.0f}  {s['scheduler_rss_mb']:12.0f}"
        )
    return rows


def report(f: dict[str, Any], samples: list[dict[str, Any]]) -> str:
    p, b, n = f["pipeline"], f["baseline"], f["n"]
    drain = p["all_final_seconds"] - p["last_done_at_provider_seconds"]
    admit_rate = n / max(0.001, p["admit_all_seconds"] - p["first_submit_seconds"])
    return "\n".join(
        [
            f"VeoGen in-flight bench, {f['date']}, {f['cpus']} CPUs, Python {f['python']}",
            f"backend: {f['database']}; {f['redis']}",
            f"work: {n} generations of {MODEL}, 720p, 4 s, text, over {f['users']} users; every operation takes"
            f" {f['latency_seconds']:.0f} s at the Veo stand-in (videos drawn at 240p)",
            "",
            "Pipeline: 2 x workers.main + 1 x workers.scheduler",
            f"  submit (web side)    {n} in {p['submit_seconds']:.1f} s, before any process starts",
            f"  admission            first submit at {p['first_submit_seconds']:.1f} s, all {n} submitted by"
            f" {p['admit_all_seconds']:.1f} s ({admit_rate:.0f} submits/s from the first)",
            f"  peak in flight       {p['peak_in_flight']} at the stand-in (sampled {p['peak_in_flight_sampled']}"
            f" at {p['peak_in_flight_at']:.0f} s); {p['peak_db_in_flight']} in submitting/running in the database",
            f"  provider done        last operation done at {p['last_done_at_provider_seconds']:.1f} s",
            f"  drain                first generation final at {p['first_final_seconds']:.1f} s, all {n} at"
            f" {p['all_final_seconds']:.1f} s ({drain:.1f} s after the provider finished the last one)",
            f"  stand-in saw         {p['submissions']} submissions, {p['polls']} polls"
            f" ({p['polls'] / max(1, n):.1f} per generation), {p['downloads']} downloads",
            f"  queue                peak depth {p['peak_queue_depth']} jobs waiting;"
            f" polls peaked at {p['peak_poll_rate']:.0f}/s (over {TIMELINE_EVERY_SECONDS} s)",
            f"  worker RSS (2)       {p['in_flight_phase_worker_rss_mb']:.0f} MB at most until the provider finished,"
            f" {p['peak_worker_rss_mb']:.0f} MB peak (drain included), {p['end_worker_rss_mb']:.0f} MB at the end",
            f"  scheduler RSS        peak {p['peak_scheduler_rss_mb']:.0f} MB, end {p['end_scheduler_rss_mb']:.0f} MB",
            f"  statuses             {p['statuses']}",
            f"  child logs           {p['logged_problems']} warning/error/traceback line(s)",
            *(f"    {line[:200]}" for line in p["logged_problems_first"]),
            "",
            f"Baseline: 2 SimpleWorker processes, one blocking job per generation, {b['n']} generations",
            f"  peak in flight       {b['peak_in_flight']} at the stand-in; {b['submissions']} submissions",
            f"  all done             {b['all_done_seconds']:.1f} s ({b['finished']} of {b['n']} jobs finished)",
            f"  worker RSS (2)       {b['peak_worker_rss_mb']:.0f} MB peak",
            "",
            f"peak in flight   {p['peak_in_flight']} vs {b['peak_in_flight']} = {f['in_flight_ratio']:.0f}x",
            f"throughput       {f['pipeline_per_minute']:.1f} vs {f['baseline_per_minute']:.2f} generations/min"
            f" = {f['throughput_ratio']:.1f}x",
            f"memory           {f['pipeline_mb_per_in_flight']:.2f} vs {f['baseline_mb_per_in_flight']:.1f}"
            " MB of worker RSS per generation in flight",
            "",
            "Timeline (one row per 10 s; stand-in = operations in flight there; collecting = fetching+processing):",
            *timeline(samples),
            "",
            "How each figure was obtained:",
            "  submit: wall time of the studio.submit calls in this process, before the workers and scheduler start.",
            "  times: seconds after the 3 processes were started (imports included); first/last submit and"
            " first/last final from the rows' submitted_at and finished_at.",
            "  peak in flight: the stand-in's peak_in_flight counter (exact) and the highest one-second sample;"
            " the database view is the highest sampled count of rows in submitting or running.",
            "  provider done: the stand-in's last accepted operation time + the latency.",
            "  polls/s: the stand-in's poll counter over the last 10 one-second samples (so the poll jobs the two"
            " workers got through, pending and done alike).",
            "  RSS: VmRSS from /proc/<pid>/status, sampled every second; workers summed, scheduler apart."
            " 'until the provider finished' is the highest sample up to the provider-done time.",
            "  baseline: bench.blocking.blocking_generation (REST submit, poll every"
            f" {POLL_SECONDS:.0f} s, download), one RQ job per generation on 2 burst SimpleWorkers that preload"
            " workers.main's libraries; same stand-in, same latency, run after the pipeline;"
            " all done = the last job's ended_at.",
            "  throughput: generations / seconds from process start until the last one is final, per minute;"
            f" the baseline's is bounded by 2 per {f['latency_seconds']:.0f} s whatever its n.",
            "  memory per in flight: peak worker RSS (drain included) / peak operations in flight at the stand-in;"
            " the scheduler apart.",
        ]
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=1000, help="generations for the pipeline (default 1000)")
    parser.add_argument("--latency", type=float, default=60, help="seconds every operation takes (default 60)")
    parser.add_argument(
        "--baseline-n", type=int, default=4, help="generations for the blocking baseline (default 4: 2 rounds)"
    )
    parser.add_argument(
        "--database-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/veogen_bench_inflight",
        help="scratch PostgreSQL database, created and dropped (its name must contain 'bench')",
    )
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/10", help="scratch Redis database, flushed (not db 0)"
    )
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)
    if args.n < 1 or args.baseline_n < 1 or args.latency < 0:
        parser.error("--n and --baseline-n must be at least 1, --latency at least 0")
    if not args.database_url:
        parser.error("--database-url must name a PostgreSQL database (three processes write at once)")
    return args


def _stop(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    signal.signal(signal.SIGTERM, _stop)  # unwind like Ctrl-C: children stopped, database dropped, Redis flushed
    try:
        with tempfile.TemporaryDirectory(prefix="veogen-bench-inflight-") as tmp:
            result = run(args, Path(tmp))
    except KeyboardInterrupt:
        print("interrupted: child processes stopped, scratch database dropped, Redis flushed", file=sys.stderr)
        return 130
    figures = figures_of(result, args)
    print(report(figures, result["pipeline"]["samples"]))
    if args.json:
        print(json.dumps(figures, indent=2))
    p, b = result["pipeline"], result["baseline"]
    problems = []
    if p["submissions"] != args.n:
        problems.append(f"the stand-in saw {p['submissions']} submissions for {args.n} generations")
    if p["statuses"].get("succeeded") != args.n:
        problems.append(f"pipeline statuses {p['statuses']}, expected {args.n} succeeded")
    if b["finished"] != b["n"] or b["submissions"] != b["n"]:
        problems.append(f"baseline: {b['finished']} of {b['n']} jobs finished, {b['submissions']} submissions")
        print(b["failed_tail"], file=sys.stderr)
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
