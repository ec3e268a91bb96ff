"""Long An's 15 district-level units, their tile-grid places, and matching free-text names."""

from __future__ import annotations

import math
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
    #: Roughly the district's middle (its seat), to place a shared location in it.
    centre: tuple[float, float] = (0.0, 0.0)


#: Laid out roughly as on a map: the Đồng Tháp Mười plain in the west, Hồ Chí Minh City's
#: edge in the east, the Vàm Cỏ rivers between. No boundary file can be shipped.
DISTRICTS: tuple[District, ...] = (
    District("tan-hung", "Tân Hưng", 0, 0, (10.83, 105.66)),
    District("vinh-hung", "Vĩnh Hưng", 0, 1, (10.88, 105.77)),
    District("duc-hue", "Đức Huệ", 0, 4, (10.86, 106.25)),
    District("duc-hoa", "Đức Hòa", 0, 5, (10.88, 106.42)),
    District("kien-tuong", "Kiến Tường", 1, 1, (10.77, 105.93)),
    District("moc-hoa", "Mộc Hóa", 1, 2, (10.75, 106.03)),
    District("thanh-hoa", "Thạnh Hóa", 1, 3, (10.66, 106.17)),
    District("thu-thua", "Thủ Thừa", 1, 4, (10.60, 106.40)),
    District("ben-luc", "Bến Lức", 1, 5, (10.64, 106.49)),
    District("can-giuoc", "Cần Giuộc", 1, 6, (10.60, 106.67)),
    District("tan-thanh", "Tân Thạnh", 2, 2, (10.60, 105.95)),
    District("tan-an", "Tân An", 2, 4, (10.54, 106.41)),
    District("tan-tru", "Tân Trụ", 2, 5, (10.51, 106.51)),
    District("can-duoc", "Cần Đước", 2, 6, (10.51, 106.60)),
    District("chau-thanh", "Châu Thành", 3, 5, (10.45, 106.50)),
)
BY_KEY = {district.key: district for district in DISTRICTS}
UNKNOWN = "other"
#: Where a scan happened, besides a district: a shared place outside these districts, or
#: none shared (or only the province, which does not say which district).
ELSEWHERE = "elsewhere"
NOT_SHARED = "unknown"
#: The province the districts belong to (Long An joined Tây Ninh in 2025): a consumer
#: who shared only this province could be in any of them.
HOME_PROVINCE = "Tây Ninh"
#: A shared place further than this from every district's centre is outside them all.
DISTRICT_RADIUS_KM = 15.0

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


def place_district(province: str | None, point: tuple[float, float] | None) -> str:
    """The district key of a place a consumer shared: the district whose centre is
    nearest to ``point`` (within ``DISTRICT_RADIUS_KM``), ``ELSEWHERE`` for a place outside
    them, ``NOT_SHARED`` when only the home province (or nothing) is known."""
    if point is not None:
        km, key = min((_km(point, d.centre), d.key) for d in DISTRICTS)
        return key if km <= DISTRICT_RADIUS_KM else ELSEWHERE
    if province and province != HOME_PROVINCE:
        return ELSEWHERE
    return NOT_SHARED


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance on an equirectangular projection: exact enough within a province."""
    mean_lat = math.radians((a[0] + b[0]) / 2)
    dx = math.radians(b[1] - a[1]) * math.cos(mean_lat)
    dy = math.radians(b[0] - a[0])
    return 6371.0 * math.hypot(dx, dy)
