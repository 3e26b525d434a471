"""The baseline of bench/inflight.py: one RQ job per generation, held for the whole Veo operation.

``blocking_generation`` submits to the Veo stand-in over REST, polls until the
operation is done and downloads the video, all inside one job; ``python -m
bench.blocking REDIS_URL`` is one burst SimpleWorker for those jobs, with what
``workers.main`` preloads (av, numpy, Pillow, the job module) so that its
memory compares like with like. This is the design ARCHITECTURE.md rules out
("no RQ job ever blocks for the length of a Veo operation"), measured here
only as the yardstick.
"""

from __future__ import annotations

import json
import math
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.processes import children, rss_mb

BLOCKING_JOB = "bench.blocking.blocking_generation"
"""The baseline job, enqueued by dotted path."""

BASELINE_QUEUE = "bench-blocking"
"""RQ queue of the baseline jobs (apart from the pipeline's own queue)."""

HTTP_TIMEOUT_SECONDS = 30.0
"""Timeout of one request to the stand-in, in seconds."""


def _call(method: str, url: str, api_key: str, body: dict[str, Any] | None = None) -> bytes:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"x-goog-api-key": api_key})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as answer:
        return bytes(answer.read())


def blocking_generation(
    base_url: str, api_key: str, model: str, prompt: str, poll_seconds: float, deadline_seconds: float
) -> int:
    """Submit one Veo operation, hold this job until it is done, download the video; return its size in bytes."""
    body = {
        "instances": [{"prompt": prompt}],
        "parameters": {"durationSeconds": 4, "aspectRatio": "16:9", "resolution": "720p", "sampleCount": 1},
    }
    name = json.loads(_call("POST", f"{base_url}/v1beta/models/{model}:predictLongRunning", api_key, body))["name"]
    give_up = time.monotonic() + deadline_seconds
    while time.monotonic() < give_up:
        time.sleep(poll_seconds)
        operation = json.loads(_call("GET", f"{base_url}/v1beta/{name}", api_key))
        if operation.get("done"):
            samples = operation["response"]["generateVideoResponse"]["generatedSamples"]
            path = samples[0]["video"]["uri"].split("/v1beta/", 1)[1]  # the SDK, too, downloads from its base URL
            return len(_call("GET", f"{base_url}/v1beta/{path}", api_key))
    raise TimeoutError(f"{name} not done after {deadline_seconds:.0f} s")


def work(redis_url: str) -> None:
    """Run one burst SimpleWorker on the baseline queue, with ``workers.main``'s libraries preloaded."""
    from rq import Queue, SimpleWorker
    from rq.serializers import JSONSerializer

    import workers.main  # noqa: F401  (av, numpy, Pillow, the job module: like-for-like memory)
    from core.queue import connect

    connection = connect(redis_url)
    queue = Queue(BASELINE_QUEUE, connection=connection, serializer=JSONSerializer)
    SimpleWorker([queue], connection=connection, serializer=JSONSerializer).work(burst=True, logging_level="WARNING")


def run_baseline(
    studio: Any,
    standin: Any,
    env: dict[str, str],
    logs: Path,
    *,
    n: int,
    latency: float,
    model: str,
    prompt: str,
    poll_seconds: float,
) -> dict[str, Any]:
    """Run ``n`` blocking jobs on 2 SimpleWorker processes against the stand-in; return figures.

    Starts after the jobs are enqueued (as the pipeline's processes start after
    the submits) and ends when every job is finished or failed, both bursts
    have ended, or a time limit of ``ceil(n / 2)`` operations plus margins.
    """
    from rq import Queue
    from rq.job import Job, JobStatus
    from rq.serializers import JSONSerializer

    standin.reset()
    queue = Queue(BASELINE_QUEUE, connection=studio.redis, serializer=JSONSerializer)
    deadline = 3 * latency + 60
    job_ids = [
        queue.enqueue(
            BLOCKING_JOB,
            standin.url,
            standin.api_key,
            model,
            f"{prompt}, blocking take {i + 1}",
            poll_seconds,
            deadline,
            job_timeout=int(deadline + 60),
            result_ttl=3600,
            description=f"blocking generation {i + 1}",
        ).id
        for i in range(n)
    ]
    timeout = math.ceil(n / 2) * (latency + 2 * poll_seconds + 30) + 60
    peak_rss = 0.0
    statuses: list[Any] = []
    jobs: list[Any] = []
    with children(env, logs) as procs:
        t0 = time.time()
        redis_url = env["REDIS_URL"]
        workers = [procs.start("baseline", "-m", "bench.blocking", redis_url) for _ in range(2)]
        while time.time() - t0 < timeout:
            time.sleep(1)
            rss = sum(rss_mb(w.pid) for w in workers)
            peak_rss = max(peak_rss, rss)
            jobs = Job.fetch_many(job_ids, connection=studio.redis, serializer=JSONSerializer)
            statuses = [job.get_status(refresh=False) if job else None for job in jobs]
            if all(s in (JobStatus.FINISHED, JobStatus.FAILED) for s in statuses):
                break
            if all(w.poll() is not None for w in workers):
                break  # both bursts ended, whatever the jobs say
        ended = [job.ended_at.timestamp() for job in jobs if job and job.ended_at]
    stats = standin.stats()
    done = max(ended) if ended else time.time()
    return {
        "n": n,
        "finished": sum(1 for s in statuses if s == JobStatus.FINISHED),
        "failed_tail": procs.tail() if any(s != JobStatus.FINISHED for s in statuses) else "",
        "submissions": stats.submissions,
        "peak_in_flight": stats.peak_in_flight,
        "all_done_seconds": done - t0,
        "peak_worker_rss_mb": peak_rss,
    }


if __name__ == "__main__":
    work(sys.argv[1])
