"""OAuth2 client-credentials tokens, kept until shortly before they expire (voso, the portal)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from marketplace.http import HttpClient, json_body, raise_for_status

REFRESH_MARGIN = 60  # seconds before expiry when a token is renewed


class ClientCredentials:
    """One client's access token at one token endpoint, shared by the client's threads."""

    def __init__(
        self,
        http: HttpClient,
        token_path: str,
        client_id: str,
        client_secret: str,
        detail: Callable[[dict[str, Any]], str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        """:param detail: an error answer of the token endpoint as one line."""
        self.http, self.token_path = http, token_path
        self.client_id, self._secret = client_id, client_secret
        self._detail, self._clock = detail, clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.fetched = 0

    def token(self) -> str:
        """A valid access token, fetched again shortly before the old one expires.

        :raises MarketplaceError: the token endpoint refused us or failed.
        """
        with self._lock:
            if self._token is None or self._clock() > self._expires_at - REFRESH_MARGIN:
                self._token, self._expires_at = self._fetch()
            return self._token

    def forget(self, token: str) -> None:
        """The server no longer accepts ``token``: the next :meth:`token` fetches a new one
        (unless another thread already did)."""
        with self._lock:
            if self._token == token:
                self._token = None

    def _fetch(self) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._secret,
        }
        response = self.http.send("POST", self.token_path, data=form)
        raise_for_status(response, self._detail(json_body(response)))
        body = json_body(response)
        self.fetched += 1
        return str(body["access_token"]), self._clock() + float(body.get("expires_in", 0))
