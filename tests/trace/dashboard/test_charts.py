"""Each chart's CSV holds the numbers the database says, for every filter combination."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlmodel import Session

from tests.trace.dashboard import recompute
from tests.trace.dashboard.conftest import Province
from trace.dashboard.filters import parse_filters
from trace.models import User

#: Filters, and whether the province has scans they keep (Châu Thành grows no grain).
FILTERS = [
    ({}, True),
    ({"district": "ben-luc"}, True),
    ({"category": "fruit"}, True),
    ({"district": "chau-thanh", "category": "grain"}, False),
    ({"period": "3"}, True),
    ({"period": "24", "district": "tan-an"}, True),
]


def read_csv(client: FlaskClient, key: str, args: dict[str, str]) -> tuple[list[str], Counter]:
    response = client.get(f"/dashboard/{key}.csv", query_string=args)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    header, body = rows[0], rows[1:]
    cells: Counter = Counter()
    for row in body:
        for series, value in zip(header[1:], row[1:], strict=True):
            if int(value):
                cells[(row[0], series)] = int(value)
    return [row[0] for row in body], cells


def keeper(args: dict[str, str]) -> Callable[[str, str | None], bool]:
    def keep(district: str, category: str | None) -> bool:
        return (
            args.get("district", district) == district
            and args.get("category", category) == category
        )

    return keep


@pytest.mark.parametrize(("args", "has_scans"), FILTERS)
def test_every_chart_csv_matches_the_database(
    province: Province,
    session: Session,
    login_as: Callable[[str], FlaskClient],
    args: dict[str, str],
    has_scans: bool,
) -> None:
    client = login_as("admin@example.vn")
    filters = parse_filters(args, datetime.now(UTC))
    months = set(filters.month_keys)
    keep = keeper(args)
    expected = {
        "stamps-per-month": recompute.stamps_per_month(session, keep, months),
        "scans-by-district": recompute.scans_by_district(session, keep, months),
        "suspicious-scans": recompute.suspicious_scans(session, keep, months),
        "open-flags": recompute.open_flags(session, keep),
        "oversight-by-district": recompute.oversight(session, keep, filters.since),
        "certifications-expiring": recompute.certifications_expiring(session, keep, filters.today),
        "listings-by-state": recompute.listings_by_state(session, keep),
        "anchoring-rounds": recompute.anchoring_rounds(session, months),
        "pending-lots": recompute.pending_lots(session, keep, filters.now),
    }
    for key, numbers in expected.items():
        _x, cells = read_csv(client, key, args)
        assert cells == numbers, key
    assert bool(expected["scans-by-district"]) == has_scans


def test_monthly_charts_list_every_month_of_the_period_oldest_first(
    province: Province, inspector: User, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("inspector@example.vn")
    for period in ("3", "12", "24"):
        months, _cells = read_csv(client, "stamps-per-month", {"period": period})
        assert len(months) == int(period)
        assert months == sorted(months)
        assert months[-1] == parse_filters({}).month_keys[-1]


def test_a_scan_just_before_midnight_utc_counts_in_vietnam_s_next_month(
    province: Province, session: Session, login_as: Callable[[str], FlaskClient]
) -> None:
    from tests.trace.dashboard.conftest import month_start

    client = login_as("admin@example.vn")
    _months, cells = read_csv(client, "stamps-per-month", {"period": "3"})
    boundary = month_start(1)
    before = recompute.local_month(boundary - timedelta(minutes=30))
    after = recompute.local_month(boundary)
    assert before != after
    assert cells[(after, "scans")] > 0 and cells[(before, "scans")] > 0


def test_scans_count_where_they_happened_and_unknown_without_a_shared_place(
    province: Province, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("admin@example.vn")
    districts, cells = read_csv(client, "scans-by-district", {})
    assert len(districts) == 17 and districts[-2:] == ["elsewhere", "unknown"]
    assert cells[("tan-an", "scans")] > 0 and cells[("elsewhere", "scans")] > 0
    assert cells[("unknown", "scans")] > cells[("tan-an", "scans")]
    # Bến Lức grows the grain, but only scans whose consumer was there count there.
    assert ("chau-thanh", "scans") not in cells and ("other", "scans") not in cells


def test_recalls_inspections_tampering_and_alerts_count_by_district(
    province: Province, login_as: Callable[[str], FlaskClient]
) -> None:
    _districts, cells = read_csv(login_as("admin@example.vn"), "oversight-by-district", {})
    assert cells[("chau-thanh", "recalls")] == 1 and cells[("other", "recalls")] == 1
    assert ("ben-luc", "recalls") not in cells  # recalled before the period
    assert cells[("chau-thanh", "inspections_pass")] == 1
    assert cells[("ben-luc", "inspections_fail")] == 1
    assert cells[("tan-an", "inspections_fail")] == 1  # the corrected result only
    assert ("tan-an", "inspections_pass") not in cells
    assert cells[("tan-an", "tampered")] == 1
    assert cells[("chau-thanh", "alerts")] == 1 and cells[("other", "alerts")] == 1


def test_unknown_chart_is_a_404_page(
    province: Province, login_as: Callable[[str], FlaskClient]
) -> None:
    response = login_as("admin@example.vn").get("/dashboard/nothing.csv")
    assert response.status_code == 404
    assert "Traceback" not in response.get_data(as_text=True)
