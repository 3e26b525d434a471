"""The `veogen` command: init creates one admin and prints its password once; user add."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import bcrypt
import pytest
from sqlalchemy import select

from core.cli import main
from core.config import get_settings
from core.models import User
from core.studio import build_studio


@pytest.fixture
def data_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VEOGEN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("VEOGEN_ADMIN_PASSWORD", raising=False)
    get_settings.cache_clear()
    return tmp_path / "data"


def users() -> list[User]:
    studio = build_studio(get_settings())
    with studio.sessions() as s:
        return list(s.execute(select(User).order_by(User.id)).scalars())


def test_init_creates_the_admin_once_and_prints_the_password_once(data_env: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["init"]) == 0
    first = capsys.readouterr().out
    password = first.split("password  ", 1)[1].split()[0]
    assert main(["init"]) == 0
    assert "password" not in capsys.readouterr().out
    [admin] = users()
    assert (admin.username, admin.role) == ("admin", "admin")
    assert bcrypt.checkpw(password.encode(), admin.password_hash.encode())
    assert password not in admin.password_hash
    assert (data_env / "cookie_key").stat().st_mode & 0o777 == 0o600


def test_init_takes_the_admin_password_from_the_environment(data_env: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.setenv("VEOGEN_ADMIN_PASSWORD", "from-the-environment")
    get_settings.cache_clear()
    assert main(["init"]) == 0
    assert "from-the-environment" not in capsys.readouterr().out
    assert bcrypt.checkpw(b"from-the-environment", users()[0].password_hash.encode())


def test_user_add_reads_the_password_from_stdin(data_env: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("a fine long password\n"))
    assert main(["user", "add", "Alice", "--password-stdin"]) == 0
    [alice] = users()
    assert (alice.username, alice.role) == ("alice", "creator")
    assert bcrypt.checkpw(b"a fine long password", alice.password_hash.encode())


def test_user_add_refuses_a_short_password_and_a_duplicate(data_env: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(["user", "add", "bob", "--password-stdin"]) == 2
    assert "at least 10 characters" in capsys.readouterr().err
    assert main(["user", "add", "bob", "--generate"]) == 0
    assert main(["user", "add", "bob", "--generate"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert [u.username for u in users()] == ["bob"]


def test_user_management_commands(data_env: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["init"]) == 0
    assert main(["user", "add", "zoe", "--generate"]) == 0
    capsys.readouterr()
    assert main(["user", "set-limits", "zoe", "--budget", "25", "--max-open", "4"]) == 0
    assert main(["user", "disable", "zoe"]) == 0
    assert main(["user", "list"]) == 0
    listing = capsys.readouterr().out
    assert "zoe" in listing and "$25.00" in listing and "disabled" in listing
    assert main(["user", "enable", "zoe"]) == 0
    assert main(["user", "reset-password", "zoe"]) == 0
    assert "must be changed at next login" in capsys.readouterr().out
    assert main(["user", "set-role", "zoe", "admin"]) == 0
    assert main(["user", "invite", "yan", "--email", "yan@example.com"]) == 0
    assert "?invite=" in capsys.readouterr().out
    zoe = next(u for u in users() if u.username == "zoe")
    assert (zoe.role, zoe.disabled, zoe.must_change_password, zoe.max_open_generations) == ("admin", False, True, 4)
    assert main(["user", "disable", "nobody"]) == 2


def test_init_refuses_to_start_in_production_with_a_default_cookie_key(
    data_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("VEOGEN_ENV", "production")
    monkeypatch.setenv("VEOGEN_COOKIE_KEY", "some_key")
    get_settings.cache_clear()
    assert main(["init"]) == 2
    assert "VEOGEN_COOKIE_KEY is too short or a known default" in capsys.readouterr().err


def test_init_makes_the_data_folder_private_even_when_it_exists(data_env: Path):
    data_env.mkdir(parents=True, exist_ok=True)
    data_env.chmod(0o755)
    assert main(["init"]) == 0
    assert data_env.stat().st_mode & 0o777 == 0o700
