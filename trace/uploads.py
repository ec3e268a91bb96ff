"""Uploaded files: their type told by their first bytes, never by the name or the browser.

An upload keeps nothing the client chose: it is stored under its sha256 and served under
a name the server makes, with the extension and ``Content-Type`` of the type its bytes
show (a PDF/HTML polyglot called ``x.html`` is a PDF here, and is only ever served as
one, with ``nosniff``).
"""

from __future__ import annotations

from dataclasses import dataclass

from trace.services.checks import Checks


@dataclass(frozen=True)
class FileType:
    """A type of file we accept somewhere, recognised by how its bytes start."""

    media_type: str
    extension: str
    magic: tuple[bytes, ...]

    def matches(self, head: bytes) -> bool:
        return head.startswith(self.magic)


PDF = FileType("application/pdf", ".pdf", (b"%PDF-",))
PNG = FileType("image/png", ".png", (b"\x89PNG\r\n\x1a\n",))
JPEG = FileType("image/jpeg", ".jpg", (b"\xff\xd8\xff",))
KNOWN = (PDF, PNG, JPEG)
#: How many leading bytes :func:`detect` needs.
HEAD_BYTES = 16


def detect(head: bytes) -> FileType | None:
    """The known type whose signature ``head`` starts with, or None."""
    return next((kind for kind in KNOWN if kind.matches(head)), None)


def check_upload(
    checks: Checks,
    field: str,
    content: bytes,
    allowed: tuple[FileType, ...],
    refusal: object,
) -> FileType | None:
    """The type of an uploaded file, or a failure on ``field`` when it is not ``allowed``.

    :param refusal: the message shown next to the field (vi/en through Babel).
    """
    kind = detect(content[:HEAD_BYTES])
    if kind not in allowed:
        checks.fail(field, refusal)
        return None
    return kind


def served_name(stem: str, sha256: str, kind: FileType) -> str:
    """The name a stored upload is downloaded under: ``{stem}-{digest prefix}{extension}``."""
    return f"{stem}-{sha256[:16]}{kind.extension}"
