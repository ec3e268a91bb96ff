"""Specification of stamp QR codes: bulk matrices, vector paths, PNG and SVG downloads."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest
from PIL import Image, ImageDraw

from stamps.render.qr import (
    QUIET_ZONE,
    QrMatrix,
    dark_rectangles,
    pdf_path_ops,
    qr_matrix,
    stamp_svg,
)
from trace.qr import qr_png

URI = "https://truyxuat.longan.gov.vn/01/08931234567892/10/TL-2024%2F07/21/V9GM7YEBTV5K8J"
Decode = Callable[[Image.Image], list[str]]


def _to_image(matrix: QrMatrix, scale: int = 6) -> Image.Image:
    side = matrix.size + 2 * QUIET_ZONE
    image = Image.new("L", (side, side), 255)
    for y in range(matrix.size):
        for x, dark in enumerate(matrix.row(y)):
            if dark:
                image.putpixel((x + QUIET_ZONE, y + QUIET_ZONE), 0)
    return image.resize((side * scale, side * scale), Image.Resampling.NEAREST)


def _paint(size: int, cells: list[tuple[int, int]]) -> bytes:
    grid = bytearray(size * size)
    for x, y in cells:
        assert 0 <= x < size and 0 <= y < size and not grid[y * size + x], "overlap or outside"
        grid[y * size + x] = 1
    return bytes(grid)


@pytest.mark.parametrize("mask", [None, 0, 3, 7])
def test_bulk_matrix_decodes_to_the_uri_with_any_mask(mask: int | None, decode_qr: Decode) -> None:
    assert decode_qr(_to_image(qr_matrix(URI, mask=mask))) == [URI]


def test_typical_stamp_uri_fits_a_small_symbol() -> None:
    assert qr_matrix(URI).size <= 37  # version 5 at level M


def test_pdf_path_ops_cover_exactly_the_dark_modules() -> None:
    for suffix in ["", "X", "/21/" + "Z" * 20]:
        matrix = qr_matrix(URI + suffix)
        cells = []
        for x, y, w, h in re.findall(r"(\d+) (\d+) (\d+) (\d+) re", pdf_path_ops(matrix)):
            top = matrix.size - int(y) - int(h)  # PDF y grows upwards
            cells += [(int(x) + i, top + j) for i in range(int(w)) for j in range(int(h))]
        assert _paint(matrix.size, cells) == matrix.modules


def test_dark_rectangles_cover_exactly_the_dark_modules_with_fewer_shapes() -> None:
    matrix = qr_matrix(URI)
    rectangles = dark_rectangles(matrix)
    cells = [(x + i, y + j) for x, y, w, h in rectangles for i in range(w) for j in range(h)]
    assert _paint(matrix.size, cells) == matrix.modules
    assert len(rectangles) < matrix.modules.count(1) / 1.5


def test_png_download_decodes_to_the_uri_with_a_quiet_zone(decode_qr: Decode) -> None:
    image = Image.open(io.BytesIO(qr_png(URI, scale=5)))
    assert image.format == "PNG" and image.mode == "1"
    assert decode_qr(image.convert("L")) == [URI]
    border = image.convert("L").crop((0, 0, image.width, QUIET_ZONE * 5))
    assert border.getextrema() == (255, 255)


def test_svg_download_is_one_scalable_path_with_a_quiet_zone() -> None:
    svg = stamp_svg(URI)
    side = qr_matrix(URI).size + 2 * QUIET_ZONE
    assert f'viewBox="0 0 {side} {side}"' in svg
    assert svg.count("<path ") == 1
    starts = [(int(x), int(y)) for x, y in re.findall(r"M(\d+) (\d+)", svg)]
    assert min(x for x, _ in starts) == min(y for _, y in starts) == QUIET_ZONE


def test_svg_download_decodes_to_the_uri(decode_qr: Decode) -> None:
    svg = stamp_svg(URI)
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))  # type: ignore[union-attr]
    scale = 10
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    # The SVG is a white square and one path of axis-aligned rectangles: paint them.
    for x, y, w, h in re.findall(r"M(\d+) (\d+)h(\d+)v(\d+)", svg):
        left, top = int(x) * scale, int(y) * scale
        draw.rectangle((left, top, left + int(w) * scale - 1, top + int(h) * scale - 1), fill=0)
    assert decode_qr(image) == [URI]
