"""Every process refuses a production start without its secrets, by name, before doing anything.

Each entry runs as a real process (``veogen init``/``up``/``exporter``, the worker
and the scheduler); the web process is covered in ``tests/ui``. Before this, a
studio started without ``VEOGEN_SECRET_KEY`` and showed a raw ``RuntimeError``
the first time someone saved a credential.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

GOOD_COOKIE_KEY = "k" * 16 + "0123456789abcdef!"

ENTRIES = {
    "init": ["-m", "core.cli", "init"],
    "up": ["-m", "core.cli", "up"],
    "exporter": ["-m", "core.cli", "exporter"],
    "worker": ["-m", "workers.main"],
    "scheduler": ["-m", "workers.scheduler"],
}


def start(entry: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("VEOGEN_", "DATABASE_URL", "REDIS_URL"))}
    base.update(VEOGEN_ENV="production", VEOGEN_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT), **env)
    return subprocess.run(
        [sys.executable, *ENTRIES[entry]], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_a_production_start_without_the_credentials_key_is_refused_by_name(entry: str, tmp_path: Path):
    done = start(entry, tmp_path, VEOGEN_COOKIE_KEY=GOOD_COOKIE_KEY)
    assert done.returncode == 2, done.stderr
    assert "VEOGEN_SECRET_KEY must be set" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "data" / "veogen.db").exists()  # refused before anything was written


@pytest.mark.parametrize("entry", ["init", "worker"])
def test_a_production_start_with_a_default_credentials_key_is_refused_by_name(entry: str, tmp_path: Path):
    done = start(entry, tmp_path, VEOGEN_COOKIE_KEY=GOOD_COOKIE_KEY, VEOGEN_SECRET_KEY="changeme")
    assert done.returncode == 2, done.stderr
    assert "VEOGEN_SECRET_KEY is not a Fernet key" in done.stderr
    assert "Traceback" not in done.stderr
