"""The instance's env file: `make run` writes it, so the commands typed after it just work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from trace.app import ROOT
from trace.config import ConfigError, load_config

SETTINGS = ("AGRITRACE_ENV", "PUBLIC_BASE_URL", "SECRET_KEY", "DATABASE_URL")


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An instance folder whose env file says what `make run` writes; a clean environment."""
    for name in SETTINGS:  # also undoes, after the test, what the env file put there
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "instance"
    folder.mkdir()
    (folder / "agritrace.env").write_text(
        "# Written by make run\n\nAGRITRACE_ENV=development\n"
        "PUBLIC_BASE_URL=http://127.0.0.1:5077\n",
        encoding="utf-8",
    )
    return folder


def test_the_env_file_supplies_what_the_environment_does_not_set(instance: Path) -> None:
    config = load_config(str(instance))  # no SECRET_KEY: fine in development
    assert config["AGRITRACE_ENV"] == "development"
    assert config["PUBLIC_BASE_URL"] == "http://127.0.0.1:5077"
    assert (instance / "secret_key").read_text() == config["SECRET_KEY"]


def test_the_environment_wins_over_the_env_file(
    instance: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGRITRACE_ENV", "production")
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        load_config(str(instance))
    monkeypatch.setenv("AGRITRACE_ENV", "development")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://truyxuat.example.vn")
    assert load_config(str(instance))["PUBLIC_BASE_URL"] == "https://truyxuat.example.vn"


def test_without_an_env_file_production_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        load_config(str(tmp_path))


def test_a_line_that_is_not_name_equals_value_is_refused(instance: Path) -> None:
    (instance / "agritrace.env").write_text("AGRITRACE_ENV development\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 1: expected NAME=value"):
        load_config(str(instance))


@pytest.mark.integration
def test_a_flask_command_typed_after_make_run_uses_the_instance_settings(instance: Path) -> None:
    """The README's commands carry no AGRITRACE_ENV: the instance's env file supplies it."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    env["AGRITRACE_INSTANCE"] = str(instance)
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "migrate"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (instance / "agritrace.db").is_file()
