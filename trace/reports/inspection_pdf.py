"""The inspection report of a lot (reportlab): facts, events, certificates, anchoring proof."""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from trace.anchoring import IntegrityReport
from trace.extensions import lot_verdict
from trace.services.events import local_time
from trace.services.lot_view import LotRecord

FONT, BOLD = "ReportSans", "ReportSans-Bold"


def render_lot_report(
    record: LotRecord,
    integrity: IntegrityReport,
    verify_url: str,
    fonts: Sequence[Path] | None = None,
) -> bytes:
    """A PDF report of the lot for an inspector's file.

    :param verify_url: printed and encoded in a QR code: where the lot can be re-checked.
    :param fonts: regular and bold TrueType fonts with Vietnamese glyphs (else Helvetica).
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import SimpleDocTemplate

    regular, bold = _fonts(fonts)
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out, pagesize=A4, title=f"Lot {record.lot.code}", author="AgriTrace"
    )
    document.build(_story(record, integrity, verify_url, regular, bold))
    return out.getvalue()


def _fonts(fonts: Sequence[Path] | None) -> tuple[str, str]:
    if not fonts or not all(Path(f).is_file() for f in fonts):
        return "Helvetica", "Helvetica-Bold"
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(fonts[0])))
        pdfmetrics.registerFont(TTFont(BOLD, str(fonts[1])))
    return FONT, BOLD


def _story(
    record: LotRecord, integrity: IntegrityReport, url: str, font: str, bold: str
) -> list[Any]:
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, Spacer

    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12)
    heading = ParagraphStyle("heading", fontName=bold, fontSize=12, leading=16, spaceBefore=8)
    title = ParagraphStyle("title", fontName=bold, fontSize=16, leading=20)
    lot, product, producer = record.lot, record.product, record.producer
    story: list[Any] = [
        Paragraph(_text(_("Inspection report — lot %(code)s", code=lot.code)), title),
        Spacer(1, 6),
    ]
    story.append(_table(_facts(record), font, bold, widths=(140, 330)))
    story += [Paragraph(_("Events"), heading), _table(_events(record), font, bold, header=True)]
    story += [
        Paragraph(_("Certifications"), heading),
        _table(_certifications(record), font, bold, header=True),
    ]
    story += [
        Paragraph(_("Anchoring proof"), heading),
        _table(_anchoring(record, integrity), font, bold),
    ]
    story += [Paragraph(_("Verification"), heading), _qr(url), Paragraph(_text(url), body)]
    story.append(Paragraph(_text(f"{producer.name} · {product.name_vi} / {product.name_en}"), body))
    return story


def _text(value: Any) -> str:
    from xml.sax.saxutils import escape

    return escape(unicodedata.normalize("NFC", str(value if value is not None else "")))


def _table(
    rows: list[list[Any]], font: str, bold: str, header: bool = False, widths: Any = None
) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    if not rows:
        rows = [["—"]]
    table = Table(
        [[_text(c) for c in row] for row in rows], colWidths=widths, repeatRows=1 if header else 0
    )
    style = [
        ("FONT", (0, 0), (-1, -1), font, 8),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    style.append(
        ("FONT", (0, 0), (-1, 0), bold, 8) if header else ("FONT", (0, 0), (0, -1), bold, 8)
    )
    table.setStyle(TableStyle(style))
    return table


def _facts(record: LotRecord) -> list[list[Any]]:
    lot, product, producer = record.lot, record.product, record.producer
    return [
        [_("Lot"), f"{lot.code} (id {lot.id})"],
        [_("Product"), f"{product.name_vi} / {product.name_en} — GTIN {product.gtin}"],
        [_("Producer"), f"{producer.name} ({producer.registration_number})"],
        [_("Address"), f"{producer.commune}, {producer.district}, {producer.province}"],
        [_("Plot"), record.plot.name if record.plot else "—"],
        [_("Harvest date"), lot.harvest_date.isoformat()],
        [_("Quantity"), f"{lot.quantity.normalize():f} {lot.unit}"],
        [_("Stamps"), lot.stamp_count],
        [_("Recalled"), lot.recalled_at.isoformat() if lot.recalled_at else _("no")],
        [_("Verdict"), _lot_verdict(record)],
    ]


def _lot_verdict(record: LotRecord) -> str:
    """What the lot's active stamps scan as: the stamps package's one verdict function."""
    label = lot_verdict(current_app)
    return label(record.lot, record.producer) if label else "—"


def _events(record: LotRecord) -> list[list[Any]]:
    rows = [[_("Kind"), _("Time"), _("Place"), _("Details"), _("Event hash ID")]]
    for item in record.events:
        event = item.event
        details = ", ".join(f"{k}: {v}" for k, v in event.details.items() if k != "input_lots")
        status = _(" (corrected by %(id)s)", id=item.superseded_by) if item.superseded_by else ""
        rows.append([event.kind + status, local_time(event).strftime("%Y-%m-%d %H:%M %z"),
                     event.place[:40], details[:60], item.hash_id[15:31] + "…"])  # fmt: skip
    return rows


def _certifications(record: LotRecord) -> list[list[Any]]:
    rows = [[_("Scheme"), _("Number"), _("Issuer"), _("Valid")]]
    for cert in record.certifications:
        valid = f"{cert.valid_from.isoformat()} – {cert.valid_to.isoformat()}"
        rows.append([cert.scheme, cert.number, cert.issuer[:50], valid])
    return rows


def _anchoring(record: LotRecord, integrity: IntegrityReport) -> list[list[Any]]:
    rows = [
        [_("Integrity"), integrity.status + (f" ({integrity.reason})" if integrity.reason else "")],
        [_("Current document hash"), integrity.current_hash],
    ]
    anchored = [(d, a) for d, a in record.versions if a is not None and a.status == "confirmed"]
    if not anchored:
        return rows + [[_("Anchored"), _("not yet (pending the next round)")]]
    document, anchor = anchored[-1]
    return rows + [
        [_("Anchored version"), f"{document.version} — {document.doc_hash}"],
        [_("Round root"), anchor.root],
        [
            _("Transaction"),
            _(
                "%(tx)s (block %(block)s, chain %(chain)s)",
                tx=anchor.tx_hash,
                block=anchor.block_number,
                chain=anchor.chain_id,
            ),
        ],
        [_("Contract"), anchor.contract_address or ""],
        [_("Merkle proof"), " ".join(document.lot_proof or []) or _("(the round has one leaf)")],
    ]


def _qr(url: str) -> Any:
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing

    widget = QrCodeWidget(url)
    x0, y0, x1, y1 = widget.getBounds()
    size = 110
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing
