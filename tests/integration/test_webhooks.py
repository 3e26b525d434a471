"""Webhooks end to end against the local stand-in of Google, on PostgreSQL + Redis: ``veogen webhooks
register | rotate | status`` through the real google-genai client, and a generation that only a signed
``video.generated`` delivery could have finished (the regular poll waits ten minutes) — received by the
receiver as a real process, verified, queued, polled at once by a real worker — and the same generation
finished by polling alone when every delivery is lost."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from core.cli import main
from core.config import Settings, get_settings
from core.models import AppSecret, Generation
from core.providers.google_webhooks import GoogleWebhooks
from core.services.webhooks import WEBHOOK_ROW
from core.status import Status
from core.studio import Studio
from core.webhook_receiver import PATH
from core.webhooks import EVENTS_KEY
from standin import Behaviour, VeoStandIn
from tests.support import (
    REDIS_URL,
    ROOT,
    VEO_MODEL,
    Processes,
    env_for,
    free_port,
    make_settings,
    veo_form,
    veogen_up,
    wait_until,
)

pytestmark = pytest.mark.integration

LONG = 600.0
"""The regular poll interval when only a webhook may finish a generation, in seconds."""


@pytest.fixture
def standin() -> Iterator[VeoStandIn]:
    """The stand-in serving Veo on the Gemini surface (an API key), which is where webhooks exist."""
    with VeoStandIn(api_key="test-key", behaviour=Behaviour(gemini_models=[VEO_MODEL])) as server:
        yield server


@pytest.fixture
def receiver_port() -> int:
    return free_port()


@pytest.fixture
def settings(tmp_path: Path, pg_url: str, standin: VeoStandIn, receiver_port: int) -> Settings:
    return make_settings(
        tmp_path,
        database_url=pg_url,
        redis_url=REDIS_URL,
        gemini_api_key="test-key",
        veo_base_url=standin.url,
        webhook_port=receiver_port,
        webhook_metrics_port=0,
        scheduler_metrics_port=0,
        worker_metrics_port=0,
        poll_interval_seconds=LONG,
        poll_max_interval_seconds=LONG,
    )


@pytest.fixture
def studio(studio: Studio) -> Iterator[Studio]:
    """The conftest studio, without a webhook registration left by another test."""
    with studio.engine.begin() as conn:
        conn.execute(delete(AppSecret).where(AppSecret.name == WEBHOOK_ROW))
    yield studio
    with studio.engine.begin() as conn:
        conn.execute(delete(AppSecret).where(AppSecret.name == WEBHOOK_ROW))


def receiver_url(port: int) -> str:
    return f"http://127.0.0.1:{port}{PATH}"


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


@pytest.fixture
def receiver(settings: Settings, tmp_path: Path, receiver_port: int) -> Iterator[subprocess.Popen[bytes]]:
    """``veogen webhooks serve`` as a real process with this test's settings."""
    log = tmp_path / "receiver.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "webhooks", "serve"],
            cwd=ROOT, env=env_for(settings), stdout=out, stderr=out,
        )  # fmt: skip
    try:
        assert wait_until(lambda: answers(receiver_port) or proc.poll() is not None, timeout=30), log.read_text()
        assert proc.poll() is None, log.read_text()
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def status_of(studio: Studio, gid: str) -> str:
    with studio.sessions() as s:
        return str(s.execute(select(Generation.status).where(Generation.id == gid)).scalar_one())


def events(studio: Studio) -> dict[str, int]:
    raw = studio.redis.hgetall(EVENTS_KEY)
    return {k.decode(): int(v) for k, v in raw.items() if not k.startswith(b"last:")}


# -- the generation ------------------------------------------------------------------------------------


def test_a_signed_delivery_finishes_a_generation_that_polling_would_not_reach_yet(
    studio: Studio, standin: VeoStandIn, processes: Processes, receiver: subprocess.Popen[bytes], receiver_port: int
):
    standin.configure(latency_seconds=2)
    issued = studio.webhooks.register(receiver_url(receiver_port))
    assert issued.action == "created" and issued.secret.startswith("whsec_")
    processes.worker()
    processes.scheduler()
    user = studio.accounts.add_user("wendy", "a long enough password").id
    view, _ = studio.generations.submit(user, veo_form("a kingfisher dives into a still pond"))
    assert wait_until(lambda: status_of(studio, view.id) == Status.SUCCEEDED.value, timeout=90, interval=0.5), (
        status_of(studio, view.id),
        standin.deliveries(),
        events(studio),
    )
    done = studio.generations.get_generation(user, view.id)
    assert done.videos and studio.store.exists(done.videos[0].storage_key)
    assert standin.stats().submissions == 1
    assert standin.stats().polls == 1  # the one poll the event asked for; the regular one is ten minutes away
    [delivery] = [d for d in standin.deliveries() if d["event_type"] == "video.generated"]
    assert delivery["status"] == 204 and delivery["result"] == "delivered"
    assert events(studio) == {"accepted": 1}
    assert studio.webhooks.healthy()  # registered, enabled (the scheduler asked Google), receiver running


def test_with_every_delivery_lost_polling_still_finishes_the_generation(
    studio: Studio,
    standin: VeoStandIn,
    processes: Processes,
    receiver: subprocess.Popen[bytes],
    receiver_port: int,
    settings: Settings,
    tmp_path: Path,
):
    standin.configure(latency_seconds=2, drop_deliveries=True)
    studio.webhooks.register(receiver_url(receiver_port))
    fast = settings.model_copy(update={"poll_interval_seconds": 1.0, "poll_max_interval_seconds": 2.0})
    polling = Processes(fast, tmp_path)
    try:
        polling.worker()
        polling.scheduler()
        user = studio.accounts.add_user("pablo", "a long enough password").id
        view, _ = studio.generations.submit(user, veo_form("a heron waits in the reeds"))
        assert wait_until(lambda: status_of(studio, view.id) == Status.SUCCEEDED.value, timeout=90, interval=0.5)
    finally:
        polling.stop_all()
    assert standin.wait_for_deliveries(timeout=10)
    assert [d["result"] for d in standin.deliveries() if d["event_type"] == "video.generated"] == ["dropped"]
    assert events(studio).get("accepted", 0) == 0
    assert standin.stats().polls >= 1


# -- the CLI -------------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    """The CLI in this process sees this test's settings (PostgreSQL, Redis, the stand-in)."""
    for name, value in env_for(settings).items():
        if name.startswith("VEOGEN_") or name in ("DATABASE_URL", "REDIS_URL"):
            monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["webhooks", *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_register_rotate_and_status_from_the_shell(
    studio: Studio, standin: VeoStandIn, cli_env: None, capsys: pytest.CaptureFixture[str]
):
    url = "https://studio.example.com/webhooks/google"
    code, out = run(capsys, "status")
    assert code == 0 and "not registered" in out

    code, out = run(capsys, "register", "--url", url)
    assert code == 0, out
    secret = out.split("keeps it encrypted): ", 1)[1].split()[0]
    assert secret.startswith("whsec_") and "(created)" in out
    with studio.sessions() as s:
        assert secret not in s.get(AppSecret, WEBHOOK_ROW).ciphertext

    code, out = run(capsys, "register", "--url", url)  # again: nothing new, no secret shown
    assert code == 0 and "(updated)" in out and "whsec_" not in out

    code, out = run(capsys, "status")
    assert code == 0, out
    assert "state:     enabled" in out and url in out
    assert f"whsec_...{secret[-4:]} (current)" in out
    assert secret not in out

    code, out = run(capsys, "rotate")
    assert code == 0, out
    new = out.split("keeps it encrypted): ", 1)[1].split()[0]
    assert new != secret and "keeps verifying deliveries until" in out
    code, out = run(capsys, "status")
    assert f"whsec_...{new[-4:]} (current)" in out and f"whsec_...{secret[-4:]} (until " in out
    at_google = out.split("at Google: ", 1)[1].splitlines()[0]
    assert f"whsec_...{new[-4:]}" in at_google and f"whsec_...{secret[-4:]}" in at_google
    assert "received:  accepted 0" in out
    assert standin.deliveries() == []  # nothing finished, nothing delivered


def test_a_webhook_google_disabled_is_reported_and_register_turns_it_back_on(
    studio: Studio, standin: VeoStandIn, cli_env: None, capsys: pytest.CaptureFixture[str]
):
    dead = f"http://127.0.0.1:{free_port()}{PATH}"  # nobody listens: every delivery fails
    standin.configure(disable_after_failures=1, delivery_max_attempts=1)
    assert run(capsys, "register", "--url", dead)[0] == 0
    assert run(capsys, "ping")[0] == 0
    assert standin.wait_for_deliveries(timeout=15)
    code, out = run(capsys, "status")
    assert "state:     disabled_due_to_failed_deliveries" in out and "healthy:   no" in out
    assert studio.webhooks.state() == "disabled_due_to_failed_deliveries"
    code, out = run(capsys, "register", "--url", dead)
    assert code == 0 and "state enabled" in out
    assert studio.webhooks.state() == "enabled"


def test_a_webhook_google_forgot_is_missing_and_register_makes_a_new_one(
    studio: Studio, standin: VeoStandIn, cli_env: None, capsys: pytest.CaptureFixture[str]
):
    url = "https://studio.example.com/webhooks/google"
    run(capsys, "register", "--url", url)
    standin.reset()  # Google no longer knows the webhook
    code, out = run(capsys, "status")
    assert code == 0 and "state:     missing" in out
    code, out = run(capsys, "register", "--url", url)
    assert code == 0 and "(created)" in out and "whsec_" in out


def test_a_lost_registration_adopts_the_webhook_google_still_has(
    studio: Studio, standin: VeoStandIn, cli_env: None, capsys: pytest.CaptureFixture[str]
):
    url = "https://studio.example.com/webhooks/google"
    first = run(capsys, "register", "--url", url)[1].split("keeps it encrypted): ", 1)[1].split()[0]
    with studio.engine.begin() as conn:  # the database was restored from a backup older than the webhook
        conn.execute(delete(AppSecret).where(AppSecret.name == WEBHOOK_ROW))
    code, out = run(capsys, "register", "--url", url)
    assert code == 0 and "(adopted)" in out
    second = out.split("keeps it encrypted): ", 1)[1].split()[0]
    assert second != first
    assert [hook.uri for hook in GoogleWebhooks(api_key="test-key", base_url=standin.url).list_all()] == [url]
    code, out = run(capsys, "status")
    assert f"whsec_...{second[-4:]} (current)" in out


def test_webhooks_refuse_a_studio_on_vertex_only(
    studio: Studio, cli_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("VEOGEN_GEMINI_API_KEY", "")
    monkeypatch.setenv("VEOGEN_VERTEX_PROJECT", "my-project")
    get_settings.cache_clear()
    code, out = run(capsys, "register", "--url", "https://studio.example.com/webhooks/google")
    assert code != 0
    assert "Gemini API feature" in out and "Only Vertex AI" in out


def test_veogen_up_starts_the_receiver(tmp_path: Path):
    port = free_port()
    with veogen_up(tmp_path, VEOGEN_WEBHOOK_PORT=str(port), VEOGEN_WEBHOOK_METRICS_PORT="0") as running:
        assert wait_until(lambda: answers(port), timeout=60), running.output()
        request = urllib.request.Request(receiver_url(port), data=b"{}", method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 400  # unsigned: refused, and nothing else happens
