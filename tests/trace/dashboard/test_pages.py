"""The dashboard page: who sees it, what it shows, its language, and that it stays aggregate."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlmodel import Session

from stamps.models import Scan
from tests.trace.dashboard.conftest import Province
from trace.models import User

CHARTS = (
    "stamps-per-month",
    "scans-by-district",
    "suspicious-scans",
    "certifications-expiring",
    "listings-by-state",
    "anchoring-rounds",
    "pending-lots",
)


@pytest.mark.parametrize("email", ["admin@example.vn", "inspector@example.vn"])
def test_admins_and_inspectors_see_every_chart_with_its_csv(
    province: Province, inspector: User, login_as: Callable[[str], FlaskClient], email: str
) -> None:
    client = login_as(email)
    page = client.get("/dashboard/", query_string={"district": "ben-luc", "period": "6"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for key in CHARTS:
        section = html[html.index(f'id="{key}"') :]
        assert "<svg" in section[: section.index("</section>")]
        link = re.search(rf'href="(/dashboard/{key}\.csv\?[^"]+)"', section)
        assert link is not None
        href = link.group(1).replace("&amp;", "&")
        assert "district=ben-luc" in href and "period=6" in href
        assert client.get(href).status_code == 200
    assert 'value="ben-luc" selected' in html


def test_farmers_get_not_found_and_visitors_are_sent_to_log_in(
    province: Province, client: FlaskClient, login_as: Callable[[str], FlaskClient]
) -> None:
    assert login_as("farmer1@example.vn").get("/dashboard/").status_code == 404
    assert login_as("farmer1@example.vn").get("/dashboard/scans-by-district.csv").status_code == 404
    response = client.get("/dashboard/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_page_has_no_inline_script_or_style_and_nothing_from_elsewhere(
    province: Province, login_as: Callable[[str], FlaskClient]
) -> None:
    html = login_as("admin@example.vn").get("/dashboard/").get_data(as_text=True)
    assert "<script" not in html
    assert "style=" not in html and "<style" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert html.count("<svg") >= len(CHARTS)


def test_district_map_has_a_tile_for_each_of_long_an_s_15_districts(
    province: Province, login_as: Callable[[str], FlaskClient]
) -> None:
    html = login_as("admin@example.vn").get("/dashboard/").get_data(as_text=True)
    section = html[html.index('id="scans-by-district"') :]
    section = section[: section.index("</section>")]
    assert section.count('<g class="tile">') == 15
    for name in ("Tân An", "Kiến Tường", "Bến Lức", "Vĩnh Hưng", "Cần Giuộc"):
        assert f">{name}</text>" in section


def test_vietnamese_by_default_english_on_request(
    province: Province, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("admin@example.vn")
    vietnamese = client.get("/dashboard/").get_data(as_text=True)
    english = client.get("/dashboard/", query_string={"lang": "en"}).get_data(as_text=True)
    assert '<html lang="vi">' in vietnamese
    assert '<html lang="en">' in english and "Province dashboard" in english


def test_the_page_runs_the_same_aggregate_queries_however_many_scans_there_are(
    app: Flask, province: Province, session: Session, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("admin@example.vn")
    first = _statements(app, client)
    now = datetime.now(UTC)
    session.add_all(
        Scan(stamp_id=1 + n % 20, scanned_at=now, client_hash="1" * 64) for n in range(500)
    )
    session.commit()
    second = _statements(app, client)
    assert len(first) == len(second)
    reads_log = [sql for sql in second if re.search(r"FROM (scans|stamps|stamp_flags)\b", sql)]
    assert reads_log and all("GROUP BY" in sql or "count(" in sql for sql in reads_log)


def _statements(app: Flask, client: FlaskClient) -> list[str]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    engine = app.extensions["db_engine"]
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get("/dashboard/").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return [sql for sql in seen if sql.lstrip().upper().startswith("SELECT")]
