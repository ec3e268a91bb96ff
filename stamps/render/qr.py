"""QR codes for stamps: a fast module matrix for bulk labels, and SVG for single downloads.

A single stamp's PNG comes from :func:`trace.qr.qr_png`, the renderer every package shares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from trace.qr import QUIET_ZONE

ERROR_CORRECTION = "M"
"""Level M (~15 % recovery): small symbols that survive scuffed labels."""

BULK_MASK = 3
"""Data mask used for bulk label runs (see :func:`qr_matrix`)."""

_DARK_RUN = re.compile(rb"\x01+")
_ZXING_TO_DARK = bytes([1] + [0] * 255)  # zxing-cpp images: 0 is dark, 255 is light


@dataclass(frozen=True, slots=True)
class QrMatrix:
    """A QR symbol without quiet zone: ``size`` x ``size`` modules, row-major, 1 = dark."""

    size: int
    modules: bytes

    def row(self, y: int) -> bytes:
        """Return row ``y`` (0 = top) as bytes of 0 and 1."""
        return self.modules[y * self.size : (y + 1) * self.size]


def qr_matrix(text: str, mask: int | None = BULK_MASK) -> QrMatrix:
    """Encode ``text`` as a QR symbol at level M with zxing-cpp (the bulk fast path).

    zxing-cpp picks the smallest version. With ``mask=None`` it also scores all eight
    masks (~2,200 symbols/s here); a fixed mask skips that (~9,000/s). Every mask gives
    a valid symbol; mask 3 is the one zxing-cpp itself most often picks for stamp URIs.
    The pure-Python ``qrcode`` reaches ~600/s even with a fixed version and mask; see
    ``bench/bench_labels.py``.
    """
    import zxingcpp  # imported on first use: importing this module stays cheap

    options = {} if mask is None else {"data_mask": mask}
    barcode = zxingcpp.create_barcode(
        text, zxingcpp.BarcodeFormat.QRCode, ec_level=ERROR_CORRECTION, **options
    )
    image = barcode.to_image(scale=1, add_quiet_zones=False)
    # one byte per module, row-major; zxingcpp's stubs omit Image's buffer protocol
    pixels = bytes(memoryview(image))  # type: ignore[arg-type]
    return QrMatrix(image.shape[0], pixels.translate(_ZXING_TO_DARK))


def dark_rectangles(matrix: QrMatrix) -> list[tuple[int, int, int, int]]:
    """Cover the dark modules with few rectangles ``(x, y, width, height)``.

    Each horizontal run of dark modules is merged with the same run in the rows right
    below it. ``y`` counts from the top, in modules.
    """
    size = matrix.size
    rows = b"\x00".join(matrix.row(y) for y in range(size))  # runs never wrap a row end
    done: list[tuple[int, int, int, int]] = []
    open_runs: dict[tuple[int, int], tuple[int, int]] = {}  # (x, width) -> (top, bottom)
    for match in _DARK_RUN.finditer(rows):
        start, end = match.span()
        y, x = divmod(start, size + 1)
        key = (x, end - start)
        span = open_runs.get(key)
        if span is not None and span[1] == y - 1:
            open_runs[key] = (span[0], y)
            continue
        if span is not None:
            done.append((x, span[0], key[1], span[1] - span[0] + 1))
        open_runs[key] = (y, y)
    done.extend((x, top, w, bottom - top + 1) for (x, w), (top, bottom) in open_runs.items())
    return done


def pdf_path_ops(matrix: QrMatrix) -> str:
    """Return PDF path operators (``x y w h re``) covering the dark modules.

    Coordinates are in modules with the origin at the symbol's bottom-left, ready for a
    ``cm`` scale. Rows are cut into 8-module chunks whose operators are cached per
    process and chunk position, so a label costs a few hundred dictionary look-ups
    instead of per-run arithmetic; a run crossing a chunk edge becomes two rectangles.
    """
    size, modules = matrix.size, matrix.modules
    chunks = [modules[start:end] for start, end in _chunk_spans(size)]
    caches = _chunk_caches(size)
    ops = [cache.get(chunk) for cache, chunk in zip(caches, chunks, strict=True)]
    if None in ops:
        ops = [_cached_ops(size, index, chunk) for index, chunk in enumerate(chunks)]
    return " ".join(filter(None, ops))


_CHUNK = 8


@cache
def _chunk_spans(size: int) -> tuple[tuple[int, int], ...]:
    """Slices of the module bytes: each row cut every 8 modules, the last piece shorter."""
    return tuple(
        (y * size + x, y * size + min(x + _CHUNK, size))
        for y in range(size)
        for x in range(0, size, _CHUNK)
    )


@cache
def _chunk_caches(size: int) -> tuple[dict[bytes, str], ...]:
    return tuple({} for _ in _chunk_spans(size))


def _cached_ops(size: int, index: int, chunk: bytes) -> str:
    cache = _chunk_caches(size)[index]
    ops = cache.get(chunk)
    if ops is None:
        row, column = divmod(index, -(-size // _CHUNK))
        y, x0 = size - 1 - row, column * _CHUNK
        ops = cache[chunk] = " ".join(
            f"{x0 + m.start()} {y} {m.end() - m.start()} 1 re" for m in _DARK_RUN.finditer(chunk)
        )
    return ops


def stamp_svg(uri: str) -> str:
    """Return an SVG document of the QR code for ``uri``: one path, 4-module quiet zone.

    The view box is in modules, so the symbol scales to any print size.
    """
    matrix = qr_matrix(uri)
    side = matrix.size + 2 * QUIET_ZONE
    path = "".join(
        f"M{x + QUIET_ZONE} {y + QUIET_ZONE}h{w}v{h}h-{w}z"
        for x, y, w, h in sorted(dark_rectangles(matrix), key=lambda r: (r[1], r[0]))
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" '
        f'width="{side * 4}" height="{side * 4}" shape-rendering="crispEdges">'
        f'<rect width="{side}" height="{side}" fill="#fff"/>'
        f'<path d="{path}" fill="#000"/></svg>\n'
    )
