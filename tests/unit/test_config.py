"""Secrets outside development: required, long enough, never a known default."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from core.config import Settings
from core.errors import ConfigurationError


def prod(tmp_path: Path, **values: object) -> Settings:
    return Settings(_env_file=None, env="production", data_dir=tmp_path, **values)  # type: ignore[arg-type]


def test_production_refuses_a_missing_short_or_default_cookie_key(tmp_path: Path):
    with pytest.raises(ConfigurationError, match="must be set"):
        prod(tmp_path).resolved_cookie_key()
    for weak in ("some_key", "short-key", "changeme"):
        with pytest.raises(ConfigurationError, match="too short or a known default"):
            prod(tmp_path, cookie_key=weak).resolved_cookie_key()
    good = "k" * 16 + "0123456789abcdef!"
    assert prod(tmp_path, cookie_key=good).resolved_cookie_key() == good


def test_production_needs_the_credentials_key(tmp_path: Path):
    with pytest.raises(ConfigurationError, match="VEOGEN_SECRET_KEY must be set"):
        prod(tmp_path).resolved_secret_key()


def test_development_makes_and_keeps_private_keys(tmp_path: Path):
    dev = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    first = dev.resolved_cookie_key()
    assert first == dev.resolved_cookie_key() and len(first) >= 32
    assert (tmp_path / "cookie_key").stat().st_mode & 0o777 == 0o600
    from cryptography.fernet import Fernet

    Fernet(dev.resolved_secret_key().encode())  # a valid Fernet key


def test_the_queue_dashboard_password_is_required_in_production_and_kept_in_development(tmp_path: Path):
    with pytest.raises(ConfigurationError, match="VEOGEN_DASHBOARD_PASSWORD must be set"):
        prod(tmp_path).resolved_dashboard_password()
    with pytest.raises(ConfigurationError, match="too short or a known default"):
        prod(tmp_path, dashboard_password="changeme").resolved_dashboard_password()
    assert prod(tmp_path, dashboard_password="a long operator secret").resolved_dashboard_password()
    dev = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    generated = dev.resolved_dashboard_password()
    assert len(generated) >= 20 and generated == dev.resolved_dashboard_password()
    assert (tmp_path / "dashboard_password").stat().st_mode & 0o777 == 0o600


def test_production_refuses_a_credentials_key_that_is_weak_or_not_a_key(tmp_path: Path):
    good_cookie = "k" * 16 + "0123456789abcdef!"
    for wrong in ("changeme", "secret", "not base64 at all", "c2hvcnQ="):
        with pytest.raises(ConfigurationError, match="VEOGEN_SECRET_KEY is not a Fernet key"):
            prod(tmp_path, cookie_key=good_cookie, secret_key=wrong).check_secrets()
    typed = base64.urlsafe_b64encode(b"0" * 32).decode()  # a valid key by shape, typed by hand
    with pytest.raises(ConfigurationError, match="VEOGEN_SECRET_KEY is a weak key"):
        prod(tmp_path, cookie_key=good_cookie, secret_key=typed).check_secrets()
    prod(tmp_path, cookie_key=good_cookie, secret_key=Fernet.generate_key().decode()).check_secrets()


def test_every_missing_secret_is_named_at_once(tmp_path: Path):
    with pytest.raises(ConfigurationError) as refused:
        prod(tmp_path).check_secrets()
    assert "VEOGEN_COOKIE_KEY must be set" in str(refused.value)
    assert "VEOGEN_SECRET_KEY must be set" in str(refused.value)


def test_development_still_refuses_a_set_key_that_is_not_a_fernet_key(tmp_path: Path):
    dev = Settings(_env_file=None, data_dir=tmp_path, secret_key="changeme")  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError, match="VEOGEN_SECRET_KEY is not a Fernet key"):
        dev.check_secrets()
