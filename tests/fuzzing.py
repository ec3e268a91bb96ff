"""Shared schemathesis runs: one operation's generated requests, bounded and derandomized."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import FailedHealthCheck, Unsatisfiable
from schemathesis import GenerationMode


def operations(app: Flask) -> list[Any]:
    """Every operation of the app's OpenAPI document."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def first_failure(
    operation: Any, mode: GenerationMode, examples: int, send: Callable[[Any], None]
) -> list[str]:
    """Send ``examples`` generated cases of ``operation`` through ``send`` (which checks
    the answer); return the first failure as one line, or nothing when all passed.

    The same cases every run (derandomized, no example database), no deadline (a shared
    CI machine is slow at times) and no health checks (some operations' inputs are hard
    to generate; that is reported, not raised).
    """

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        send(case)

    try:
        run()
    except (Unsatisfiable, FailedHealthCheck) as error:
        return [f"{operation.label} ({mode.value}): could not generate requests: {error}"]
    except (Exception, BaseExceptionGroup) as error:  # each operation's first failure
        return [f"{operation.label} ({mode.value}): {str(error)[:2000]}"]
    return []
