"""A4 PDF label sheets: one vector QR code with serial, product, lot and caption per label."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from functools import lru_cache
from itertools import islice
from typing import BinaryIO, NamedTuple

from stamps.identity import format_serial, is_well_formed_serial
from stamps.processes import pool_context
from stamps.render.fonts import BOLD, REGULAR, PdfFont, clean_text, load_font
from stamps.render.layout import GRIDS, LabelGrid, TextLine, serial_size, text_block
from stamps.render.pdf import StreamingPdfWriter, compress_page
from stamps.render.qr import QUIET_ZONE, pdf_path_ops, qr_matrix

CAPTION = ("Quét để truy xuất", "Scan to verify")
"""Printed under each code, Vietnamese first (labels are bilingual, not translated)."""
PARALLEL_MIN_PAGES = 40
"""Shorter runs are drawn in-process: one core draws ~3,000 labels/s, a pool needs ~0.5 s
to start (see ``bench/bench_labels.py``)."""


class Label(NamedTuple):
    """What one label shows: the QR code of ``uri`` and human-readable details."""

    uri: str
    serial: str
    product_name: str
    lot: str


def render_label_sheet(
    labels: Iterable[Label], grid: str, out: BinaryIO, *, workers: int | None = None
) -> None:
    """Write labels as an A4 PDF to ``out``, page by page, in ``labels`` order.

    Pages are drawn by a pool of ``workers`` processes (default: the usable CPUs) and
    written as soon as they are ready, so memory stays flat however long the run is.

    :param grid: a preset name from :data:`GRIDS`, e.g. ``"3x8"`` or ``"5x13"``.
    :raises ValueError: for an unknown grid or when there are no labels.
    """
    if grid not in GRIDS:
        raise ValueError(f"unknown label grid {grid!r}; choose one of {sorted(GRIDS)}")
    pages = _chunks(iter(labels), GRIDS[grid].per_page)
    writer: StreamingPdfWriter | None = None
    for content in _rendered_pages(pages, grid, _worker_count(workers)):
        if writer is None:
            writer = StreamingPdfWriter(out, {"F1": load_font(REGULAR), "F2": load_font(BOLD)})
        writer.add_page(content)
    if writer is None:
        raise ValueError("there are no labels to render")
    writer.close()


def render_page(grid: str, labels: list[Label]) -> bytes:
    """Draw one page of labels and return its compressed content stream."""
    layout = GRIDS[grid]
    bold = load_font(BOLD)
    parts = [
        _label_content(label, layout, *layout.origin(index), bold)
        for index, label in enumerate(labels)
    ]
    return compress_page("\n".join(parts).encode("ascii"))


def _rendered_pages(pages: Iterator[list[Label]], grid: str, workers: int) -> Iterator[bytes]:
    head = [] if workers <= 1 else list(islice(pages, PARALLEL_MIN_PAGES))
    if workers <= 1 or len(head) < PARALLEL_MIN_PAGES:
        yield from (render_page(grid, page) for page in _chain(head, pages))
        return
    with ProcessPoolExecutor(workers, mp_context=pool_context()) as pool:
        window: deque[Future[bytes]] = deque()
        for page in _chain(head, pages):
            window.append(pool.submit(render_page, grid, page))
            if len(window) > 2 * workers:  # bounded: never queue the whole run
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


def _label_content(label: Label, layout: LabelGrid, x: float, y: float, bold: PdfFont) -> str:
    matrix = qr_matrix(label.uri)
    serial = format_serial(label.serial) if is_well_formed_serial(label.serial) else label.serial
    text, serial_x, serial_y = _lot_text(layout.name, label.product_name, label.lot)
    return (
        f"q 1 0 0 1 {x:.3f} {y:.3f} cm {_qr_placement(layout.name, matrix.size)} "
        f"{pdf_path_ops(matrix)} f Q BT {text} /F2 {serial_size(layout, bold, serial):.2f} Tf "
        f"1 0 0 1 {serial_x:.3f} {serial_y:.3f} Tm {bold.encode(serial)} Tj ET Q"
    )


@lru_cache(maxsize=64)
def _qr_placement(grid: str, size: int) -> str:
    """``q`` and the transform from modules to points, relative to the label's corner."""
    layout = GRIDS[grid]
    module = layout.qr_side / (size + 2 * QUIET_ZONE)
    left = layout.padding + QUIET_ZONE * module
    bottom = (layout.height - layout.qr_side) / 2 + QUIET_ZONE * module
    return f"q {module:.5f} 0 0 {module:.5f} {left:.3f} {bottom:.3f} cm"


@lru_cache(maxsize=256)
def _lot_text(grid: str, product_name: str, lot: str) -> tuple[str, float, float]:
    """Text operators shared by a lot's labels, and the serial's position."""
    regular, bold = load_font(REGULAR), load_font(BOLD)
    block = text_block(
        GRIDS[grid],
        regular,
        bold,
        name=clean_text(product_name),
        lot=f"Lô/Lot: {lot}",
        caption=CAPTION,
    )
    ops = " ".join(_line_op(line, regular, bold) for line in block.lines)
    return ops, block.serial_x, block.serial_y


def _line_op(line: TextLine, regular: PdfFont, bold: PdfFont) -> str:
    font, name = (bold, "F2") if line.bold else (regular, "F1")
    return (
        f"/{name} {line.size:.2f} Tf 1 0 0 1 {line.x:.3f} {line.y:.3f} Tm "
        f"{font.encode(line.text)} Tj"
    )


def _chunks(items: Iterator[Label], size: int) -> Iterator[list[Label]]:
    while chunk := list(islice(items, size)):
        yield chunk


def _chain(head: list[list[Label]], rest: Iterator[list[Label]]) -> Iterator[list[Label]]:
    yield from head
    yield from rest


def _worker_count(requested: int | None) -> int:
    if requested is not None:
        return max(1, requested)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
