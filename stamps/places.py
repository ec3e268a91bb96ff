"""Coarse consumer locations: Vietnam's provinces (2025 boundaries) and geohash-5 cells."""

from __future__ import annotations

import math
from dataclasses import dataclass

# Approximate centres, enough to tell an impossible journey from a possible one.
PROVINCES: dict[str, tuple[float, float]] = {
    "Hà Nội": (21.03, 105.85),
    "TP. Hồ Chí Minh": (10.78, 106.70),
    "Hải Phòng": (20.86, 106.68),
    "Đà Nẵng": (16.05, 108.20),
    "Huế": (16.46, 107.59),
    "Cần Thơ": (10.03, 105.78),
    "Tuyên Quang": (21.82, 105.21),
    "Cao Bằng": (22.67, 106.26),
    "Lai Châu": (22.40, 103.46),
    "Lào Cai": (22.48, 103.97),
    "Thái Nguyên": (21.59, 105.85),
    "Điện Biên": (21.39, 103.02),
    "Lạng Sơn": (21.85, 106.76),
    "Sơn La": (21.33, 103.91),
    "Phú Thọ": (21.32, 105.40),
    "Bắc Ninh": (21.19, 106.07),
    "Quảng Ninh": (21.01, 107.29),
    "Hưng Yên": (20.65, 106.05),
    "Ninh Bình": (20.25, 105.97),
    "Thanh Hóa": (19.81, 105.78),
    "Nghệ An": (18.67, 105.68),
    "Hà Tĩnh": (18.34, 105.91),
    "Quảng Trị": (16.75, 107.19),
    "Quảng Ngãi": (15.12, 108.80),
    "Gia Lai": (13.90, 108.60),
    "Đắk Lắk": (12.67, 108.04),
    "Khánh Hòa": (12.24, 109.19),
    "Lâm Đồng": (11.94, 108.44),
    "Đồng Nai": (10.95, 106.82),
    "Tây Ninh": (10.90, 106.20),
    "Đồng Tháp": (10.46, 105.63),
    "Vĩnh Long": (10.25, 105.97),
    "An Giang": (10.38, 105.43),
    "Cà Mau": (9.18, 105.15),
}
_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"


@dataclass(frozen=True)
class Place:
    """Where a consumer said they were: a province, and a geohash-5 cell when known."""

    province: str | None
    geohash: str | None = None

    def centre(self) -> tuple[float, float] | None:
        if self.geohash:
            return geohash_centre(self.geohash)
        return PROVINCES.get(self.province or "")


def place_from_coordinates(latitude: float, longitude: float) -> Place:
    """A coarse place for a point: its geohash-5 cell (~5 km) and nearest province."""
    return Place(nearest_province(latitude, longitude), geohash_encode(latitude, longitude, 5))


def nearest_province(latitude: float, longitude: float) -> str:
    """The province whose centre is closest to the point."""
    return min(PROVINCES, key=lambda name: distance_km((latitude, longitude), PROVINCES[name]))


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine) in kilometres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def geohash_encode(latitude: float, longitude: float, precision: int) -> str:
    """Standard geohash of a point."""
    ranges = [[-90.0, 90.0], [-180.0, 180.0]]
    bits, chars, even = 0, [], True
    for i in range(precision * 5):
        axis, value = (1, longitude) if even else (0, latitude)
        middle = sum(ranges[axis]) / 2
        bit = value >= middle
        ranges[axis][0 if bit else 1] = middle
        bits = bits * 2 + bit
        even = not even
        if i % 5 == 4:
            chars.append(_BASE32[bits])
            bits = 0
    return "".join(chars)


def geohash_centre(cell: str) -> tuple[float, float] | None:
    """The centre of a geohash cell, or None when the text is not a geohash."""
    ranges = [[-90.0, 90.0], [-180.0, 180.0]]
    even = True
    for char in cell:
        index = _BASE32.find(char)
        if index < 0:
            return None
        for shift in range(4, -1, -1):
            axis = 1 if even else 0
            middle = sum(ranges[axis]) / 2
            ranges[axis][0 if (index >> shift) & 1 else 1] = middle
            even = not even
    return (sum(ranges[0]) / 2, sum(ranges[1]) / 2)
