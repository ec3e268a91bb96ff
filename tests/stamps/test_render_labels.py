"""Specification of A4 label sheets: every QR scans to its stamp URI, text is searchable."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import pytest
from PIL import Image

from stamps.identity import format_serial
from stamps.render.fonts import BOLD, clean_text, load_font
from stamps.render.labels import CAPTION, PARALLEL_MIN_PAGES, Label, render_label_sheet
from stamps.render.layout import GRIDS

MakeLabels = Callable[..., list[Label]]
ReadPage = Callable[..., tuple[Image.Image, str]]
Decode = Callable[[Image.Image], list[str]]


def _render(labels: list[Label], grid: str, workers: int = 1) -> bytes:
    out = io.BytesIO()
    render_label_sheet(labels, grid, out, workers=workers)
    return out.getvalue()


@pytest.mark.parametrize("grid", ["3x8", "5x13"])
def test_every_qr_on_a_sheet_scans_to_its_stamp_uri(
    grid: str,
    make_labels: MakeLabels,
    read_pdf_page: ReadPage,
    decode_qr: Decode,
    count_pdf_pages: Callable[[bytes], int],
) -> None:
    per_page = GRIDS[grid].per_page
    labels = make_labels(per_page + 3)
    pdf = _render(labels, grid)
    assert count_pdf_pages(pdf) == 2
    first, _ = read_pdf_page(pdf, 0)
    assert sorted(decode_qr(first)) == sorted(label.uri for label in labels[:per_page])
    second, _ = read_pdf_page(pdf, 1, dpi=200)
    assert sorted(decode_qr(second)) == sorted(label.uri for label in labels[per_page:])


@pytest.mark.parametrize("grid", ["3x8", "5x13"])
def test_serials_lot_product_and_caption_are_in_the_text_layer(
    grid: str, make_labels: MakeLabels, read_pdf_page: ReadPage
) -> None:
    labels = make_labels(7, product="Bưởi da xanh", lot="L-07/2024")
    _, text = read_pdf_page(_render(labels, grid), 0, dpi=36)
    for label in labels:
        assert format_serial(label.serial) in text
    assert text.count("Bưởi da xanh") == 7
    assert text.count("Lô/Lot: L-07/2024") == 7
    assert text.count(CAPTION[0]) == text.count(CAPTION[1]) == 7
    assert CAPTION == ("Quét để truy xuất", "Scan to verify")


def test_decomposed_vietnamese_is_printed_composed(
    make_labels: MakeLabels, read_pdf_page: ReadPage
) -> None:
    decomposed = "Xoa\u0300i ca\u0301t Ho\u0300a Lô\u0323c"  # NFD input from some keyboards
    _, text = read_pdf_page(_render(make_labels(1, product=decomposed), "3x8"), 0, dpi=36)
    assert "Xoài cát Hòa Lộc" in text


def test_long_product_names_are_cut_to_fit_the_label(
    make_labels: MakeLabels, read_pdf_page: ReadPage
) -> None:
    name = "Gạo ST25 hữu cơ đặc sản Sóc Trăng túi năm ký " * 3
    _, text = read_pdf_page(_render(make_labels(1, product=name), "5x13"), 0, dpi=36)
    assert "…" in text and "Gạo ST25" in text
    bold, grid = load_font(BOLD), GRIDS["5x13"]
    first_line = text.split("\r\n")[0]
    assert bold.width(first_line, 0.85 * grid.name_size) <= grid.text_width + 0.01


def test_foreign_serials_are_printed_as_given(
    make_labels: MakeLabels, read_pdf_page: ReadPage
) -> None:
    label = make_labels(1)[0]._replace(serial="LEGACY-0042")
    _, text = read_pdf_page(_render([label], "3x8"), 0, dpi=36)
    assert "LEGACY-0042" in text


def test_parallel_rendering_gives_the_same_pdf(make_labels: MakeLabels) -> None:
    labels = make_labels(PARALLEL_MIN_PAGES * GRIDS["3x8"].per_page + 1)
    assert _render(labels, "3x8", workers=2) == _render(labels, "3x8", workers=1)


def test_pages_are_written_before_all_labels_are_read(make_labels: MakeLabels) -> None:
    labels = make_labels(3 * GRIDS["3x8"].per_page)
    out = io.BytesIO()
    sizes_seen: list[int] = []

    def feed() -> Iterator[Label]:
        for index, label in enumerate(labels):
            if index == len(labels) - 1:
                sizes_seen.append(len(out.getvalue()))
            yield label

    render_label_sheet(feed(), "3x8", out, workers=1)
    assert sizes_seen[0] > 0.5 * len(out.getvalue())  # two of three pages already out


def test_quiet_zone_and_text_stay_inside_each_label() -> None:
    for grid in GRIDS.values():
        assert grid.text_left > grid.padding + grid.qr_side
        assert grid.text_width > 0
        right_edge = grid.left + (grid.columns - 1) * grid.pitch_x + grid.width
        assert 0 < grid.left and right_edge < 595.3
        assert grid.origin(grid.per_page - 1)[1] > 0


def test_clean_text_composes_and_collapses_spaces() -> None:
    assert clean_text("  Ca\u0300   phê ") == "Cà phê"


@pytest.mark.parametrize(("labels", "grid"), [([], "3x8"), (None, "4x4")])
def test_bad_requests_are_refused(
    labels: list[Label] | None, grid: str, make_labels: MakeLabels
) -> None:
    with pytest.raises(ValueError):
        render_label_sheet(make_labels(1) if labels is None else labels, grid, io.BytesIO())
