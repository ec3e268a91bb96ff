"""Fixtures for stamp tests: sample labels, and PDF pages turned into pixels and text."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

from stamps.identity import new_serials, stamp_uri
from stamps.render.labels import Label

BASE_URL = "https://truyxuat.longan.gov.vn"
GTIN = "08931230456782"
PRODUCT = "Thanh long ruột đỏ"
LOT = "TL-2024/07"


@pytest.fixture
def make_labels() -> Callable[..., list[Label]]:
    """Build ``n`` labels with fresh serials for one lot."""

    def make(n: int, product: str = PRODUCT, lot: str = LOT) -> list[Label]:
        return [
            Label(stamp_uri(BASE_URL, GTIN, lot, serial), serial, product, lot)
            for serial in new_serials(n)
        ]

    return make


@pytest.fixture
def decode_qr() -> Callable[[Image.Image], list[str]]:
    """Decode every QR code in an image with zxing-cpp."""
    return _decode_qr_texts


@pytest.fixture
def read_pdf_page() -> Callable[..., tuple[Image.Image, str]]:
    """Rasterize one page of a PDF (bytes) and extract its text layer."""
    return _pdf_page


@pytest.fixture
def count_pdf_pages() -> Callable[[bytes], int]:
    """Count the pages of a PDF (bytes)."""
    return _pdf_page_count


def _decode_qr_texts(image: Image.Image) -> list[str]:
    import zxingcpp

    results = zxingcpp.read_barcodes(image, formats=zxingcpp.barcode_formats_from_str("QRCode"))
    found = [(result.text, _box(result.position)) for result in results if result.valid]
    # zxing-cpp now and then reads a few modules inside a real code as a tiny code of its
    # own (seen: "276902" within a 5x13 label's finder pattern at 200 dpi, ~1 sheet in
    # 300): a code lying inside another one is the decoder's, not the page's.
    return [text for text, box in found if not _within_another(box, found)]


def _within_another(box: tuple[int, int, int, int], found: list[tuple[str, Any]]) -> bool:
    return any(_inside(box, other) for _, other in found if other != box)


def _box(position: Any) -> tuple[int, int, int, int]:
    corners = [position.top_left, position.top_right, position.bottom_right, position.bottom_left]
    xs, ys = [p.x for p in corners], [p.y for p in corners]
    return min(xs), min(ys), max(xs), max(ys)


def _inside(box: tuple[int, int, int, int], other: tuple[int, int, int, int]) -> bool:
    """Whether ``box`` lies within ``other`` (give or take two pixels of rounding)."""
    return (
        box[0] >= other[0] - 2
        and box[1] >= other[1] - 2
        and box[2] <= other[2] + 2
        and box[3] <= other[3] + 2
    )


def _pdf_page(pdf: bytes, index: int, dpi: int = 300) -> tuple[Image.Image, str]:
    import pypdfium2

    document = pypdfium2.PdfDocument(io.BytesIO(pdf))
    try:
        page = document[index]
        image = page.render(scale=dpi / 72, grayscale=True).to_pil()
        text = page.get_textpage().get_text_range()
        return image.copy(), text
    finally:
        document.close()


def _pdf_page_count(pdf: bytes) -> int:
    import pypdfium2

    document = pypdfium2.PdfDocument(io.BytesIO(pdf))
    try:
        return len(document)
    finally:
        document.close()
