"""Operator tools against real processes: the exporter, worker and scheduler metrics pass
``promtool check metrics`` and a real Prometheus scrapes them and loads our alert rules; the
rq-dashboard of ``veogen dashboard`` wants basic auth, and requeueing failed jobs from it never
submits a paid generation twice (Veo through the real google-genai client and the stand-in)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from sqlalchemy import select, text

from core.config import Settings
from core.models import LedgerEntry
from core.queue import POLL_JOB, job_id
from core.status import Status
from core.studio import Studio
from standin import VeoStandIn
from tests.support import REDIS_URL, ROOT, Processes, free_port, make_settings, offline_form, veo_form, wait_until

pytestmark = pytest.mark.integration

DASHBOARD_PASSWORD = "a-dashboard-password-for-tests"


def get(
    url: str, *, auth: tuple[str, str] | None = None, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(":".join(auth).encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("promtool")
    assert exe, "promtool comes with Debian's prometheus package, installed by `make test` (scripts/system-deps.sh)"
    return subprocess.run([exe, *args], input=stdin, capture_output=True, text=True, timeout=60)


@pytest.fixture
def settings(tmp_path: Path, pg_url: str, standin: VeoStandIn) -> Settings:
    return make_settings(
        tmp_path,
        database_url=pg_url,
        redis_url=REDIS_URL,
        gemini_api_key="test-key",
        veo_base_url=standin.url,
        exporter_port=free_port(),
        scheduler_metrics_port=free_port(),
        worker_metrics_port=free_port(),
        web_metrics_port=0,
        dashboard_port=free_port(),
        dashboard_password=DASHBOARD_PASSWORD,
    )


def start_cli(processes: Processes, *args: str) -> subprocess.Popen[bytes]:
    log = open(processes.logs / f"veogen-{args[0]}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.cli", *args], cwd=ROOT, env=processes.env, stdout=log, stderr=log
    )
    processes.procs.append(proc)
    return proc


def scrape(port: int) -> str:
    status, body = get(f"http://127.0.0.1:{port}/metrics")
    return body.decode() if status == 200 else ""


def prometheus_query(port: int, query: str) -> list[dict[str, object]]:
    status, body = get(f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": query}))
    return json.loads(body)["data"]["result"] if status == 200 else []


def test_metrics_pass_promtool_and_a_real_prometheus_scrapes_them(
    studio: Studio, settings: Settings, processes: Processes, tmp_path: Path
):
    user = studio.accounts.add_user("olga", "a long enough password").id
    gid = studio.generations.submit(user, offline_form("metrics: a lantern on a pier"))[0].id
    processes.scheduler()
    processes.worker()
    start_cli(processes, "exporter")
    assert wait_until(lambda: studio.generations.get_generation(user, gid).status is Status.SUCCEEDED, timeout=90)

    ports = {
        "veogen-exporter": settings.exporter_port,
        "veogen-scheduler": settings.scheduler_metrics_port,
        "veogen-worker": settings.worker_metrics_port,
    }
    for job, port in ports.items():
        assert wait_until(lambda port=port: "veogen_" in scrape(port), timeout=30), job
        checked = promtool("check", "metrics", stdin=scrape(port))
        assert checked.returncode == 0, f"{job}: {checked.stdout}{checked.stderr}"
    worker_text = scrape(settings.worker_metrics_port)
    assert 'veogen_jobs_total{outcome="ok",rq_job="poll_generation"}' in worker_text
    assert 'veogen_generations_finished_total{model="offline-preview",provider="offline",status="succeeded"} 1.0' in (
        worker_text
    )
    assert 'veogen_admission_submits_total{provider="offline"} 1.0' in scrape(settings.scheduler_metrics_port)

    prom_port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(path) for path in sorted((ROOT / "monitoring" / "rules").glob("*.yml"))],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]} for job, port in ports.items()
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    exe = shutil.which("prometheus")
    assert exe, "prometheus comes with Debian's prometheus package, installed by `make test`"
    log = open(tmp_path / "prometheus.log", "wb")  # noqa: SIM115
    prom = subprocess.Popen(
        [
            exe,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        stdout=log,
        stderr=log,
    )
    processes.procs.append(prom)

    def seen(query: str, value: float) -> bool:
        return any(float(r["value"][1]) == value for r in prometheus_query(prom_port, query))  # type: ignore[index]

    assert wait_until(lambda: seen('veogen_generations{status="succeeded"}', 1), timeout=60), (
        tmp_path / "prometheus.log"
    ).read_text()[-2000:]
    assert wait_until(lambda: seen("sum(up)", len(ports)), timeout=30)
    assert seen("veogen_workers_alive", 1)
    assert seen("veogen_scheduler_leader", 1)
    assert seen('sum(veogen_generations_finished_total{status="succeeded"})', 1)
    status, body = get(f"http://127.0.0.1:{prom_port}/api/v1/rules")
    groups = json.loads(body)["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert status == 200 and rules, "the alert rules did not load"
    assert all(rule["health"] != "err" for rule in rules), [r for r in rules if r["health"] == "err"]


def test_the_dashboard_wants_a_password_and_requeueing_never_pays_twice(
    studio: Studio, settings: Settings, processes: Processes, standin: VeoStandIn
):
    standin.configure(latency_seconds=4)
    user = studio.accounts.add_user("petra", "a long enough password").id
    gid = studio.generations.submit(user, veo_form("dashboard: a heron takes off"))[0].id
    processes.scheduler()
    processes.worker()
    start_cli(processes, "dashboard")
    base = f"http://127.0.0.1:{settings.dashboard_port}"
    assert wait_until(lambda: get(base + "/")[0] == 401, timeout=30)
    assert get(base + "/0/data/queues.json", auth=("operator", "wrong"))[0] == 401
    assert get(base + "/0/data/queues.json", auth=("someone", DASHBOARD_PASSWORD))[0] == 401
    assert get(base + "/0/data/queues.json", auth=("operator", DASHBOARD_PASSWORD))[0] == 200

    assert wait_until(lambda: standin.stats().submissions == 1, timeout=30)
    # Every poll job this generation ever had, as RQ leaves jobs whose worker died: failed.
    registry = studio.queue.queue.failed_job_registry
    with studio.sessions() as s:
        current = s.execute(text("SELECT job_seq FROM generations WHERE id = :id"), {"id": gid}).scalar_one()
    for seq in range(current + 1):
        job = Job.create(
            POLL_JOB,
            args=(gid, seq),
            id=job_id(gid, seq) + "-dead",
            connection=studio.redis,
            serializer=JSONSerializer,
            origin=studio.queue.queue.name,
        )
        job.set_status(JobStatus.FAILED)
        job.save()
        registry.add(job, exc_string="Work-horse terminated unexpectedly")
    assert registry.get_job_count(cleanup=False) == current + 1

    operator = ("operator", DASHBOARD_PASSWORD)
    # A page on another site cannot make the operator's browser requeue or empty anything.
    for method in ("GET", "POST"):
        assert (
            get(base + "/requeue/veogen", auth=operator, method=method, headers={"Sec-Fetch-Site": "cross-site"})[0]
            == 403
        )
    assert (
        get(
            base + "/queue/veogen/failed/empty",
            auth=operator,
            method="POST",
            headers={"Origin": "https://evil.example"},
        )[0]
        == 403
    )
    assert registry.get_job_count(cleanup=False) == current + 1
    # The dashboard's own button: a same-origin request.
    same_origin = {"Sec-Fetch-Site": "same-origin", "Origin": base}
    status, body = get(base + "/requeue/veogen", auth=operator, method="POST", headers=same_origin)
    assert status == 200 and json.loads(body)["count"] == current + 1, body
    assert wait_until(lambda: studio.generations.get_generation(user, gid).status.is_final, timeout=90)
    assert studio.generations.get_generation(user, gid).status is Status.SUCCEEDED
    assert wait_until(lambda: studio.queue.counts()["queued"] == 0, timeout=30)
    assert registry.get_job_count(cleanup=False) == 0  # every requeued job ran, and did nothing paid
    finished = studio.queue.queue.finished_job_registry.get_job_ids(cleanup=False)
    assert {f"{job_id(gid, seq)}-dead" for seq in range(current + 1)} <= set(finished)
    status, body = get(base + "/0/data/queues.json", auth=("operator", DASHBOARD_PASSWORD))
    assert status == 200 and [q["name"] for q in json.loads(body)["queues"]] == ["veogen"]
    assert standin.stats().submissions == 1
    with studio.sessions() as s:
        entries = s.execute(
            select(LedgerEntry.kind, LedgerEntry.amount_usd).where(LedgerEntry.generation_id == gid)
        ).all()
    assert sorted(kind for kind, _ in entries) == ["reserve", "settle"]
    assert sum(amount for _, amount in entries) == Decimal("0.40")
