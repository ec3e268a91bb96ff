"""The portal's HTTP client: client-credentials tokens, JSON calls, and each exchange kept."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from marketplace.errors import AuthError, TransientError
from marketplace.http import HttpClient, json_body, raise_for_status
from marketplace.oauth import ClientCredentials
from marketplace.portal import mapping as m


@dataclass(frozen=True)
class Exchange:
    """One request to the portal and what came back (``status`` None: no answer)."""

    method: str
    path: str
    request: dict[str, Any]
    status: int | None
    reply: dict[str, Any] = field(default_factory=dict)
    response: requests.Response | None = None
    error: str = ""

    @property
    def data(self) -> dict[str, Any]:
        value = self.reply.get(m.DATA)
        return value if isinstance(value, dict) else {}

    def raise_for_status(self) -> None:
        """:raises MarketplaceError: the portal refused or failed the request."""
        if self.response is not None:
            raise_for_status(self.response, detail(self.reply))


def detail(reply: dict[str, Any]) -> str:
    """An error answer as one line: code, message and the fields it names."""
    fields = reply.get(m.ERROR_FIELDS)
    named = "; ".join(f"{k}: {v}" for k, v in fields.items()) if isinstance(fields, dict) else ""
    return f"{reply.get(m.ERROR_CODE, '')}: {reply.get(m.ERROR_MESSAGE, '')} {named}".strip(": ")


class PortalClient:
    """A province system's account on the national portal."""

    def __init__(
        self,
        http: HttpClient,
        client_id: str,
        client_secret: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.http = http
        self.client_id = client_id
        self._credentials = ClientCredentials(
            http, m.TOKEN_PATH, client_id, client_secret, detail, clock
        )

    def access_token(self) -> str:
        """A valid access token, fetched again shortly before the old one expires.

        :raises MarketplaceError: the token endpoint refused us or failed.
        """
        return self._credentials.token()

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> Exchange:
        """One call; a token the portal no longer accepts is renewed once.

        Never raises for an HTTP status (the caller keeps the exchange, then raises).

        :raises TransientError: timeout or lost connection; the exchange is on ``.exchange``.
        :raises MarketplaceError: the token could not be had.
        """
        data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if idempotency_key:
            headers[m.IDEMPOTENCY_HEADER] = idempotency_key
        shown = body if body is not None else dict(params or {})
        for attempt in (1, 2):
            token = self.access_token()
            try:
                response = self.http.send(
                    method, path, params=params, data=data,
                    headers={**headers, "Authorization": f"Bearer {token}"},
                )  # fmt: skip
            except TransientError as error:
                error.exchange = Exchange(method, path, shown, None, error=str(error))  # type: ignore[attr-defined]
                raise
            if response.status_code == 401 and attempt == 1:
                self._credentials.forget(token)
                continue
            return Exchange(
                method, path, shown, response.status_code, json_body(response), response
            )
        raise AuthError(f"{method} {path}: the portal refused a fresh token")
