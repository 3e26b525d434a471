"""API load bench: p50/p95 of the REST API under 50 concurrent clients (Locust, headless), against the same
service calls made in-process in the same run.

A scratch PostgreSQL database and Redis database; one creator seeded with ``--rows`` (10,000) finished
generations; ``veogen api`` as its own process (``--processes`` Uvicorn processes, by default VEOGEN_API_PROCESSES as
``veogen up`` runs it); Locust
(``bench/locustfile.py``) with ``--clients`` (50) scripts — after ``--warmup`` (10) seconds of the same load,
not counted — each pausing 0.5–1.5 s between requests,
listing the newest page of those generations three times in four and submitting an offline
text-to-video request once in four (free; every request new, so none is a repeat or a replay).
The rate limits and the open-generation cap are raised out of the way (they are not what is measured;
no worker runs, so submitted rows stay queued). Then the same two calls the routes make —
``Generations.list_generations`` of page 1 and ``Generations.submit`` — are timed in this process,
one after another, ``--calls`` times each. The report prints both and the ratio API ÷ in-process.

Run from the repository root (``make bench-api``)::

    .venv/bin/python -m bench.api_load [--clients 50] [--seconds 30] [--rows 10000] [--processes N] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.inflight import child_env
from bench.pipeline import scratch_database, scratch_redis
from bench.processes import ROOT, children
from bench.webhooks import answers, free_port, wait_for

LIST = "GET /v1/generations"
SUBMIT = "POST /v1/generations"
OFFLINE = "offline-preview"


def make_settings(database_url: str, redis_url: str, data_dir: Path, port: int) -> Any:
    from core.config import Settings

    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_url,
        api_host="127.0.0.1",
        api_port=port,
        api_reads_per_minute=10_000_000,
        api_submits_per_minute=10_000_000,
        default_monthly_budget_usd=Decimal(1_000_000),
        default_max_open_generations=10_000_000,
        duplicate_window_seconds=0,
        scheduler_metrics_port=0,
        worker_metrics_port=0,
        log_level="WARNING",
    )


def seed(studio: Any, user_id: int, rows: int) -> None:
    """``rows`` finished generations for the user: one made by the service, copied in one INSERT … SELECT."""
    from sqlalchemy import text

    from core.models import Generation
    from core.services.generations import GenerationForm

    view, _ = studio.generations.submit(
        user_id,
        GenerationForm(model=OFFLINE, prompt="seed: a lantern over the river", duration_seconds=2, resolution="240p",
                       idempotency_key="seed-template"),
    )  # fmt: skip
    columns = [c.name for c in Generation.__table__.columns]
    replaced = {
        "id": "md5(g.id || n::text)",
        "idempotency_key": "'seed-' || n::text",
        "prompt": "'seed ' || n::text || ': a lantern over the river at dusk'",
        "status": "'succeeded'",
        "created_at": "g.created_at - n * interval '1 minute'",
        "updated_at": "g.created_at - n * interval '1 minute'",
        "finished_at": "g.created_at - n * interval '1 minute'",
    }
    select_list = ", ".join(replaced.get(c, f"g.{c}") for c in columns)
    with studio.engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO generations ({', '.join(columns)}) "
                f"SELECT {select_list} FROM generations g, generate_series(1, :rows) n WHERE g.id = :id"
            ),
            {"rows": rows - 1, "id": view.id},
        )
        conn.execute(text("ANALYZE generations"))


def percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[94]


def in_process(studio: Any, user_id: int, calls: int) -> dict[str, tuple[float, float]]:
    """The routes' service calls, one after another, in milliseconds (p50, p95)."""
    from core.services.generations import GenerationForm

    lists, submits = [], []
    for _ in range(calls):
        started = time.perf_counter()
        studio.generations.list_generations(user_id, page=1, statuses=[], models=[], search="")
        lists.append((time.perf_counter() - started) * 1000)
        key = uuid.uuid4().hex
        prompt = f"a lantern over the river, take {key[:8]}"
        form = GenerationForm(model=OFFLINE, prompt=prompt, duration_seconds=2, resolution="240p", idempotency_key=key)
        started = time.perf_counter()
        studio.generations.submit(user_id, form)
        submits.append((time.perf_counter() - started) * 1000)
    return {LIST: percentiles(lists), SUBMIT: percentiles(submits)}


def locust(url: str, token: str, clients: int, seconds: int, folder: Path) -> dict[str, dict[str, float]]:
    """Run Locust headless; its figures per request name (milliseconds, counts)."""
    env = {**os.environ, "VEOGEN_TOKEN": token}
    subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
         "-u", str(clients), "-r", str(clients), "-t", f"{seconds}s", "--host", url,
         "--csv", str(folder / "locust"), "--only-summary", "--loglevel", "WARNING"],
        env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    found = {}
    with open(folder / "locust_stats.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["Name"] in (LIST, SUBMIT):
                found[row["Name"]] = {
                    "p50": float(row["50%"]),
                    "p95": float(row["95%"]),
                    "requests": float(row["Request Count"]),
                    "failures": float(row["Failure Count"]),
                    "rps": float(row["Requests/s"]),
                }
    return found


def run(args: argparse.Namespace) -> dict[str, Any]:
    from core.studio import build_studio

    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="veogen-bench-api-")))
        (folder / "logs").mkdir()
        database_url, database = stack.enter_context(scratch_database(args.database_url, folder))
        redis_url, redis = stack.enter_context(scratch_redis(args.redis_url, folder))
        port = free_port()
        settings = make_settings(database_url, redis_url, folder / "data", port)
        studio = build_studio(settings)
        stack.callback(studio.engine.dispose)
        user = studio.accounts.add_user("bench", "bench-password-1").id
        seed(studio, user, args.rows)
        _view, token = studio.tokens.create(user, "bench", ["read", "generate"], 1)
        procs = stack.enter_context(children(child_env(settings), folder / "logs"))
        processes = args.processes or settings.api_processes
        procs.start("api", "-m", "core.cli", "api", "--processes", str(processes))
        wait_for("the API", lambda: answers(port), procs, 60)
        url = f"http://127.0.0.1:{port}"
        locust(url, token, args.clients, args.warmup, folder)  # connections, caches and the first requests
        api = locust(url, token, args.clients, args.seconds, folder)
        procs.check_alive()
        problems = procs.problems()
        local = in_process(studio, user, args.calls)
    return {
        "database": database,
        "redis": redis,
        "rows": args.rows,
        "processes": processes,
        "clients": args.clients,
        "seconds": args.seconds,
        "api": api,
        "in_process": {name: {"p50": p50, "p95": p95} for name, (p50, p95) in local.items()},
        "child_problems": problems[:20],
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"{result['clients']} clients for {result['seconds']} s against {result['processes']} API process(es); "
        f"a user with {result['rows']:,} generations; "
        f"{result['database']}; {result['redis']}",
        "",
        "| | API p50 | API p95 | in-process p50 | in-process p95 | p95 ratio | requests (failed) | req/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in (LIST, SUBMIT):
        api, local = result["api"].get(name), result["in_process"][name]
        if api is None:
            lines.append(f"| {name} | no requests | | | | | | |")
            continue
        lines.append(
            f"| {name} | {api['p50']:.0f} ms | {api['p95']:.0f} ms | {local['p50']:.1f} ms | {local['p95']:.1f} ms "
            f"| {api['p95'] / local['p95']:.1f}× | {api['requests']:.0f} ({api['failures']:.0f}) | {api['rps']:.1f} |"
        )
    if result["child_problems"]:
        lines += ["", "The API process logged:", *result["child_problems"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=10, help="seconds of the same load before measuring")
    parser.add_argument("--processes", type=int, default=0, help="API processes (default: VEOGEN_API_PROCESSES)")
    parser.add_argument("--calls", type=int, default=300, help="in-process calls of each kind")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/veogen_bench_api"),
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args)
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
