"""Webhooks bench: from "the provider finished" to "playable in our gallery", with webhooks and with polling only.

For each mode, a fresh studio (a scratch PostgreSQL database, a flushed Redis
database, a new Gemini stand-in served from this process) runs exactly two
``python -m workers.main`` and one ``python -m workers.scheduler``; N
generations of Gemini Omni Flash are submitted with ``studio.generations.submit``
in a steady stream (``--rate`` per second, over ``USERS`` creators, the
``PROMPTS`` in turn, each drawn once by the stand-in during the warm-up), and
every job takes a render time drawn uniformly from
``--latency-min``..``--latency-max`` at the stand-in (its latency knob is turned
to a new random value every ``DIAL_SECONDS``, so jobs accepted one after
another finish at unrelated moments of their poll schedules).

* **webhooks**: the project webhook is registered at the stand-in
  (``studio.webhooks.register`` with a loopback ``http://`` address, which the
  product accepts for this machine only) and ``veogen webhooks serve`` runs: the
  stand-in POSTs a signed ``interaction.completed`` when a job finishes, the
  receiver queues ``Pipeline.poll_now``; timed polls slow to the safety interval.
* **polling only**: the same studio without a webhook registered and no
  receiver (the product as installed without webhooks).
* **lost deliveries** (``--lost-n``, shorter): the webhook registered and the
  receiver running, but the stand-in drops every delivery, so each generation
  waits for its safety poll.

The poll settings are the product's defaults in every mode. Per generation,
latency = the row's ``finished_at`` (status ``succeeded``: stored, probed,
thumbnailed) − the stand-in job's ``finished_at``. Timed polls = ``poll_count``
(reads that found the job pending) + 1 unless a ``webhook`` event on the
timeline triggered the read that found it done; cross-checked against the
stand-in's ``interaction GET`` count. The report prints the modes side by side
and the ratio webhooks / polling only.

Run from the repository root::

    .venv/bin/python -m bench.webhooks [--n 200] [--lost-n 20] [--rate 2] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import signal
import socket
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.inflight import child_env
from bench.pipeline import scratch_database, scratch_redis
from bench.processes import ROOT, Children, children, cpu_seconds, rss_mb

MODEL = "gemini-omni-1.1-flash"
"""Gemini Omni Flash, which the stand-in serves to an API key through the Interactions API."""

API_KEY = "test-key"
"""The stand-in's Gemini API key (a local stand-in, not a secret)."""

PROMPTS = (
    "A kingfisher dives into a still pond",
    "A paper boat drifting down a rainy street at dusk",
    "A lighthouse in a storm, waves breaking on the rocks",
    "A heron lifts off a misty lake at dawn",
)
"""The prompts, in turn. The warm-up asks for each once, so the stand-in (which caches its renders by request)
has drawn every video before the measured stream: its rendering, which is Google's work, not ours, does not
take the 2 cores from the studio's processes. Repeats are confirmed (``confirm_repeat``), as a user may."""

USERS = 10
"""Creators the generations are spread over (admission is round-robin between users)."""

DIAL_SECONDS = 0.02
"""How often the stand-in's latency knob gets a new random value while jobs are being accepted, in seconds."""

WARMUP_LATENCY_SECONDS = 1.0
"""Render time of the unmeasured warm-up generations at the stand-in, in seconds."""

MODES = ("webhooks", "polling", "lost")
"""The runs, in order: webhooks delivered, no webhook at all, webhook registered but every delivery lost."""

TITLES = {"webhooks": "webhooks", "polling": "polling only", "lost": "deliveries lost"}


# -- settings and processes ---------------------------------------------------------


def make_settings(database_url: str, redis_url: str, data_dir: Path, standin_url: str, receiver_port: int) -> Any:
    """The product's poll and webhook defaults; only the admission caps are out of the way (not what is measured)."""
    from core.config import Settings

    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_url,
        gemini_api_key=API_KEY,
        veo_base_url=standin_url,
        max_concurrent_operations=100_000,
        submits_per_minute=100_000,
        user_max_concurrent=100_000,
        default_monthly_budget_usd=Decimal(1_000_000_000),
        default_max_open_generations=100_000,
        webhook_host="127.0.0.1",
        webhook_port=receiver_port,
        webhook_metrics_port=0,
        scheduler_metrics_port=0,
        worker_metrics_port=0,
        log_level="WARNING",
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def wait_for(what: str, predicate: Any, procs: Children, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        procs.check_alive()
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what} after {timeout:.0f} s:\n{procs.tail()}")
        time.sleep(0.2)


class LatencyDial:
    """Turns the stand-in's ``latency_seconds`` to a fresh uniform value every ``DIAL_SECONDS`` while running."""

    def __init__(self, standin: Any, low: float, high: float, seed: int) -> None:
        self.standin, self.low, self.high = standin, low, high
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._turn, name="latency-dial", daemon=True)

    def _turn(self) -> None:
        while not self.stop.is_set():
            self.standin.configure(latency_seconds=round(self.rng.uniform(self.low, self.high), 3))
            self.stop.wait(DIAL_SECONDS)

    def __enter__(self) -> LatencyDial:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


# -- one mode ---------------------------------------------------------------------


def submit_one(studio: Any, user_id: int, prompt: str) -> str:
    from core.services.generations import GenerationForm

    form = GenerationForm(
        model=MODEL,
        prompt=prompt,
        duration_seconds=4,
        aspect_ratio="16:9",
        resolution="720p",
        idempotency_key=uuid.uuid4().hex,
        confirm_repeat=True,
    )
    return str(studio.generations.submit(user_id, form)[0].id)


def open_count(studio: Any, ids: list[str]) -> int:
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


def rows_of(studio: Any, ids: list[str]) -> tuple[list[Any], dict[str, Counter[str]], dict[str, float]]:
    """The measured rows; the non-status timeline events (webhook, reconcile, retry) of each; when a webhook
    first announced each one (Unix time)."""
    from sqlalchemy import func, select

    from core.models import Event, Generation
    from core.pipeline import WEBHOOK_EVENT

    with studio.sessions() as session:
        rows = session.execute(
            select(
                Generation.id,
                Generation.status,
                Generation.operation_name,
                Generation.poll_count,
                Generation.provider_done_at,
                Generation.finished_at,
                Generation.error_message,
            ).where(Generation.id.in_(ids))
        ).all()
        kinds = session.execute(
            select(Event.generation_id, Event.kind, func.count(), func.min(Event.at))
            .where(Event.generation_id.in_(ids), Event.kind != "status")
            .group_by(Event.generation_id, Event.kind)
        ).all()
    events: dict[str, Counter[str]] = {}
    announced: dict[str, float] = {}
    for gid, kind, count, first in kinds:
        events.setdefault(gid, Counter())[kind] += int(count)
        if kind == WEBHOOK_EVENT:
            announced[gid] = first.timestamp()
    return list(rows), events, announced


class Meter:
    """Samples, once a second, the queue depth, the children's resident memory and their CPU time by role."""

    def __init__(self, studio: Any, procs: Children) -> None:
        self.studio, self.procs = studio, procs
        self.peak_queue = 0
        self.peak_rss: defaultdict[str, float] = defaultdict(float)
        self.cpu: dict[int, tuple[str, float]] = {}
        self.start_cpu: dict[int, float] = {}
        self.bench_cpu = time.process_time()

    def start(self) -> None:
        self.sample()
        self.start_cpu = {pid: cpu for pid, (_, cpu) in self.cpu.items()}
        self.bench_cpu = time.process_time()

    def sample(self) -> None:
        self.procs.check_alive()
        self.peak_queue = max(self.peak_queue, int(self.studio.queue.queue.count))
        rss: defaultdict[str, float] = defaultdict(float)
        for label, proc in self.procs.procs:
            rss[label] += rss_mb(proc.pid)
            self.cpu[proc.pid] = (label, cpu_seconds(proc.pid) or self.cpu.get(proc.pid, (label, 0.0))[1])
        for label, mb in rss.items():
            self.peak_rss[label] = max(self.peak_rss[label], mb)

    def cpu_used(self) -> dict[str, float]:
        """CPU seconds used since ``start`` by role (worker, scheduler, receiver) and by this process (stand-in)."""
        used: defaultdict[str, float] = defaultdict(float)
        for pid, (label, cpu) in self.cpu.items():
            used[label] += cpu - self.start_cpu.get(pid, 0.0)
        used["bench process (stand-in)"] = time.process_time() - self.bench_cpu
        return dict(used)


def run_mode(mode: str, n: int, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """One fresh studio and its processes; warm up, then N generations in a steady stream; return the figures."""
    from core.studio import build_studio
    from core.webhook_receiver import PATH
    from standin import Behaviour, VeoStandIn

    folder.mkdir()
    (folder / "logs").mkdir()
    with contextlib.ExitStack() as stack:
        database_url, database = stack.enter_context(scratch_database(args.database_url, folder))
        redis_url, redis = stack.enter_context(scratch_redis(args.redis_url, folder))
        standin = VeoStandIn(api_key=API_KEY, behaviour=Behaviour(latency_seconds=WARMUP_LATENCY_SECONDS)).start()
        stack.callback(standin.stop)
        port = free_port()
        settings = make_settings(database_url, redis_url, folder / "data", standin.url, port)
        studio = build_studio(settings)
        stack.callback(studio.engine.dispose)
        procs = stack.enter_context(children(child_env(settings), folder / "logs"))
        if mode != "polling":
            studio.webhooks.register(f"http://127.0.0.1:{port}{PATH}")
            procs.start("receiver", "-m", "core.cli", "webhooks", "serve")
            wait_for("the webhook receiver", lambda: answers(port), procs, 60)
        for _ in range(2):
            procs.start("worker", "-m", "workers.main")
        procs.start("scheduler", "-m", "workers.scheduler")
        if mode != "polling":
            wait_for("healthy webhooks", studio.webhooks.healthy, procs, 60)
        users = [studio.accounts.add_user(f"bench{u + 1}", "bench-password-1").id for u in range(USERS)]

        # Warm-up (not measured): imports, the first client, SQL compilation, in every process.
        warm = [submit_one(studio, users[i % USERS], prompt) for i, prompt in enumerate(PROMPTS)]
        wait_for("the warm-up generations", lambda: open_count(studio, warm) == 0, procs, 120)
        if mode == "lost":
            standin.configure(drop_deliveries=True)
        before, received_before = standin.stats(), receiver_counts(studio)
        meter = Meter(studio, procs)
        meter.start()

        started = next_sample = time.monotonic()
        ids: list[str] = []
        timeout = n / args.rate + args.latency_max + settings.webhook_safety_poll_seconds + 180
        with LatencyDial(standin, args.latency_min, args.latency_max, seed=args.seed):
            while len(ids) < n or standin.stats().interactions_created < before.interactions_created + n:
                now = time.monotonic()
                if len(ids) < n and now >= started + len(ids) / args.rate:
                    ids.append(submit_one(studio, users[len(ids) % USERS], PROMPTS[len(ids) % len(PROMPTS)]))
                    continue
                if now - started > timeout:
                    break
                if now >= next_sample:
                    meter.sample()
                    next_sample = now + 1.0
                time.sleep(0.01)
        submit_seconds = time.monotonic() - started
        while time.monotonic() - started <= timeout:
            meter.sample()
            if open_count(studio, ids) == 0:
                break
            time.sleep(1.0)
        wall = time.monotonic() - started
        meter.sample()
        standin.wait_for_deliveries(timeout=10)
        after = standin.stats()
        jobs = {job["name"]: job for job in standin.jobs()}
        rows, events, announced = rows_of(studio, ids)
        ours = {row.operation_name for row in rows}
        deliveries = [d for d in standin.deliveries() if d["data_id"] in ours]
        delivered: dict[str, float] = {}
        for d in deliveries:
            if d["result"] == "delivered":
                delivered.setdefault(d["data_id"], d["time"])
        received = receiver_counts(studio) - received_before
        logged = procs.problems()
    return {
        "mode": mode,
        "n": n,
        "database": database,
        "redis": redis,
        "submit_seconds": submit_seconds,
        "wall_seconds": wall,
        **measure(rows, events, jobs, announced, delivered),
        "interaction_gets": after.interaction_gets - before.interaction_gets,
        "file_gets": after.file_gets - before.file_gets,
        "interactions_created": after.interactions_created - before.interactions_created,
        "deliveries": dict(Counter(d["result"] for d in deliveries)),
        "received": dict(received),
        "peak_queue": meter.peak_queue,
        "peak_rss_mb": dict(meter.peak_rss),
        "cpu_seconds": meter.cpu_used(),
        "logged_problems": len(logged),
        "logged_problems_first": logged[:5],
    }


def receiver_counts(studio: Any) -> Counter[str]:
    """The receiver's deliveries by outcome so far (``accepted``, ``duplicate``, ...), as it counts them in Redis."""
    from core.webhooks import EVENTS_KEY

    raw = studio.redis.hgetall(EVENTS_KEY)
    return Counter({k.decode(): int(v) for k, v in raw.items() if not k.startswith(b"last:")})


def measure(
    rows: list[Any],
    events: dict[str, Counter[str]],
    jobs: dict[str, dict[str, Any]],
    announced: dict[str, float],
    delivered: dict[str, float],
) -> dict[str, Any]:
    """Latency, its stages, and polls per generation from the rows, their timelines and the stand-in's records."""
    from core.pipeline import WEBHOOK_EVENT

    stages: dict[str, list[float]] = {
        k: [] for k in ("latency", "noticed", "collect", "render", "delivered", "announced", "read")
    }
    timed_polls = webhook_reads = 0
    other_events: Counter[str] = Counter()
    for row in rows:
        kinds = events.get(row.id, Counter())
        other_events.update({k: v for k, v in kinds.items() if k != WEBHOOK_EVENT})
        by_webhook = kinds[WEBHOOK_EVENT] > 0
        webhook_reads += by_webhook
        timed_polls += row.poll_count + (0 if by_webhook else 1)
        job = jobs.get(row.operation_name or "")
        if row.status != "succeeded" or job is None or job["finished_at"] is None:
            continue
        done, read, final = job["finished_at"], row.provider_done_at.timestamp(), row.finished_at.timestamp()
        stages["render"].append(done - job["created"])
        stages["latency"].append(final - done)
        stages["noticed"].append(read - done)
        stages["collect"].append(final - read)
        if by_webhook and row.operation_name in delivered and row.id in announced:
            stages["delivered"].append(delivered[row.operation_name] - done)
            stages["announced"].append(announced[row.id] - delivered[row.operation_name])
            stages["read"].append(read - announced[row.id])
    return {
        "statuses": dict(Counter(row.status for row in rows)),
        "failures": sorted({r.error_message for r in rows if r.status != "succeeded" and r.error_message})[:5],
        "succeeded_measured": len(stages["latency"]),
        **{name: summary(values) for name, values in stages.items()},
        "timed_polls": timed_polls,
        "webhook_reads": webhook_reads,
        "other_events": dict(other_events),
    }


def summary(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "min": None, "max": None}
    return {"p50": percentile(values, 50), "p95": percentile(values, 95), "min": min(values), "max": max(values)}


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default)."""
    ordered = sorted(values)
    at = (len(ordered) - 1) * q / 100
    low = int(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


# -- figures and report ------------------------------------------------------------


def per_generation(m: dict[str, Any]) -> dict[str, float]:
    n = max(1, m["n"])
    return {
        "timed_polls": m["timed_polls"] / n,
        "interaction_gets": m["interaction_gets"] / n,
        "standin_timed_polls": (m["interaction_gets"] - m["webhook_reads"]) / n,
        "webhook_reads": m["webhook_reads"] / n,
    }


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
    }


def figures_of(modes: dict[str, dict[str, Any]], args: argparse.Namespace, run: dict[str, Any]) -> dict[str, Any]:
    from core.config import Settings

    defaults = Settings.model_fields
    figures: dict[str, Any] = {
        **run,
        **machine(),
        "n": args.n,
        "lost_n": args.lost_n,
        "rate_per_second": args.rate,
        "latency_range_seconds": [args.latency_min, args.latency_max],
        "users": USERS,
        "warmup": len(PROMPTS),
        "poll_interval_seconds": defaults["poll_interval_seconds"].default,
        "poll_max_interval_seconds": defaults["poll_max_interval_seconds"].default,
        "webhook_safety_poll_seconds": defaults["webhook_safety_poll_seconds"].default,
        "modes": {
            name: {
                **m,
                "per_generation": per_generation(m),
                "cpu_ms_per_generation": {role: s * 1000 / m["n"] for role, s in m["cpu_seconds"].items()},
            }
            for name, m in modes.items()
        },
    }
    hook, poll = modes.get("webhooks"), modes.get("polling")
    if hook and poll:
        h, p = figures["modes"]["webhooks"], figures["modes"]["polling"]
        figures["ratio"] = {
            "p50": hook["latency"]["p50"] / poll["latency"]["p50"],
            "p95": hook["latency"]["p95"] / poll["latency"]["p95"],
            "timed_polls": h["per_generation"]["timed_polls"] / max(1e-9, p["per_generation"]["timed_polls"]),
        }
        figures["goals"] = {
            "webhooks_p95_under_2_s": hook["latency"]["p95"] < 2.0,
            "webhooks_polls_under_0_3": h["per_generation"]["timed_polls"] < 0.3,
        }
    return figures


def report(f: dict[str, Any]) -> str:
    modes = f["modes"]
    names = [name for name in MODES if name in modes]
    ratio = f.get("ratio")

    def row(label: str, cell: Any, ratio_cell: str = "") -> str:
        return f"  {label:<38}" + "".join(f"{cell(modes[name]):>18}" for name in names) + f"{ratio_cell:>18}"

    def latency(q: str) -> Any:
        return lambda m: f"{m['latency'][q]:.2f}"

    def rated(key: str) -> str:
        return f"{ratio[key]:.3f}x" if ratio else ""

    def pair(part: str) -> Any:
        return lambda m: "-" if m[part]["p50"] is None else f"{m[part]['p50']:.2f} / {m[part]['p95']:.2f}"

    def per_gen(key: str) -> Any:
        return lambda m: f"{m['per_generation'][key]:.2f}"

    def by_role(key: str, fmt: str) -> Any:
        roles = ("worker", "scheduler", "receiver", "bench process (stand-in)")
        return lambda m: " / ".join(format(m[key].get(r, 0), fmt) if r in m[key] else "-" for r in roles)

    lines = [
        f"VeoGen webhooks bench, {f['date']}, {f['wall_seconds']:.0f} s in all",
        f"machine: {f['platform']}, {f['cpus']} CPUs ({f['cpu_model']}), Python {f['python']};"
        f" load average {f['load_before']:.2f} before, {f['load_after']:.2f} after",
        f"backend: {modes[names[0]]['database']}; {modes[names[0]]['redis']}; a fresh database, Redis db and"
        " stand-in for each mode",
        f"work: {MODEL} (720p, 4 s, text) from {f['users']} users, {f['rate_per_second']:g} submits/s; each job takes"
        f" {f['latency_range_seconds'][0]:g}-{f['latency_range_seconds'][1]:g} s (uniform) at the stand-in, which"
        f" draws its video at 240p; 2 x workers.main + workers.scheduler (+ veogen webhooks serve);"
        f" {f['warmup']} warm-up generations per mode",
        f"poll settings: the product's defaults in every mode: first poll {f['poll_interval_seconds']:g} s, backing"
        f" off x1.5 to {f['poll_max_interval_seconds']:g} s; {f['webhook_safety_poll_seconds']:g} s while webhooks"
        " are healthy",
        "",
        f"  {'seconds':<38}"
        + "".join(f"{TITLES[name]:>18}" for name in names)
        + f"{'webhooks/polling' if ratio else '':>18}",
        f"  {'':<38}" + "".join(f"{'n=' + str(modes[name]['n']):>18}" for name in names),
        row("provider finished -> playable  p50", latency("p50"), rated("p50")),
        row("                               p95", latency("p95"), rated("p95")),
        row("                               max", latency("max")),
        row("  finished -> read it done  p50 / p95", pair("noticed")),
        row("    finished -> delivery answered", pair("delivered")),
        row("    answered -> poll_now (event job)", pair("announced")),
        row("    poll_now -> read it done (poll job)", pair("read")),
        row("  read it done -> playable", pair("collect")),
        "",
        row("timed polls per generation (rows)", per_gen("timed_polls"), rated("timed_polls")),
        row("stand-in: interaction GETs per gen", per_gen("interaction_gets")),
        row("  of them after a webhook", per_gen("webhook_reads")),
        row("  timed (GETs - webhook reads)", per_gen("standin_timed_polls")),
        row("deliveries (stand-in)", lambda m: listed(m["deliveries"])),
        row("receiver outcomes", lambda m: listed(m["received"])),
        "",
        row("render at the stand-in min-max", lambda m: f"{m['render']['min']:.1f}-{m['render']['max']:.1f}"),
        row("submits took / all final after", lambda m: f"{m['submit_seconds']:.0f} / {m['wall_seconds']:.0f}"),
        row("peak queue depth (jobs)", lambda m: str(m["peak_queue"])),
        row("CPU ms per gen: workers/sched/recv/us", by_role("cpu_ms_per_generation", ".0f")),
        row("peak RSS MB: workers/sched/recv", lambda m: by_role("peak_rss_mb", ".0f")(m).rsplit(" / ", 1)[0]),
        row("statuses", lambda m: listed(m["statuses"])),
        row("other timeline events", lambda m: listed(m["other_events"])),
        row("child log problems", lambda m: str(m["logged_problems"])),
    ]
    for name in names:
        lines += [f"    {name}: {line[:200]}" for line in modes[name]["logged_problems_first"][:2]]
        lines += [f"    {name} failed: {message[:200]}" for message in modes[name]["failures"]]
    if "goals" in f:
        goals = f["goals"]
        lines += [
            "",
            f"goal p95 under 2 s with webhooks:                 {met(goals['webhooks_p95_under_2_s'])}",
            f"goal under 0.3 timed polls per gen with webhooks: {met(goals['webhooks_polls_under_0_3'])}",
        ]
    lines += [
        "",
        "How each figure was obtained:",
        "  latency: per succeeded generation, its finished_at (status succeeded: video stored, probed,"
        " thumbnailed) - the stand-in job's finished_at (both Unix clocks of this machine); p50/p95 by linear"
        " interpolation.",
        "  read it done: provider_done_at (the read that found the job done moved the row out of 'running');"
        " playable: finished_at. The webhook path: the stand-in's log of the delivery's 2xx answer (the receiver"
        " answers once it has queued the event job), the 'webhook' timeline event (Pipeline.poll_now, run by that"
        " job, which queues the poll), then provider_done_at (that poll job ran and the stand-in answered).",
        "  timed polls: poll_count (reads that found the job pending) + 1 for the read that found it done unless a"
        " 'webhook' timeline event triggered that read; divided by n.",
        "  stand-in: its interaction_gets counter over the measured stream (warm-up excluded); the generations with"
        " a 'webhook' event are the reads a delivery triggered, the rest were timed.",
        "  polling only: no webhook registered, no receiver. Webhooks and deliveries lost: registered with"
        " studio.webhooks.register at http://127.0.0.1 (the product takes plain http for loopback only, as the"
        " integration tests do), veogen webhooks serve running, Webhooks.healthy() true before the first submit.",
        "  render: each job's finished_at - created at the stand-in; its latency knob is turned to a random value"
        f" every {DIAL_SECONDS * 1000:.0f} ms while the jobs are accepted.",
        "  CPU: utime+stime of each child (/proc/<pid>/stat) and process_time() of this process (the stand-in, its"
        " renders and webhook senders, the submits) over the measured stream, / n; PostgreSQL and Redis not counted.",
    ]
    return "\n".join(lines)


def listed(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(counts.items())) or "-"


def met(goal: bool) -> str:
    return "met" if goal else "NOT met"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=200, help="generations with webhooks and with polling (default 200)")
    parser.add_argument(
        "--lost-n", type=int, default=20, help="generations with every delivery lost (default 20; 0 skips the run)"
    )
    parser.add_argument(
        "--modes",
        default=",".join(MODES),
        help=f"comma-separated runs, in this order (default {','.join(MODES)})",
    )
    parser.add_argument("--rate", type=float, default=2.0, help="submits per second (default 2)")
    parser.add_argument("--latency-min", type=float, default=5.0, help="shortest render at the stand-in (default 5 s)")
    parser.add_argument("--latency-max", type=float, default=25.0, help="longest render at the stand-in (default 25 s)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the render times (default 1)")
    parser.add_argument(
        "--database-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/veogen_bench_webhooks",
        help="scratch PostgreSQL database, created and dropped for each mode (its name must contain 'bench')",
    )
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/12", help="scratch Redis database, flushed (not db 0)"
    )
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)
    if args.n < 1 or args.lost_n < 0 or args.rate <= 0:
        parser.error("--n must be at least 1, --lost-n at least 0, --rate positive")
    args.modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    if not args.modes or set(args.modes) - set(MODES):
        parser.error(f"--modes takes some of {', '.join(MODES)}")
    if not 0 < args.latency_min <= args.latency_max:
        parser.error("--latency-min must be positive and at most --latency-max")
    if not args.database_url:
        parser.error("--database-url must name a PostgreSQL database (four processes write at once)")
    return args


def _stop(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    signal.signal(signal.SIGTERM, _stop)  # unwind like Ctrl-C: children stopped, databases dropped, Redis flushed
    started, load_before = time.monotonic(), os.getloadavg()[0]
    sizes = {"webhooks": args.n, "polling": args.n, "lost": args.lost_n}
    modes: dict[str, dict[str, Any]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="veogen-bench-webhooks-") as tmp:
            for mode in MODES:
                if mode in args.modes and sizes[mode]:
                    modes[mode] = run_mode(mode, sizes[mode], args, Path(tmp) / mode)
    except KeyboardInterrupt:
        print("interrupted: child processes stopped, scratch database dropped, Redis flushed", file=sys.stderr)
        return 130
    run = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_seconds": time.monotonic() - started,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }
    figures = figures_of(modes, args, run)
    print(report(figures))
    if args.json:
        print(json.dumps(figures, indent=2, default=str))
    problems = [
        f"{name}: statuses {m['statuses']}, expected {m['n']} succeeded"
        for name, m in modes.items()
        if m["statuses"].get("succeeded") != m["n"] or m["succeeded_measured"] != m["n"]
    ]
    problems += [
        f"{name}: the stand-in created {m['interactions_created']} interactions for {m['n']} generations"
        for name, m in modes.items()
        if m["interactions_created"] != m["n"]
    ]
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
