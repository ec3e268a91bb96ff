"""The WSGI entry point as a gunicorn worker loads it, and as a flask command does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from trace.app import ROOT

PROBE = "import sys, gc{extra}; import wsgi; print(gc.get_freeze_count())"


def _frozen_after_import(tmp_path: Path, extra: str) -> int:
    env = {
        **os.environ,
        "AGRITRACE_ENV": "development",
        "AGRITRACE_INSTANCE": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'agritrace.db'}",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(extra=extra)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[-1])


@pytest.mark.integration
def test_a_gunicorn_worker_freezes_what_starting_made(tmp_path: Path) -> None:
    """The collector's full passes skip the app's startup objects in a server's worker."""
    assert _frozen_after_import(tmp_path, ", gunicorn") > 100_000


@pytest.mark.integration
def test_a_flask_command_does_not_pay_for_the_freeze(tmp_path: Path) -> None:
    assert _frozen_after_import(tmp_path, "") == 0
