"""Long An's 15 district-level units, their tile-grid places, and matching free-text names."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class District:
    """One district-level unit and its tile on the choropleth grid (row 0 is the north)."""

    key: str
    name: str
    row: int
    column: int


#: Laid out roughly as on a map: the Đồng Tháp Mười plain in the west, Hồ Chí Minh City's
#: edge in the east, the Vàm Cỏ rivers between. No boundary file can be shipped.
DISTRICTS: tuple[District, ...] = (
    District("tan-hung", "Tân Hưng", 0, 0),
    District("vinh-hung", "Vĩnh Hưng", 0, 1),
    District("duc-hue", "Đức Huệ", 0, 4),
    District("duc-hoa", "Đức Hòa", 0, 5),
    District("kien-tuong", "Kiến Tường", 1, 1),
    District("moc-hoa", "Mộc Hóa", 1, 2),
    District("thanh-hoa", "Thạnh Hóa", 1, 3),
    District("thu-thua", "Thủ Thừa", 1, 4),
    District("ben-luc", "Bến Lức", 1, 5),
    District("can-giuoc", "Cần Giuộc", 1, 6),
    District("tan-thanh", "Tân Thạnh", 2, 2),
    District("tan-an", "Tân An", 2, 4),
    District("tan-tru", "Tân Trụ", 2, 5),
    District("can-duoc", "Cần Đước", 2, 6),
    District("chau-thanh", "Châu Thành", 3, 5),
)
BY_KEY = {district.key: district for district in DISTRICTS}
UNKNOWN = "other"

_PREFIXES = re.compile(r"^(huyen|thanh pho|tp\.?|thi xa|tx\.?)\s+")


def _folded(text: str) -> str:
    """Lower case without diacritics: 'Huyện Bến Lức' -> 'huyen ben luc'."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.lower().split())


def district_key(name: str | None) -> str:
    """The key of the district a registered name means, or ``UNKNOWN``.

    Producers type their district freely ("Huyện Bến Lức", "TP. Tân An", "ben luc").
    """
    folded = _PREFIXES.sub("", _folded(name or ""))
    key = folded.replace(" ", "-")
    return key if key in BY_KEY else UNKNOWN
