"""The project's ``trace`` package, not the standard library's module, is what runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = "import trace, sys; print(trace.__file__)"


def _run(*args: str, cwd: Path = ROOT) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["AGRITRACE_ENV"] = "testing"
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, check=True, timeout=120
    ).stdout


def test_pytest_imports_the_project_package() -> None:
    import trace

    assert Path(trace.__file__).resolve() == ROOT / "trace" / "__init__.py"


def test_flask_cli_imports_the_project_package() -> None:
    bindir = Path(sys.executable).parent
    out = _run(str(bindir / "flask"), "--app", "wsgi", "routes")
    assert "auth.register" in out


def test_gunicorn_loads_the_project_package() -> None:
    bindir = Path(sys.executable).parent
    code = (
        "from gunicorn.app.wsgiapp import WSGIApplication\n"
        "import sys; sys.argv = ['gunicorn', 'wsgi:app']\n"
        "a = WSGIApplication(); app = a.load_wsgiapp()\n"
        "import trace; print(trace.__file__); print(app.name)\n"
    )
    out = _run(str(bindir / "python"), "-c", code)
    assert str(ROOT / "trace" / "__init__.py") in out and "trace.app" in out


def test_no_two_test_modules_share_a_name() -> None:
    """A test module outside a package is imported by its file name alone (a module inside
    one by its dotted path): two such ``test_x.py`` fail collection whenever both land in
    one process."""
    seen: dict[str, list[str]] = {}
    for path in (ROOT / "tests").rglob("test_*.py"):
        parts, folder = [path.stem], path.parent
        while (folder / "__init__.py").exists():
            parts.insert(0, folder.name)
            folder = folder.parent
        seen.setdefault(".".join(parts), []).append(str(path.relative_to(ROOT)))
    assert {name: paths for name, paths in seen.items() if len(paths) > 1} == {}
