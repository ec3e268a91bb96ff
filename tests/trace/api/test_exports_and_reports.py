"""FSMA 204 sortable spreadsheets, inspections and the inspection report."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from tests.registry_fixtures import Farm
from tests.standards import FSMA204
from trace.models import Event, Job
from trace.models.exports import ExportManifest
from trace.services.events import NewEvent, record_event

KDE_CSV = FSMA204 / "kde_columns_by_cte.csv"


@pytest.fixture
def shipped(session: Session, farm_a: Farm) -> Farm:
    """Farm A's lot harvested, cooled and shipped."""
    when = datetime.now().astimezone() - timedelta(hours=5)
    for kind, details in (
        ("harvest", {}),
        ("cooling", {"temperature_c": "4"}),
        ("shipping", {"destination": "Chợ Bình Điền"}),
    ):
        record_event(
            session, farm_a.actor, farm_a.lot_id, NewEvent(kind, when, "Châu Thành", details)
        )
        when += timedelta(hours=1)
    return farm_a


def export_csv(api: Any, **params: Any) -> tuple[Any, list[dict[str, str]]]:
    response = api.get("/api/v1/exports/fsma204.csv", query_string=params)
    assert response.status_code == 200, response.data[:300]
    text = response.data.decode("utf-8-sig")
    return response, list(csv.DictReader(io.StringIO(text)))


def test_csv_has_one_row_per_critical_tracking_event_with_the_lot_code(
    inspector_api: Any, shipped: Farm
) -> None:
    _, rows = export_csv(inspector_api, lot_id=shipped.lot_id)
    assert [row["Critical Tracking Event"] for row in rows] == ["harvesting", "cooling", "shipping"]
    assert {row["Traceability Lot Code"] for row in rows} == {rows[0]["Traceability Lot Code"]}
    assert rows[0]["Traceability Lot Code"].endswith("(10)TL-1")
    assert rows[2]["Immediate Subsequent Recipient Location Description"] == "Chợ Bình Điền"
    assert rows[0]["Reference Document Number"].startswith("ni:///sha-256;")


def test_csv_columns_are_the_fsma_204_kdes_of_every_cte(inspector_api: Any, shipped: Farm) -> None:
    response, _ = export_csv(inspector_api, lot_id=shipped.lot_id)
    header = next(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    with KDE_CSV.open(encoding="utf-8") as handle:
        kdes = {row["column_header"] for row in csv.DictReader(handle)}
    assert header[:3] == ["Critical Tracking Event", "Traceability Lot Code", "Event Time"]
    assert set(header[3:]) | {"Traceability Lot Code"} == kdes


def test_xlsx_has_a_sortable_sheet_per_cte(inspector_api: Any, shipped: Farm) -> None:
    from openpyxl import load_workbook

    response = inspector_api.get(
        "/api/v1/exports/fsma204.xlsx", query_string={"lot_id": shipped.lot_id}
    )
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames[0] == "All CTEs" and "shipping" in book.sheetnames
    shipping = book["shipping"]
    assert shipping.auto_filter.ref and shipping.freeze_panes == "A2"
    assert shipping.max_row == 2  # header + the one shipping event


def test_every_export_records_a_manifest_with_the_files_sha256(
    inspector_api: Any, session: Session, shipped: Farm
) -> None:
    response, _ = export_csv(inspector_api, lot_code="TL-1")
    manifest = session.get(ExportManifest, int(response.headers["Export-Manifest"]))
    assert manifest.sha256 == hashlib.sha256(response.data).hexdigest() and manifest.rows == 3
    digest = base64.b64encode(hashlib.sha256(response.data).digest()).decode()
    assert response.headers["Repr-Digest"] == f"sha-256=:{digest}:"


def check_manifest_proof(app: Any, data: bytes, manifest: dict[str, Any]) -> None:
    """Check a file against its manifest the way an inspector would, without our database."""
    from chain.canonical import document_hash
    from chain.merkle import leaf_hash, process_proof

    document = manifest["document"]
    assert hashlib.sha256(data).hexdigest() == document["sha256"] == manifest["sha256"]
    leaf = document_hash(document)
    assert "0x" + leaf.hex() == manifest["manifest_hash"]
    path = [bytes.fromhex(step[2:]) for step in manifest["path"]]
    root = bytes.fromhex(manifest["anchor"]["root"][2:])
    assert process_proof(leaf_hash(leaf), path) == root
    chain = app.extensions["chain"]
    assert chain.find_anchor(root).tx_hash == manifest["anchor"]["tx_hash"]
    assert chain.verify_on_chain(root, leaf_hash(leaf), path)


def test_an_export_manifest_is_anchored_in_the_next_round_with_a_checkable_proof(
    app: Any, inspector_api: Any, shipped: Farm, anchor: Any
) -> None:
    anchor()  # the lot's documents are on chain: the export's manifest waits alone
    response, _ = export_csv(inspector_api, lot_id=shipped.lot_id)
    url = f"/api/v1/exports/manifests/{response.headers['Export-Manifest']}"
    waiting = inspector_api.get(url).json
    assert waiting["status"] == "waiting" and waiting["path"] is None
    assert waiting["document"]["kind"] == "fsma204.csv"
    assert waiting["document"]["parameters"] == {"lot_id": shipped.lot_id}
    anchor()
    anchored = inspector_api.get(url).json
    assert anchored["status"] == "confirmed" and anchored["anchor"]["tx_hash"]
    check_manifest_proof(app, response.data, anchored)
    with pytest.raises(AssertionError):
        check_manifest_proof(app, response.data + b"\n", anchored)


def test_an_epcis_query_document_is_an_export_with_an_anchored_manifest(
    app: Any, inspector_api: Any, shipped: Farm, anchor: Any
) -> None:
    response = inspector_api.get(
        "/api/v1/epcis/events",
        query_string={"lot_id": shipped.lot_id},
        headers={"Accept": "application/ld+json"},
    )
    assert response.content_type == "application/ld+json"
    url = f"/api/v1/exports/manifests/{response.headers['Export-Manifest']}"
    anchor()
    manifest = inspector_api.get(url).json
    assert manifest["kind"] == "epcis.query" and manifest["rows"] == 3
    check_manifest_proof(app, response.data, manifest)


def test_a_farmer_cannot_read_someone_elses_manifest(
    inspector_api: Any, farmer_a_api: Any, shipped: Farm
) -> None:
    theirs, _ = export_csv(inspector_api, lot_id=shipped.lot_id)
    mine, _ = export_csv(farmer_a_api, lot_id=shipped.lot_id)
    base = "/api/v1/exports/manifests/"
    assert farmer_a_api.get(base + theirs.headers["Export-Manifest"]).status_code == 404
    assert farmer_a_api.get(base + mine.headers["Export-Manifest"]).status_code == 200


def test_an_export_must_name_a_lot_or_dates(inspector_api: Any) -> None:
    response = inspector_api.get("/api/v1/exports/fsma204.csv")
    assert response.status_code == 422 and response.content_type == "application/problem+json"


def test_a_farmers_export_never_includes_another_farmers_lot(
    farmer_b_api: Any, shipped: Farm
) -> None:
    _, rows = export_csv(farmer_b_api, lot_id=shipped.lot_id)
    assert rows == []


def test_an_inspection_becomes_an_event_of_the_lot(
    callers: dict[str, Any], session: Session, farm_a: Farm
) -> None:
    form = {
        "result": "fail",
        "notes": "Dư lượng thuốc BVTV vượt ngưỡng",
        "report": (io.BytesIO(b"%PDF-1.4\n%%EOF"), "r.pdf"),
    }
    response = callers["inspector_capture"].post(
        f"/api/v1/batches/{farm_a.lot_id}/inspections",
        data=form,
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.json
    event = session.exec(select(Event).where(Event.kind == "inspection")).one()
    assert event.details["result"] == "fail" and len(event.details["report_sha256"]) == 64
    assert response.json["event_hash_id"].startswith("ni:///sha-256;")
    assert session.exec(select(Job).where(Job.dedupe_key == f"lotdoc:{farm_a.lot_id}")).first()


def test_an_inspection_result_must_be_pass_or_fail(callers: dict[str, Any], farm_a: Farm) -> None:
    response = callers["inspector_capture"].post(
        f"/api/v1/batches/{farm_a.lot_id}/inspections",
        data={"result": "maybe"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert response.json["errors"][0]["pointer"] == "#/result"


def report_pdf(api: Any, lot_id: int, **headers: str) -> tuple[str, list[str]]:
    """The report's text and the texts of the QR codes on its pages."""
    import pypdfium2
    import zxingcpp

    response = api.get(f"/api/v1/batches/{lot_id}/report.pdf", headers=headers)
    assert response.status_code == 200 and response.content_type == "application/pdf"
    document = pypdfium2.PdfDocument(io.BytesIO(response.data))
    try:
        text = "".join(page.get_textpage().get_text_range() for page in document)
        images = [page.render(scale=3).to_pil() for page in document]
    finally:
        document.close()
    codes = [code.text for image in images for code in zxingcpp.read_barcodes(image)]
    return text, codes


def test_the_inspection_report_shows_lot_producer_events_certificates_proof_and_a_qr(
    inspector_api: Any, session: Session, shipped: Farm, anchor: Any
) -> None:
    from trace.anchoring import anchored_version
    from trace.models import Certification, LotDocument, Producer

    anchor()
    text, codes = report_pdf(inspector_api, shipped.lot_id)
    flat = " ".join(text.split())
    producer = session.get(Producer, shipped.user.producer_id)
    assert "TL-1" in flat and "Thanh long ruột đỏ" in flat and producer.name in flat
    for kind in ("harvest", "cooling", "shipping"):
        assert kind in flat
    for cert in session.exec(select(Certification)).all():
        assert cert.number in flat
    version, round_ = anchored_version(session, shipped.lot_id)
    assert round_.root in flat.replace(" ", "") and round_.tx_hash in flat.replace(" ", "")
    for step in version.lot_proof or []:
        assert step in flat.replace(" ", "")
    assert isinstance(version, LotDocument)
    url = f"https://trace.example.vn/api/v1/batches/{shipped.lot_id}/integrity"
    assert codes == [url]


def test_the_inspection_report_speaks_vietnamese_on_request(
    inspector_api: Any, shipped: Farm
) -> None:
    english, _ = report_pdf(inspector_api, shipped.lot_id)
    vietnamese, _ = report_pdf(inspector_api, shipped.lot_id, **{"Accept-Language": "vi"})
    assert "Harvest date" in english and "Certifications" in english
    assert "Ngày thu hoạch" in vietnamese and "Chứng nhận" in vietnamese
