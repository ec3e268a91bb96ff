"""Stamp resources of the inspector API: verdicts, proofs, scans, anomalies, lots' stamps.

Registered into the registry's Api (:func:`trace.extensions.api`) from ``stamps.init_app``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, url_for
from flask.views import MethodView
from sqlalchemy import exists
from sqlmodel import Session, col, select

from stamps import api_schemas as schemas
from stamps import minting
from stamps.api_lean import lean_proof, lean_verdict
from stamps.extensions import proof_trees, story_cache
from stamps.flag_review import holding
from stamps.identity import normalize_serial, stamp_uri
from stamps.label_sheet import label_sheet
from stamps.mint_limits import MintLimits
from stamps.mint_runs import published
from stamps.models import Scan, Stamp, StampFlag, StampRun
from stamps.proofs import proof_bundle, rpc_hint_for
from stamps.recall import recall_stamps
from stamps.scanning import StampFacts, facts_of_serial, flags_of
from stamps.verdict import assess, lot_verdict_label
from trace.api import ApiBlueprint, auth
from trace.api.alerts.routes import tampered_lot_items
from trace.api.pagination import page_body, paginate, whole_list
from trace.db import get_session
from trace.errors import NotFound
from trace.extensions import api as registry_api
from trace.extensions import chain_client, offer_lot_verdict
from trace.models import Lot, Product, Role
from trace.models.tokens import Scope
from trace.services.access import Actor, owned
from trace.services.recall import register_recall_hook

blp = ApiBlueprint("stamps_api", __name__, url_prefix="/api/v1", description="E-stamps.")


@blp.route("/stamps/<serial>")
class StampVerdict(MethodView):
    @auth.requires(blp, Scope.READ)
    @auth.errors(blp, 404)
    @blp.response(200, schemas.StampVerdictSchema)
    def get(self, serial: str) -> dict[str, Any]:
        """A stamp's verdict, the same as its scan page's (not logged as a scan).

        Strongest first: NOT_FOUND, RECALLED, TAMPERED, VOID, PRODUCER_SUSPENDED,
        SUSPICIOUS, GENUINE."""
        stories = story_cache(current_app)
        lean = lean_verdict(current_app, auth.actor(), serial, stories)
        if lean is not None:
            return lean
        session = get_session()
        facts = visible_stamp(session, auth.actor(), serial)
        return verdict_item(session, facts)


@blp.route("/stamps/<serial>/proof")
class StampProof(MethodView):
    @auth.requires(blp, Scope.READ)
    @auth.errors(blp, 404)
    @auth.errors(blp, 409, "`pending`: the stamp is not in an anchored version yet.")
    @blp.response(200, schemas.ProofBundleSchema)
    def get(self, serial: str) -> dict[str, Any]:
        """The stamp's proof bundle, checkable against the chain without our database."""
        stories, trees = story_cache(current_app), proof_trees(current_app)
        hint = rpc_hint_for(current_app.config, chain_client(current_app))
        lean = lean_proof(current_app, auth.actor(), serial, stories, trees, hint)
        if lean is not None:
            return lean
        session = get_session()
        facts = visible_stamp(session, auth.actor(), serial)
        verdict = assess(session, facts, stories)
        return proof_bundle(session, facts.stamp.serial, hint, trees) | {"verdict": verdict}


@blp.route("/stamps/<serial>/scans")
class StampScans(MethodView):
    @auth.requires(blp, Scope.READ)
    @auth.errors(blp, 404, 422)
    @blp.arguments(schemas.PageQueryArgsSchema, location="query")
    @blp.response(200, schemas.ScanPageSchema)
    def get(self, args: dict[str, Any], serial: str) -> dict[str, Any]:
        """The stamp's scan history, newest first."""
        session = get_session()
        stamp = visible_stamp(session, auth.actor(), serial).stamp
        statement = select(Scan).where(Scan.stamp_id == stamp.id).order_by(col(Scan.id).desc())
        page = paginate(session, statement, args)
        keys = ("scanned_at", "province", "geohash", "user_agent")
        return page_body(page, [{k: getattr(s, k) for k in keys} for s in page.items])


@blp.route("/stamps/<serial>/flags")
class StampFlags(MethodView):
    @auth.requires(blp, Scope.READ)
    @auth.errors(blp, 404)
    @blp.response(200, schemas.FlagPageSchema)
    def get(self, serial: str) -> dict[str, Any]:
        """The clone rules that fired for the stamp, oldest first."""
        session = get_session()
        stamp = visible_stamp(session, auth.actor(), serial).stamp
        return whole_list([flag_item(f) for f in flags_of(session, stamp.id)])  # type: ignore[arg-type]


@blp.route("/anomalies")
class Anomalies(MethodView):
    @auth.requires(blp, Scope.READ)
    @auth.errors(blp, 422)
    @blp.arguments(schemas.AnomalyQueryArgsSchema, location="query")
    @blp.response(200, schemas.AnomalyPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Flagged stamps (suspected copies), newest first, and lots found tampered."""
        session = get_session()
        page = paginate(session, anomalies_query(auth.actor(), args), args)
        base = current_app.config["PUBLIC_BASE_URL"]
        tampered = tampered_lot_items(session, auth.actor(), args)
        return page_body(page, [anomaly_item(base, *row) for row in page.items]) | {
            "tampered_lots": tampered
        }


def _published_stamps(statement: Any, lot_id: int) -> Any:
    """``statement`` narrowed to the lot's stamps, leaving out runs still being minted."""
    return statement.join(StampRun, col(StampRun.id) == Stamp.run_id).where(
        Stamp.lot_id == lot_id, published()
    )


@blp.route("/batches/<int:lot_id>/stamps")
class LotStamps(MethodView):
    @auth.requires(blp, Scope.READ)
    @auth.errors(blp, 404, 422)
    @blp.arguments(schemas.PageQueryArgsSchema, location="query")
    @blp.response(200, schemas.LotStampPageSchema)
    def get(self, args: dict[str, Any], lot_id: int) -> dict[str, Any]:
        """The lot's stamps in minting order, each with its serial and Digital Link URI."""
        session = get_session()
        lot, product = visible_lot(session, auth.actor(), lot_id)
        statement = _published_stamps(select(Stamp), lot_id).order_by(col(Stamp.id))
        page = paginate(session, statement, args)
        base = current_app.config["PUBLIC_BASE_URL"]
        return page_body(page, [lot_stamp_item(base, product, lot, s) for s in page.items])

    @auth.requires(blp, Scope.MINT)
    @auth.errors(blp, 400, 404, 409, 422)
    @blp.arguments(schemas.StampRunCreateSchema)
    @blp.response(201, schemas.StampRunSchema)
    def post(self, body: dict[str, Any], lot_id: int) -> dict[str, Any]:
        """Mint stamps for one of the token's producer's lots (within the mass balance)."""
        run = minting.mint_stamps(
            get_session(),
            auth.actor(),
            lot_id,
            body["count"],
            body["pack_size"],
            MintLimits.from_config(current_app.config),
        )
        return {
            "run_id": run.id,
            "lot_id": lot_id,
            "count": run.count,
            "pack_size": run.pack_size,
            "stamps": url_for("stamps_api.LotStamps", lot_id=lot_id, _external=True),
            "labels_pdf": url_for("stamps_api.LotLabels", lot_id=lot_id, _external=True),
        }


@blp.route("/batches/<int:lot_id>/stamps.pdf")
class LotLabels(MethodView):
    @auth.requires(blp, Scope.READ)
    @auth.errors(blp, 404, 422)
    @blp.arguments(schemas.LabelSheetQueryArgsSchema, location="query")
    @blp.response(200, content_type="application/pdf", description="An A4 label sheet.")
    def get(self, args: dict[str, Any], lot_id: int) -> Response:
        """Every stamp of the lot as an A4 label sheet (PDF, streamed), run by run in each
        run's print order."""
        session = get_session()
        lot, product = visible_lot(session, auth.actor(), lot_id)
        grid = args["grid"]
        filename = f"stamps-{lot.code}-{grid}.pdf".replace("/", "-")
        base = current_app.config["PUBLIC_BASE_URL"]
        return label_sheet(session, lot, product, base, grid, filename)


def visible_stamp(session: Session, actor: Actor, serial: str) -> StampFacts:
    """The stamp with its lot, product, producer and plot, if the actor may see it."""
    facts = facts_of_serial(session, normalize_serial(serial))
    if facts is None or not actor.can_see(facts.lot.producer_id):
        raise NotFound()
    return facts


def visible_lot(session: Session, actor: Actor, lot_id: int) -> tuple[Lot, Product]:
    """A lot the actor may see, with its product."""
    lot = owned(session, actor, Lot, lot_id)
    product = session.get(Product, lot.product_id)
    assert product is not None
    return lot, product


def verdict_item(session: Session, facts: StampFacts) -> dict[str, Any]:
    """A stamp's verdict with its facts."""
    stamp, lot, product = facts.stamp, facts.lot, facts.product
    base = current_app.config["PUBLIC_BASE_URL"]
    return {
        "serial": stamp.serial,
        "uri": stamp_uri(base, product.gtin, lot.code, stamp.serial),
        "verdict": str(assess(session, facts, story_cache(current_app))),
        "status": stamp.status,
        "lot_id": lot.id,
        "lot_code": lot.code,
        "gtin": product.gtin,
        "product_name_vi": product.name_vi,
        "producer_id": facts.producer.id,
        "producer_name": facts.producer.name,
        "recalled_at": lot.recalled_at,
        "scan_count": stamp.scan_count,
        "first_scan_at": stamp.first_scan_at,
        "first_scan_province": stamp.first_scan_province,
        "flags": [f.rule for f in flags_of(session, stamp.id)],  # type: ignore[arg-type]
    }


def flag_item(flag: StampFlag) -> dict[str, Any]:
    """A flag as the API shows it."""
    return {
        "rule": flag.rule,
        "detail": flag.detail,
        "created_at": flag.created_at,
        "review": flag.review,
    }


def anomalies_query(actor: Actor, args: dict[str, Any]) -> Any:
    """Flags that still hold (open or confirmed; not dismissed) with their stamp, lot and
    product, newest first, filtered."""
    statement = (
        select(StampFlag, Stamp, Lot, Product)
        .join(Stamp, col(Stamp.id) == StampFlag.stamp_id)
        .join(Lot, col(Lot.id) == Stamp.lot_id)
        .join(Product, col(Product.id) == Lot.product_id)
        .where(holding())
    )
    if actor.role == Role.FARMER:
        statement = statement.where(Lot.producer_id == (actor.producer_id or -1))
    if args.get("province"):
        seen_there = exists().where(
            col(Scan.stamp_id) == Stamp.id, col(Scan.province) == args["province"]
        )
        statement = statement.where(seen_there)
    for key, column in (
        ("product_id", Product.id),
        ("gtin", Product.gtin),
        ("rule", StampFlag.rule),
    ):
        if args.get(key) is not None:
            statement = statement.where(column == args[key])
    return statement.order_by(col(StampFlag.id).desc())


def anomaly_item(
    base: str, flag: StampFlag, stamp: Stamp, lot: Lot, product: Product
) -> dict[str, Any]:
    """A flagged stamp as the API shows it."""
    return flag_item(flag) | {
        "serial": stamp.serial,
        "uri": stamp_uri(base, product.gtin, lot.code, stamp.serial),
        "lot_id": lot.id,
        "lot_code": lot.code,
        "product_id": product.id,
        "gtin": product.gtin,
        "producer_id": lot.producer_id,
        "scan_count": stamp.scan_count,
        "first_scan_province": stamp.first_scan_province,
    }


def lot_stamp_item(base: str, product: Product, lot: Lot, stamp: Stamp) -> dict[str, Any]:
    """One of a lot's stamps."""
    uri = stamp_uri(base, product.gtin, lot.code, stamp.serial)
    return {
        "serial": stamp.serial,
        "uri": uri,
        "status": stamp.status,
        "scan_count": stamp.scan_count,
    }


def init_app(app: Flask) -> None:
    """Register the stamp resources on the API and the stamps' part of every recall."""
    from stamps.render.fonts import BOLD, FONT_DIR, REGULAR

    registry_api(app).register_blueprint(blp)
    register_recall_hook(app, recall_stamps)
    # The inspection report (trace) states its lot's verdict without importing stamps.
    offer_lot_verdict(app, lot_verdict_label)
    # The label fonts carry Vietnamese; the registry's PDF reports use them too.
    app.config.setdefault("REPORT_FONTS", (FONT_DIR / REGULAR, FONT_DIR / BOLD))
