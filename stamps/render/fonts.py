"""The label fonts: DejaVu Sans Condensed subsets with Vietnamese, as embeddable PDF fonts."""

from __future__ import annotations

import unicodedata
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

FONT_DIR = Path(__file__).resolve().parent.parent / "fonts"
REGULAR = "DejaVuSansCondensed-Latin-Vietnamese.ttf"
BOLD = "DejaVuSansCondensed-Bold-Latin-Vietnamese.ttf"


@dataclass(frozen=True)
class PdfFont:
    """A TrueType font used through Identity-H: text is drawn as 2-byte glyph ids."""

    base_name: str
    glyph_hex: dict[str, str]  # character -> 4 hex digits of its glyph id
    advance: dict[str, float]  # character -> advance width per 1 pt of font size
    widths: tuple[int, ...]  # advance of each glyph id, in 1/1000 em
    to_unicode: dict[int, int]  # glyph id -> code point
    metrics: str  # the FontDescriptor's /Flags ... /StemV entries
    file_bytes: bytes

    def encode(self, text: str) -> str:
        """Return ``text`` as a PDF hex string of glyph ids (unknown characters: .notdef)."""
        glyph_hex = self.glyph_hex
        return "<" + "".join([glyph_hex.get(char, "0000") for char in text]) + ">"

    def width(self, text: str, size: float) -> float:
        """Return the advance width of ``text`` at ``size`` points."""
        advance = self.advance
        return sum([advance.get(char, 0.5) for char in text]) * size


def clean_text(text: str) -> str:
    """Compose Vietnamese diacritics (NFC) so each letter is one glyph of the font."""
    return unicodedata.normalize("NFC", " ".join(text.split()))


@cache
def load_font(filename: str) -> PdfFont:
    """Load a shipped font once per process (never at import time)."""
    from reportlab.pdfbase.ttfonts import TTFontFile

    path = FONT_DIR / filename
    ttf = TTFontFile(str(path), validate=0)
    scale = 1000 / ttf.unitsPerEm
    widths = tuple(round(advance * scale) for advance, _ in ttf.hmetrics)
    chars = {chr(code): glyph for code, glyph in ttf.charToGlyph.items()}
    return PdfFont(
        base_name="AGRITR+" + ttf.name.decode("ascii"),
        glyph_hex={char: f"{glyph:04X}" for char, glyph in chars.items()},
        advance={char: widths[glyph] / 1000 for char, glyph in chars.items()},
        widths=widths,
        to_unicode={glyph: min(codes) for glyph, codes in ttf.glyphToChar.items()},
        metrics=(
            f"/Flags 4 /FontBBox [{' '.join(str(round(v)) for v in ttf.bbox)}] /ItalicAngle 0 "
            f"/Ascent {round(ttf.ascent)} /Descent {round(ttf.descent)} "
            f"/CapHeight {round(ttf.capHeight)} /StemV {ttf.stemV}"
        ),
        file_bytes=path.read_bytes(),
    )


def font_objects(font: PdfFont, first_id: int) -> list[bytes]:
    """Return the five PDF objects of ``font``, numbered from ``first_id`` (Type0 first)."""
    type0, cid, descriptor, file_id, cmap = range(first_id, first_id + 5)
    name = font.base_name
    widths = " ".join(str(w) for w in font.widths)
    return [
        f"<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H "
        f"/DescendantFonts [{cid} 0 R] /ToUnicode {cmap} 0 R >>".encode(),
        f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} /CIDSystemInfo "
        f"<< /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor "
        f"{descriptor} 0 R /CIDToGIDMap /Identity /W [0 [{widths}]] >>".encode(),
        f"<< /Type /FontDescriptor /FontName /{name} {font.metrics} "
        f"/FontFile2 {file_id} 0 R >>".encode(),
        _stream(font.file_bytes, f"/Length1 {len(font.file_bytes)}"),
        _stream(_to_unicode_cmap(font.to_unicode).encode("ascii")),
    ]


def _stream(data: bytes, extra: str = "") -> bytes:
    packed = zlib.compress(data, 6)
    head = f"<< /Length {len(packed)} /Filter /FlateDecode {extra}>>\nstream\n".encode()
    return head + packed + b"\nendstream"


def _to_unicode_cmap(mapping: dict[int, int]) -> str:
    entries = [
        f"<{glyph:04X}> <{chr(code).encode('utf-16-be').hex().upper()}>"
        for glyph, code in sorted(mapping.items())
    ]
    blocks = [entries[i : i + 100] for i in range(0, len(entries), 100)]
    body = "".join(
        f"{len(block)} beginbfchar\n" + "\n".join(block) + "\nendbfchar\n" for block in blocks
    )
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        f"{body}endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    )
