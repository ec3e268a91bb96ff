"""A client of a sandbox's admin endpoint (faults, limits, counters), for tests and benches."""

from __future__ import annotations

from typing import Any

import requests

from marketplace.sandbox.base import ADMIN_HEADER


class AdminClient:
    """Drives one running sandbox's ``/_admin`` endpoints, as a test or an operator would."""

    def __init__(self, url: str, token: str = "sandbox-admin", hang_seconds: float = 3.0) -> None:
        self.url = url.rstrip("/")
        self.headers = {ADMIN_HEADER: token}
        self.hang_seconds = hang_seconds

    def _post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = requests.post(self.url + path, json=body, headers=self.headers, timeout=30)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.text}")
        answer: dict[str, Any] = response.json()
        return answer

    def _get(self, path: str) -> dict[str, Any]:
        response = requests.get(self.url + path, headers=self.headers, timeout=60)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def configure(self, **settings: Any) -> None:
        """Faults, rate limits, seed (see POSTMART.md, "Sandbox administration")."""
        self._post("/_admin/config", settings)

    def fail_next(self, *kinds: str, method: str | None = None, path: str | None = None) -> None:
        """Make the next matching requests fail with ``kinds`` (one each)."""
        entries = [
            {"kind": kind}
            | ({"method": method} if method else {})
            | ({"path": path} if path else {})
            for kind in kinds
        ]
        self.configure(next=entries, hang_seconds=self.hang_seconds)

    def unlimited(self) -> None:
        """Lift the rate limit (for runs that send many requests on purpose)."""
        self.configure(rate_limit={"capacity": 100_000, "per_second": 100_000})

    def expire_tokens(self) -> int:
        """Expire every access token the sandbox gave out (voso only)."""
        expired: int = self._post("/_admin/expire_tokens")["expired"]
        return expired

    def listings(self) -> list[dict[str, Any]]:
        """Every stored listing, with its document in the marketplace's own fields."""
        listings: list[dict[str, Any]] = self._get("/_admin/listings")["listings"]
        return listings

    def stats(self) -> dict[str, Any]:
        """``{"requests", "faults": {kind: count}, "listings"}``."""
        return self._get("/_admin/stats")

    def reset(self) -> None:
        """Forget every listing, token, fault and counter."""
        self._post("/_admin/reset")
