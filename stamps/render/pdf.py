"""A minimal PDF writer that streams pages to a binary file as they are finished.

reportlab's canvas keeps every page in memory until ``save()``; label runs reach
hundreds of thousands of stamps, so pages go straight to ``out`` here and only one
offset per object is kept. reportlab still parses the embedded TrueType fonts.
"""

from __future__ import annotations

import zlib
from typing import BinaryIO

from stamps.render.fonts import PdfFont, font_objects

A4 = (595.2756, 841.8898)
"""A4 in PDF points (210 x 297 mm)."""

_CATALOG, _PAGES, _RESOURCES, _INFO = 1, 2, 3, 4


def compress_page(content: bytes, level: int = 6) -> bytes:
    """Flate-compress a page content stream (done where the page was drawn)."""
    return zlib.compress(content, level)


class StreamingPdfWriter:
    """Write a PDF of same-size pages that share one set of fonts, page by page.

    Usage: ``writer = StreamingPdfWriter(out, {"F1": font}); writer.add_page(...)``
    for each page, then ``writer.close()``.
    """

    def __init__(
        self, out: BinaryIO, fonts: dict[str, PdfFont], page_size: tuple[float, float] = A4
    ) -> None:
        self._out = out
        self._offsets: dict[int, int] = {}
        self._position = 0
        self._page_ids: list[int] = []
        self._next_id = _INFO + 1
        self._media_box = f"[0 0 {page_size[0]:.4f} {page_size[1]:.4f}]"
        self._write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        self._write_object(_CATALOG, f"<< /Type /Catalog /Pages {_PAGES} 0 R >>".encode())
        self._write_fonts(fonts)

    def add_page(self, compressed_content: bytes) -> None:
        """Append a page whose Flate-compressed content stream is ``compressed_content``."""
        content_id, page_id = self._reserve(2)
        head = f"<< /Length {len(compressed_content)} /Filter /FlateDecode >>\nstream\n"
        self._write_object(content_id, head.encode() + compressed_content + b"\nendstream")
        self._write_object(
            page_id,
            f"<< /Type /Page /Parent {_PAGES} 0 R /MediaBox {self._media_box} "
            f"/Resources {_RESOURCES} 0 R /Contents {content_id} 0 R >>".encode(),
        )
        self._page_ids.append(page_id)

    @property
    def page_count(self) -> int:
        """Number of pages written so far."""
        return len(self._page_ids)

    def close(self) -> None:
        """Write the page tree, cross-reference table and trailer; flush ``out``."""
        kids = " ".join(f"{page} 0 R" for page in self._page_ids)
        pages = f"<< /Type /Pages /Kids [{kids}] /Count {len(self._page_ids)} >>"
        self._write_object(_PAGES, pages.encode())
        self._write_object(_INFO, b"<< /Producer (AgriTrace stamps) >>")
        xref_at = self._position
        count = self._next_id
        lines = [f"xref\n0 {count}\n0000000000 65535 f \n"]
        lines += [f"{self._offsets[i]:010d} 00000 n \n" for i in range(1, count)]
        lines.append(
            f"trailer\n<< /Size {count} /Root {_CATALOG} 0 R /Info {_INFO} 0 R >>\n"
            f"startxref\n{xref_at}\n%%EOF\n"
        )
        self._write("".join(lines).encode("ascii"))
        self._out.flush()

    def _write_fonts(self, fonts: dict[str, PdfFont]) -> None:
        refs = []
        for name, font in fonts.items():
            ids = self._reserve(5)
            for object_id, body in zip(ids, font_objects(font, ids[0]), strict=True):
                self._write_object(object_id, body)
            refs.append(f"/{name} {ids[0]} 0 R")
        resources = f"<< /Font << {' '.join(refs)} >> /ProcSet [/PDF /Text] >>"
        self._write_object(_RESOURCES, resources.encode())

    def _reserve(self, count: int) -> list[int]:
        ids = list(range(self._next_id, self._next_id + count))
        self._next_id += count
        return ids

    def _write_object(self, object_id: int, body: bytes) -> None:
        self._offsets[object_id] = self._position
        self._write(f"{object_id} 0 obj\n".encode() + body + b"\nendobj\n")

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self._position += len(data)
