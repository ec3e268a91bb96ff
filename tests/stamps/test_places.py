"""Coarse places: geohash cells and nearest provinces."""

from __future__ import annotations

from stamps.places import distance_km, geohash_centre, geohash_encode, nearest_province


def test_geohash_matches_the_reference_vector() -> None:
    assert geohash_encode(57.64911, 10.40744, 11) == "u4pruydqqvj"


def test_geohash_centre_lies_inside_its_cell() -> None:
    centre = geohash_centre("w3gvk")
    assert centre is not None and geohash_encode(*centre, 5) == "w3gvk"
    assert geohash_centre("not a cell!") is None


def test_nearest_province_and_distance() -> None:
    assert nearest_province(10.7769, 106.7009) == "TP. Hồ Chí Minh"
    assert nearest_province(21.0285, 105.8542) == "Hà Nội"
    assert 1100 < distance_km((21.03, 105.85), (10.78, 106.70)) < 1200
