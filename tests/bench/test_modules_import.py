"""Every benchmark module imports: a rename elsewhere must not leave `make bench` broken
until someone runs it (bench_marketplace imported `trace.scale` for weeks after the
module was renamed; only the marketplace runs of a whole `make bench` showed it)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
MODULES = sorted(p.stem for p in BENCH.glob("*.py") if p.stem != "__init__")


@pytest.mark.parametrize("name", MODULES)
def test_the_benchmark_module_imports(name: str) -> None:
    importlib.import_module(f"bench.{name}")
