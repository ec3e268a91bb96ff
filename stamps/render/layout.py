"""Label stock geometry (A4 presets) and the placement of text lines on one label."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from stamps.render.fonts import PdfFont
from stamps.render.pdf import A4

MM = 72 / 25.4
"""One millimetre in PDF points."""
LEADING = 1.22
ELLIPSIS = "…"


@dataclass(frozen=True)
class LabelGrid:
    """An A4 sheet of equal labels; all lengths in PDF points, labels filled row by row."""

    name: str
    columns: int
    rows: int
    width: float
    height: float
    left: float  # page edge to the first column
    top: float  # page top to the first row
    pitch_x: float
    pitch_y: float
    padding: float  # kept clear inside each label for die-cut and printer tolerance
    name_size: float
    body_size: float
    serial_size: float
    caption_size: float
    name_lines: int

    @property
    def per_page(self) -> int:
        """Labels on one sheet."""
        return self.columns * self.rows

    @property
    def qr_side(self) -> float:
        """Side of the QR code including its quiet zone."""
        return self.height - 2 * self.padding

    @property
    def text_left(self) -> float:
        """Start of the text column, from the label's left edge."""
        return self.padding + self.qr_side + 0.6 * MM

    @property
    def text_width(self) -> float:
        """Width of the text column."""
        return self.width - self.text_left - self.padding

    def origin(self, index: int) -> tuple[float, float]:
        """Bottom-left corner of label ``index`` on the page, in points."""
        row, column = divmod(index, self.columns)
        x = self.left + column * self.pitch_x
        y = A4[1] - self.top - row * self.pitch_y - self.height
        return x, y


def _grid(
    name: str,
    columns: int,
    rows: int,
    size: tuple[float, float],
    margins: tuple[float, float],
    pitch: tuple[float, float],
    padding: float,
    text: tuple[float, float, float, float],
    name_lines: int,
) -> LabelGrid:
    """Build a grid from millimetres (label size, left/top margins, pitch) and text sizes."""
    return LabelGrid(
        name,
        columns,
        rows,
        size[0] * MM,
        size[1] * MM,
        margins[0] * MM,
        margins[1] * MM,
        pitch[0] * MM,
        pitch[1] * MM,
        padding * MM,
        *text,
        name_lines,
    )


GRIDS: dict[str, LabelGrid] = {
    # 24 labels of 63.5 x 33.9 mm (the common "L7159" A4 stock)
    "3x8": _grid(
        "3x8", 3, 8, (63.5, 33.9), (7.25, 12.9), (66.0, 33.9), 2.5, (8.0, 7.0, 8.0, 6.5), 2
    ),
    # 65 labels of 38.1 x 21.2 mm (the common "L7651" A4 stock)
    "5x13": _grid(
        "5x13", 5, 13, (38.1, 21.2), (4.75, 10.7), (40.6, 21.2), 1.5, (6.0, 5.5, 6.0, 5.0), 1
    ),
}


class TextLine(NamedTuple):
    """One line of text, its baseline placed relative to the label's bottom-left corner."""

    text: str
    bold: bool
    size: float
    x: float
    y: float


class TextBlock(NamedTuple):
    """The lines shared by all labels of a lot, and where each label's serial goes."""

    lines: list[TextLine]
    serial_x: float
    serial_y: float


def text_block(
    grid: LabelGrid,
    regular: PdfFont,
    bold: PdfFont,
    *,
    name: str,
    lot: str,
    caption: tuple[str, ...],
) -> TextBlock:
    """Fit the text into the label's column, centred vertically, leaving a serial slot.

    The slot is as tall as the grid's serial size, whatever size one serial needs.
    """
    width = grid.text_width
    rows: list[tuple[str | None, bool, float]]  # None marks the serial's slot
    rows = [(line, True, size) for line, size in _wrap(name, bold, grid, width)]
    rows.append(_row(lot, regular, grid.body_size, width))
    rows.append((None, True, grid.serial_size))
    rows += [_row(line, regular, grid.caption_size, width) for line in caption]
    cursor = (grid.height + sum(size * LEADING for _, _, size in rows)) / 2
    lines, serial_y = [], 0.0
    for text, is_bold, size in rows:
        cursor -= size * LEADING
        baseline = cursor + 0.28 * size
        if text is None:
            serial_y = baseline
        else:
            lines.append(TextLine(text, is_bold, size, grid.text_left, baseline))
    return TextBlock(lines, grid.text_left, serial_y)


def serial_size(grid: LabelGrid, bold: PdfFont, serial: str) -> float:
    """Font size for ``serial``: the grid's serial size, smaller if needed to fit."""
    natural = bold.width(serial, 1)
    return min(grid.serial_size, grid.text_width / natural) if natural else grid.serial_size


def _row(text: str, font: PdfFont, size: float, width: float) -> tuple[str | None, bool, float]:
    fitted, fitted_size = _fit(text, font, size, width)
    return fitted, False, fitted_size


def _wrap(text: str, font: PdfFont, grid: LabelGrid, width: float) -> list[tuple[str, float]]:
    size = grid.name_size
    lines: list[str] = []
    for word in text.split():
        if lines and font.width(f"{lines[-1]} {word}", size) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > grid.name_lines:
        lines = lines[: grid.name_lines - 1] + [" ".join(lines[grid.name_lines - 1 :])]
    return [_fit(line, font, size, width) for line in lines] or [("", size)]


def _fit(text: str, font: PdfFont, size: float, width: float) -> tuple[str, float]:
    """Shrink ``text`` to at most 15 % below ``size``, then cut it with an ellipsis."""
    natural = font.width(text, 1)
    if natural * size <= width:
        return text, size
    smallest = 0.85 * size
    if natural * smallest <= width:
        return text, width / natural
    budget = width / smallest - font.width(ELLIPSIS, 1)
    used, keep = 0.0, 0
    for char in text:
        used += font.width(char, 1)
        if used > budget:
            break
        keep += 1
    return text[:keep].rstrip() + ELLIPSIS, smallest
