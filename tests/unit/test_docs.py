"""Docs stay honest: every setting is in .env.example and the README table, and nothing else is."""

from __future__ import annotations

import re

from core.config import Settings, setting_env_names
from tests.support import ROOT


def env_example_names() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return {m.group(1) for m in re.finditer(r"^([A-Z][A-Z0-9_]*)=", text, re.MULTILINE)}


def readme_table_names() -> set[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return {m.group(1) for m in re.finditer(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|", section, re.MULTILINE)}


def test_every_setting_is_in_env_example():
    assert env_example_names() == set(setting_env_names())


def test_every_setting_is_in_the_readme_table():
    assert readme_table_names() == set(setting_env_names())


def test_env_example_is_a_valid_configuration():
    settings = Settings(_env_file=ROOT / ".env.example")  # type: ignore[call-arg]
    assert settings.env == "development"
    assert settings.resolved_database_url().startswith("sqlite:///")


def test_readme_names_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
