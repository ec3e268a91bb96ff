"""The scale seed builds a consistent province: valid identifiers, scans of real stamps."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, text
from sqlmodel import Session, col, select

from chain.canonical import canonical_json
from chain.hashing import keccak256
from stamps.identity import is_well_formed_serial, parse_stamp_path, stamp_uri
from stamps.models import Scan, Stamp, StampFlag
from stamps.province_seed import SeedReport, seed_scale
from trace import province_seed as scale
from trace.anchoring.documents import DOCUMENT_SCHEMA, build_document
from trace.gs1 import is_valid_gtin
from trace.models import (
    Certification,
    CertificationProduct,
    Event,
    Lot,
    LotDocument,
    Producer,
    Product,
)

FACTOR = 0.005  # 285 producers, 40 products, 8,500 stamps
PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 13; SM-A145F) Chrome/120 Mobile"}


@pytest.fixture
def seeded(session: Session) -> SeedReport:
    return seed_scale(session, FACTOR, seed=7)


def count(session: Session, model: Any) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_plan_scales_long_an_2023(app: Flask) -> None:
    plan = scale.ScalePlan.for_factor(1)
    assert (plan.producers, plan.products, plan.facilities, plan.stamps) == (
        56_926, 8_047, 14, 1_700_000,
    )  # fmt: skip
    assert scale.ScalePlan.for_factor(10).stamps == 17_000_000
    with pytest.raises(ValueError):
        scale.ScalePlan.for_factor(0)


def test_seed_writes_the_planned_counts(session: Session, seeded: SeedReport) -> None:
    plan = scale.ScalePlan.for_factor(FACTOR)
    assert count(session, Producer) == plan.producers == seeded.counts["producers"]
    assert count(session, Product) == plan.products
    assert count(session, Stamp) == plan.stamps
    assert count(session, Lot) == count(session, LotDocument) == seeded.counts["lots"]
    assert count(session, Event) == seeded.counts["events"] >= 5 * seeded.counts["lots"]
    approved = select(func.count()).where(Producer.status == "approved")
    assert session.exec(approved).one() == plan.producers
    assert session.exec(select(func.sum(Lot.stamp_count))).one() == plan.stamps


def test_identifiers_are_valid_gs1(session: Session, seeded: SeedReport) -> None:
    assert all(is_valid_gtin(gtin) for gtin in session.exec(select(Product.gtin)))
    rows = session.exec(
        select(Product.gtin, Lot.code, Stamp.serial)
        .join(Lot, col(Lot.product_id) == Product.id)
        .join(Stamp, col(Stamp.lot_id) == Lot.id)
        .limit(200)
    ).all()
    assert len(rows) == 200
    for gtin, code, serial in rows:
        assert is_well_formed_serial(serial)
        key = parse_stamp_path(stamp_uri("", gtin, code, serial))
        assert (key.gtin, key.lot, key.serial) == (gtin, code, serial)


def test_scans_reference_stamps_and_counters_agree(session: Session, seeded: SeedReport) -> None:
    assert count(session, Scan) == seeded.counts["scans"] > 0
    orphans = text("SELECT count(*) FROM scans WHERE stamp_id NOT IN (SELECT id FROM stamps)")
    assert session.execute(orphans).scalar_one() == 0
    scanned = select(func.sum(Stamp.scan_count))
    assert session.exec(scanned).one() == seeded.counts["scans"]
    repeat = select(func.count()).where(Stamp.scan_count > 1)
    assert session.exec(repeat).one() > 0
    flagged = select(func.count()).where(col(Stamp.flagged).is_(True))
    assert session.exec(flagged).one() == count(session, StampFlag) == seeded.counts["flags"] > 0


def test_lot_documents_match_what_anchoring_builds(session: Session, seeded: SeedReport) -> None:
    """Every seeded document is byte for byte what the per-lot builder makes of the lot."""
    stored = session.exec(select(LotDocument).order_by(col(LotDocument.lot_id))).all()
    assert len(stored) == seeded.counts["lots"]
    stamped = {lot_id for lot_id in session.exec(select(Lot.id).where(Lot.stamp_count > 0))}
    assert 0 < len(stamped) < len(stored)
    for version in stored:
        rebuilt = canonical_json(build_document(session, version.lot_id))
        assert version.canonical_json.encode() == rebuilt
        assert version.doc_hash == keccak256(rebuilt).hex()
        document = json.loads(version.canonical_json)
        assert document["schema"] == DOCUMENT_SCHEMA and "passport" in document
        assert (version.stamp_root is not None) == (version.lot_id in stamped)
        assert document["stamp_root"] == (f"0x{version.stamp_root}" if version.stamp_root else None)


def test_a_seeded_stamp_scans_as_genuine(app: Flask, session: Session, seeded: SeedReport) -> None:
    gtin, code, serial = session.exec(
        select(Product.gtin, Lot.code, Stamp.serial)
        .join(Lot, col(Lot.product_id) == Product.id)
        .join(Stamp, col(Stamp.lot_id) == Lot.id)
        .where(Stamp.status == "active", col(Stamp.flagged).is_(False))
        .limit(1)
    ).one()
    client = app.test_client()
    page = client.get(f"/01/{gtin}/10/{code}/21/{serial}", headers=PHONE)
    assert page.status_code == 200
    report = client.get(
        f"/01/{gtin}/10/{code}/21/{serial}", headers={**PHONE, "Accept": "application/json"}
    )
    assert report.json["verdict"] == "GENUINE" and len(report.json["events"]) >= 5
    assert report.json["certifications"]  # every facility holds a farm standard


def test_every_seeded_certificate_covers_products(session: Session, seeded: SeedReport) -> None:
    """A certificate naming no product and not producer-wide would show on no scan page."""
    names = select(CertificationProduct.certification_id)
    covering_none = select(func.count()).where(
        col(Certification.producer_wide).is_(False), col(Certification.id).not_in(names)
    )
    assert session.exec(covering_none).one() == 0
    rated = session.exec(
        select(Certification.scheme, Product.producer_id, Certification.producer_id)
        .join(CertificationProduct, col(CertificationProduct.certification_id) == Certification.id)
        .join(Product, col(Product.id) == CertificationProduct.product_id)
    ).all()
    assert rated and all(scheme == "ocop" and a == b for scheme, a, b in rated)


def test_seeding_twice_is_refused(session: Session, seeded: SeedReport) -> None:
    with pytest.raises(scale.AlreadySeeded):
        seed_scale(session, FACTOR)
    assert count(session, Stamp) == scale.ScalePlan.for_factor(FACTOR).stamps


def test_command_seeds_and_then_refuses(runner: Any) -> None:
    first = runner.invoke(args=["seed-scale", "--factor", "0.001"])
    assert first.exit_code == 0, first.output
    assert "stamps" in first.output and "1,700" in first.output
    again = runner.invoke(args=["seed-scale", "--factor", "0.001"])
    assert again.exit_code == 1 and "already holds a scale seed" in again.output
    assert "Traceback" not in again.output


def test_postgresql_has_planner_statistics_for_every_table_the_seed_loads(
    session: Session, seeded: SeedReport
) -> None:
    """Without them PostgreSQL guesses: a lot's anchor read through the round's index."""
    if session.connection().dialect.name != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's (SQLite plans without them)")
    loaded = ["producers", "users", "plots", "certifications", "certification_products",
              "products", "lots", "events", "lot_documents", "stamps", "stamp_runs", "scans",
              "stamp_flags"]  # fmt: skip
    never_analyzed = session.exec(
        text("SELECT relname FROM pg_class WHERE relname = ANY(:t) AND reltuples < 0"),
        params={"t": loaded},
    ).all()
    assert never_analyzed == []
