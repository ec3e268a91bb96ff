"""HTTP for adapters: one session per thread, timeouts, and status codes mapped to errors."""

from __future__ import annotations

import os
import threading
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from marketplace.errors import (
    AuthError,
    RateLimited,
    RemoteNotFound,
    RemoteRejected,
    TransientError,
)
from trace.models.base import utcnow

DEFAULT_TIMEOUT = (3.05, 10.0)  # connect, read (seconds)


class HttpClient:
    """Calls one marketplace's base URL; every failure becomes a ``MarketplaceError``."""

    def __init__(self, base_url: str, timeout: float | tuple[float, float] = DEFAULT_TIMEOUT):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.requests_sent = 0
        self._local = threading.local()
        self._count_lock = threading.Lock()  # workers share the client: ``+=`` alone loses counts

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self._new_session()
        return session

    def _new_session(self) -> requests.Session:
        """A session that reads the environment's proxy and CA settings once.

        By default requests reads them (and ~/.netrc) again on every call, scanning every
        environment variable each time.
        """
        session = requests.Session()
        session.proxies.update(requests.utils.get_environ_proxies(self.base_url))
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            session.verify = bundle
        session.trust_env = False
        return session

    def send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send a request and return the response whatever its status.

        :raises TransientError: on a timeout or a broken connection (``ambiguous`` when the
            request may have reached the marketplace).
        """
        with self._count_lock:
            self.requests_sent += 1
        kwargs.setdefault("timeout", self.timeout)
        try:
            return self._session().request(method, self.base_url + path, **kwargs)
        except requests.ConnectTimeout as error:
            raise TransientError(f"{method} {path}: connect timeout") from error
        except requests.Timeout as error:
            raise TransientError(f"{method} {path}: no answer in time", ambiguous=True) from error
        except requests.ConnectionError as error:
            self._local.session = None  # drop pooled sockets the server may have closed
            raise TransientError(f"{method} {path}: connection lost", ambiguous=True) from error


def raise_for_status(response: requests.Response, detail: str = "") -> None:
    """Map an HTTP error status to the marketplace error the worker acts on."""
    status = response.status_code
    if status < 400:
        return
    what = f"{response.request.method} {response.url} -> {status} {detail}".strip()
    if status == 429:
        raise RateLimited(what, retry_after_seconds(response.headers.get("Retry-After")))
    if status >= 500:
        raise TransientError(what, ambiguous=status != 503)
    if status in (401, 403):
        raise AuthError(what)
    if status == 404:
        raise RemoteNotFound(what)
    raise RemoteRejected(what)


def retry_after_seconds(value: str | None, default: float = 1.0) -> float:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return default
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max((parsedate_to_datetime(value) - utcnow()).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return default


def json_body(response: requests.Response) -> dict[str, Any]:
    """The response's JSON object, or an empty dict when it sent none."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
