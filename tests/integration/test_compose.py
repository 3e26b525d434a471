"""docker-compose.yml is checked by Debian's docker-compose (no Docker engine needed)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import ROOT

pytestmark = pytest.mark.integration

SECRETS = {
    "POSTGRES_PASSWORD": "pg-secret",
    "REDIS_PASSWORD": "redis-secret",
    "VEOGEN_COOKIE_KEY": "k" * 40,
    "VEOGEN_ADMIN_PASSWORD": "admin-secret-123",
}


def compose(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("docker-compose")
    assert exe, "docker-compose is installed by `make test` (scripts/system-deps.sh)"
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return subprocess.run([exe, *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True)


def test_compose_file_is_valid_and_complete():
    result = compose("config", env=SECRETS)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    services = config["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "scheduler"} <= set(services)
    for name in ("postgres", "redis", "worker"):
        assert "healthcheck" in services[name], name
    for name, service in services.items():
        image = service.get("image", "")
        assert image and ":" in image and not image.endswith(":latest"), f"{name} image is not pinned"
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["worker"]["depends_on"]["redis"]["condition"] == "service_healthy"
    command = services["redis"]["command"]
    assert "noeviction" in (command if isinstance(command, str) else " ".join(command))
    assert str(services["web"]["ports"][0]).startswith("127.0.0.1:")


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_compose_refuses_to_start_without_a_secret(missing: str):
    result = compose("config", "-q", env={k: v for k, v in SECRETS.items() if k != missing})
    assert result.returncode != 0
    assert missing in result.stderr
