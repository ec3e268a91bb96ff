"""Request bodies within bounds: a size limit that holds for chunked bodies too, and JSON
that cannot exhaust the stack (a nesting bound checked before decoding).

``MAX_CONTENT_LENGTH`` is enforced by Werkzeug while it reads, but a body with no
Content-Length (chunked) that runs past it is cut at the limit without an error; the
request class here makes reading past the limit a 413, so the caller never sees a
truncated body. Every JSON entry point (the API, EPCIS capture, ``/chain/rpc``,
marketplace callbacks) decodes through ``app.json``, so the nesting bound holds for all.
The C decoder recurses once per ``[`` or ``{``; a body of tens of thousands of them
overflows the C stack and kills the process (SIGSEGV) when the recursion limit is high,
as py_ecc leaves it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, Request, current_app
from flask.json.provider import DefaultJSONProvider
from werkzeug.wsgi import LimitedStream

#: EPCIS 2.0 documents nest fewer than 32 levels; nothing we accept needs more.
DEFAULT_MAX_DEPTH = 32
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_INNERMOST_PAIR = re.compile(rb"[\[{][\]}]")


class JSONTooDeep(json.JSONDecodeError):
    """A JSON text nests deeper than the service accepts (a decode error to every caller)."""

    def __init__(self, limit: int) -> None:
        # A non-empty doc: webargs reads an error on an empty doc as "no body at all".
        super().__init__(f"JSON nested deeper than {limit} levels", "[", 0)
        self.msg = f"JSON nested deeper than {limit} levels"

    def __str__(self) -> str:
        return self.msg


def nests_deeper_than(text: str | bytes, limit: int) -> bool:
    """Whether ``text`` nests its arrays and objects more than ``limit`` levels deep.

    Brackets inside strings do not count. Each pass strips the innermost pairs at C speed,
    so the cost is ``limit`` scans of the brackets, never a Python loop over the body.
    Unbalanced brackets count as too deep: the decoder would refuse them anyway.
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    if re.search(rb"[\[{]{%d}" % (limit + 1), brackets):
        return True  # a run of openers deeper than the limit: the usual attack, found in one scan
    for _ in range(limit):
        if not brackets:
            return False
        brackets, stripped = _INNERMOST_PAIR.subn(b"", brackets)
        if not stripped:
            return True  # nothing closes: unbalanced
    return bool(brackets)


class GuardedJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, refusing documents nested deeper than ``MAX_JSON_DEPTH``."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        limit = int(self._app.config.get("MAX_JSON_DEPTH", DEFAULT_MAX_DEPTH))
        if nests_deeper_than(s, limit):
            raise JSONTooDeep(limit)
        return super().loads(s, **kwargs)


class LimitedRequest(Request):
    """A request whose body, read whole, is refused (413) when it runs past the limit."""

    def get_data(self, *args: Any, **kwargs: Any) -> Any:
        data = super().get_data(*args, **kwargs)
        stream = self.stream
        if self.content_length is None and isinstance(stream, LimitedStream):
            if stream.is_exhausted:
                stream.read(1)  # past a maximum: raises RequestEntityTooLarge
        return data


def loads(data: str | bytes) -> Any:
    """Decode a request body with the current app's guarded provider."""
    return current_app.json.loads(data)


def init_app(app: Flask) -> None:
    """Bound every request body's size and decode JSON through the guarded provider."""
    app.request_class = LimitedRequest
    app.json = GuardedJSONProvider(app)
