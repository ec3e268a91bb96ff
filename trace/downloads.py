"""The ``Content-Disposition`` of every file the service hands out (RFC 6266 file names).

A file name may hold what a farmer typed (a lot code such as ``"x";a=b`` is valid GS1
text), so it is never pasted into the header by hand: the header carries an ASCII
fallback made only of safe characters and the exact name as ``filename*=UTF-8''…``
(RFC 8187), percent-encoded as Werkzeug's ``send_file`` does.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from urllib.parse import quote

from flask import Response, send_file

from trace.errors import NotFound
from trace.uploads import HEAD_BYTES, FileType, detect, served_name

#: RFC 8187 ``attr-char`` punctuation: what ``filename*`` may carry unescaped (as Werkzeug).
_ATTR_SAFE = "!#$&+-.^_`|~"
_UNSAFE_FALLBACK = re.compile(r"[^A-Za-z0-9._-]+")
_SEPARATORS = re.compile(r"[/\\\x00-\x1f\x7f]+")


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """The header value for a download named ``filename`` (``attachment`` unless ``inline``).

    Path separators and control characters become ``-``; the ASCII fallback keeps
    letters, digits, ``.``, ``_`` and ``-`` (accents are stripped, anything else is ``_``).
    """
    name = _SEPARATORS.sub("-", filename).strip() or "download"
    kind = "inline" if inline else "attachment"
    # The fallback holds only [A-Za-z0-9._-], so quoting it needs no escapes.
    exact = quote(name, safe=_ATTR_SAFE)
    return f"{kind}; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{exact}"


def ascii_fallback(filename: str) -> str:
    """``filename`` in plain ASCII for clients that ignore ``filename*``."""
    spelled = filename.replace("Đ", "D").replace("đ", "d")  # no NFKD decomposition
    plain = unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode("ascii")
    return _UNSAFE_FALLBACK.sub("_", plain).strip("._") or "download"


def download_headers(filename: str, *, inline: bool = False) -> dict[str, str]:
    """``{"Content-Disposition": ...}`` for a response's ``headers``."""
    return {"Content-Disposition": content_disposition(filename, inline=inline)}


def send_upload(path: Path, stem: str, sha256: str, allowed: tuple[FileType, ...]) -> Response:
    """Serve a stored upload as the type its bytes show, under a name the server makes.

    The response says ``nosniff``, so a browser never second-guesses the type.

    :raises NotFound: the file is missing, or its bytes are not of an ``allowed`` type.
    """
    try:
        with path.open("rb") as handle:
            kind = detect(handle.read(HEAD_BYTES))
    except FileNotFoundError as missing:
        raise NotFound() from missing
    if kind is None or kind not in allowed:
        raise NotFound()
    response = send_file(path, mimetype=kind.media_type)
    response.headers.update(download_headers(served_name(stem, sha256, kind), inline=True))
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
