"""Stamp pages: the consumer scan page (GS1 Digital Link path), minting and downloads."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from typing import Any
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_wtf import FlaskForm
from itsdangerous import TimestampSigner
from markupsafe import Markup
from wtforms import HiddenField, SelectField, StringField

from stamps import minting
from stamps.flag_review import flag_notes
from stamps.hotpath import consent
from stamps.hotpath.page import render_scan_page
from stamps.identity import (
    MalformedStampPath,
    StampKey,
    is_well_formed_serial,
    parse_stamp_path,
    stamp_uri,
)
from stamps.mint_limits import MintLimits
from stamps.places import PROVINCES, Place, place_from_coordinates
from stamps.proofs import ProofPending, proof_bundle, proof_filename, rpc_hint_for
from stamps.proofs import verify_command as _verify_command
from stamps.render.labels import Label, render_label_sheet
from stamps.render.layout import GRIDS
from stamps.render.qr import stamp_svg
from stamps.report import lot_story, not_found_report, scan_report
from stamps.resolver.routing import dispatch as resolver_dispatch
from stamps.resolver.routing import walk_up
from stamps.scanning import (
    client_fingerprint,
    facts_of_serial,
    find_stamp,
    is_preview,
    locate_scan,
    record_scan,
)
from stamps.streaming import stream_output
from stamps.verdict import TEXTS as VERDICT_TEXTS
from stamps.verdict import Verdict, assess
from trace.alerts import AlertKind, lot_alerted
from trace.db import get_session
from trace.downloads import download_headers
from trace.errors import NotFound, ValidationError
from trace.i18n import _l
from trace.models import Lot, Product, Role
from trace.qr import qr_png
from trace.services.access import owned
from trace.web.forms import Form
from trace.web.guards import actor, roles

scan_bp = Blueprint("scan", __name__, template_folder="templates")
manage_bp = Blueprint("stamps", __name__, template_folder="templates")
LINKSET = "application/linkset+json"


class MintForm(Form):
    count = StringField(_l("Number of stamps"), render_kw={"inputmode": "numeric"})
    pack_size = StringField(_l("Quantity per pack"), render_kw={"inputmode": "decimal"})


class LocationForm(FlaskForm):
    """The consent form: a signed token (``stamps.hotpath.consent``) instead of a session's
    CSRF token, so an anonymous scan sets no cookie."""

    class Meta:
        csrf = False

    token = HiddenField()
    province = SelectField(_l("Your province or city"), validate_choice=False)


# --- the consumer scan page -----------------------------------------------------------


@scan_bp.route("/01/<path:_rest>", methods=["GET", "HEAD"])
def scan(_rest: str) -> ResponseReturnValue:
    """Verify a stamp: HTML, JSON or a GS1 linkset, by the Accept header."""
    # Other levels, link types, linksets and trailing slashes: the GS1 resolver answers.
    routed = resolver_dispatch(_raw_path())
    if routed is not None:
        return routed
    try:
        key = parse_stamp_path(_raw_path())
    except MalformedStampPath as error:
        return _malformed(str(error))
    session = get_session()
    facts = find_stamp(session, key)
    if facts is None:
        return _not_found(key)
    base = current_app.config["PUBLIC_BASE_URL"]
    today = date.today()
    stories = current_app.extensions["stamp_stories"]
    # The story first: reading it afresh may find the lot tampered (and record that),
    # before this scan is counted and its verdict given.
    story = lot_story(session, facts.lot, facts.producer.id, today, stories)  # type: ignore[arg-type]
    scan_id = None
    if not is_preview(request.method, request.user_agent.string):
        scan_id = record_scan(
            session,
            facts,
            _client_hash(),
            request.user_agent.string,
            _consented_place(),
            window=timedelta(minutes=current_app.config["SCAN_WINDOW_MINUTES"]),
        )
    report = scan_report(session, facts, base, today, story)
    session.commit()  # last database work: what follows cannot fail a counted scan
    kind = _representation()
    if kind == "json":
        return jsonify(report)
    if kind == "linkset":
        return Response(_json(linkset(report, base)), content_type=LINKSET)
    return render_scan_page(
        report,
        story,
        str(get_locale()),
        _location_form(scan_id, facts.stamp.serial),
        flag_notes(session, facts.stamp),
        lot_alerted(session, facts.lot.id, AlertKind.TAMPER_DETECTED),  # type: ignore[arg-type]
    )


@scan_bp.post("/01/<path:_rest>")
def share_location(_rest: str) -> ResponseReturnValue:
    """The consumer agreed to share their province for the scan they just made."""
    try:
        key = parse_stamp_path(_raw_path())
    except MalformedStampPath as error:
        return _malformed(str(error))
    session = get_session()
    facts = find_stamp(session, key)
    form = LocationForm()
    if facts is None:
        return _not_found(key)
    if not consent.same_origin(request.headers, request.host):
        abort(400)
    if form.validate_on_submit() and form.province.data in PROVINCES:
        try:
            scan_id = consent.redeem(
                _signer(),
                form.token.data or "",
                facts.stamp.serial,
                current_app.config.get("SCAN_CONSENT_MAX_AGE", consent.DEFAULT_MAX_AGE),
            )
        except consent.ConsentRefused:
            abort(400)
        locate_scan(session, facts, scan_id, Place(form.province.data))
        flash(_l("Thank you: your province helps us spot copied stamps."))
    return redirect(request.path)


@scan_bp.get("/proofs/<serial>.json")
def public_proof(serial: str) -> ResponseReturnValue:
    """A stamp's proof bundle for anyone holding the stamp (the serial is unguessable)."""
    if not is_well_formed_serial(serial):
        return jsonify({"detail": str(_l("This is not a stamp serial."))}), 400
    session = get_session()
    facts = facts_of_serial(session, serial)
    if facts is None:
        return jsonify(not_found_report()), 404
    verdict = assess(session, facts, current_app.extensions["stamp_stories"])
    hint = rpc_hint_for(current_app.config, current_app.extensions.get("chain"))
    try:
        bundle = proof_bundle(session, serial, hint, current_app.extensions["stamp_proof_trees"])
    except ProofPending as pending:
        return jsonify({"status": "pending", "detail": str(pending), "verdict": verdict}), 409
    bundle["verdict"] = str(verdict)
    response = Response(_json(bundle), content_type="application/json")
    response.headers.update(download_headers(proof_filename(serial)))
    return response


@scan_bp.app_template_global()
def verify_command(serial: str) -> str:
    """The command that checks a stamp's downloaded proof (shown on its scan page)."""
    return _verify_command(current_app.config, current_app.extensions.get("chain"), serial)


def _raw_path() -> str:
    """The path as sent, so percent-encoded lot characters (e.g. %2F) survive routing."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    return (raw or quote(request.path)).split("?", 1)[0]


def _representation() -> str:
    accept = request.accept_mimetypes
    best = accept.best_match([LINKSET, "application/json", "text/html"], default="text/html")
    if best == LINKSET and accept[LINKSET] > accept["text/html"]:
        return "linkset"
    if best == "application/json" and accept["application/json"] > accept["text/html"]:
        return "json"
    return "html"


def _malformed(reason: str) -> ResponseReturnValue:
    if _representation() != "html":
        return jsonify({"verdict": "MALFORMED", "detail": reason}), 400
    return render_template("stamps/malformed.html", reason=reason), 400


def _not_found(key: StampKey) -> ResponseReturnValue:
    if _representation() != "html":
        return jsonify(not_found_report()), 404
    walked = walk_up(_raw_path())  # the lot's (or product's) page, saying NOT_FOUND
    if walked is not None:
        return walked
    says = VERDICT_TEXTS[Verdict.NOT_FOUND]
    return render_template("stamps/not_found.html", key=key, says=says), 404


def _client_hash() -> str:
    return client_fingerprint(current_app.config["SECRET_KEY"], request.remote_addr or "")


def _consented_place() -> Place | None:
    """A location sent with the scan itself, only when the client says it consents."""
    if request.args.get("consent") not in ("1", "yes", "true"):
        return None
    if request.args.get("province") in PROVINCES:
        return Place(request.args["province"])
    try:
        latitude, longitude = (float(v) for v in request.args.get("geo", "").split(","))
    except ValueError:
        return None
    if -90 <= latitude <= 90 and -180 <= longitude <= 180:
        return place_from_coordinates(latitude, longitude)
    return None


def _signer() -> TimestampSigner:
    return consent.signer(current_app.config["SECRET_KEY"])


def _location_form(scan_id: int | None, serial: str) -> LocationForm | None:
    if scan_id is None:
        return None
    return LocationForm(token=consent.issue(_signer(), scan_id, serial))


@cache
def province_options() -> Markup:
    """The province ``<option>``s, rendered once: WTForms would rebuild them on every scan."""
    names = ["", *PROVINCES]
    return Markup("").join(
        Markup('<option value="{0}">{1}</option>').format(n, n or "—") for n in names
    )


def linkset(report: dict[str, Any], base_url: str) -> dict[str, Any]:
    """A GS1 Digital Link linkset (RFC 9264) for the stamp's URI."""
    anchor = report["uri"]
    page = {
        "href": anchor,
        "title": "Truy xuất nguồn gốc / Traceability",
        "type": "text/html",
        "hreflang": ["vi", "en"],
        # A target attribute (RFC 9264 §4.2.4): what the page says of the stamp.
        "verdict": report["verdict"],
    }
    links: dict[str, Any] = {
        "anchor": anchor,
        "https://gs1.org/voc/defaultLink": [page],
        "https://gs1.org/voc/traceability": [page],
        "https://gs1.org/voc/pip": [{**page, "title": report["product"]["name_vi"]}],
    }
    if report.get("certifications"):
        links["https://gs1.org/voc/certificationInfo"] = [
            {**page, "title": f"{c['scheme']} {c['number']} ({c['status']})"}
            for c in report["certifications"]
        ]
    if proof := report["anchoring"].get("proof"):
        links["https://gs1.org/voc/verificationService"] = [
            {
                "href": proof,
                "title": "Proof bundle / Bằng chứng blockchain",
                "type": "application/json",
            }
        ]
    return {"linkset": [links]}


def _json(data: Any) -> str:
    import json

    return json.dumps(data, ensure_ascii=False)


# --- farmers: minting, activation, downloads --------------------------------------------


@manage_bp.route("/lots/<int:lot_id>/stamps", methods=["GET", "POST"])
@roles(Role.FARMER, Role.INSPECTOR, Role.ADMIN)
def lot_stamps(lot_id: int) -> ResponseReturnValue:
    """A lot's stamp runs and the mint form (voiding has its own pages: ``web_void``)."""
    session = get_session()
    lot = owned(session, actor(), Lot, lot_id)
    form = MintForm(prefix="mint")
    errors: list[str] = []
    if request.method == "POST":
        if actor().role != Role.FARMER:
            abort(404)
        if form.validate_on_submit():
            try:
                run = minting.mint_stamps(
                    session,
                    actor(),
                    lot_id,
                    form.count.data,
                    form.pack_size.data,
                    MintLimits.from_config(current_app.config),
                )
            except ValidationError as error:
                errors = form.attach(error.errors)
            else:
                flash(_l("%(n)s stamps minted.", n=f"{run.count:,}"))
                return redirect(url_for("stamps.lot_stamps", lot_id=lot_id))
    return _manage_page(lot, form, errors)


@manage_bp.post("/runs/<int:run_id>/activate")
@roles(Role.FARMER)
def activate(run_id: int) -> ResponseReturnValue:
    """Mark a run's stamps as applied to product."""
    session = get_session()
    if not Form().validate_on_submit():
        abort(400)
    try:
        run = minting.activate_run(session, actor(), run_id)
    except ValidationError as error:
        flash(" ".join(str(m) for m in error.errors.values()))
        from stamps.models import StampRun

        found = session.get(StampRun, run_id)
        return redirect(url_for("stamps.lot_stamps", lot_id=found.lot_id if found else 0))
    flash(_l("Stamps activated."))
    return redirect(url_for("stamps.lot_stamps", lot_id=run.lot_id))


def _manage_page(lot: Lot, form: MintForm, errors: list[str]) -> Any:
    session = get_session()
    status = 422 if errors or form.has_errors() else 200
    return render_template(
        "stamps/manage.html",
        lot=lot,
        product=session.get(Product, lot.product_id),
        runs=minting.runs_of_lot(session, lot.id),  # type: ignore[arg-type]
        counts=minting.status_counts(session, lot.id),  # type: ignore[arg-type]
        form=form,
        errors=errors,
        grids=sorted(GRIDS),
        action_form=Form(),
        can_change=actor().producer_id == lot.producer_id,
    ), status


@manage_bp.get("/runs/<int:run_id>/labels.pdf")
@roles(Role.FARMER, Role.INSPECTOR, Role.ADMIN)
def labels_pdf(run_id: int) -> ResponseReturnValue:
    """A run as an A4 label sheet, streamed page by page."""
    from stamps.models import Stamp, StampRun

    grid = request.args.get("grid", "3x8")
    if grid not in GRIDS:
        abort(400)
    session = get_session()
    run = session.get(StampRun, run_id)
    if run is None or run.pending_until is not None:  # a run still being minted: no labels
        raise NotFound()
    lot = owned(session, actor(), Lot, run.lot_id)
    product = session.get(Product, lot.product_id)
    assert product is not None
    # Plain values only: the body streams after the request's session has closed.
    base, gtin, code, name = (
        current_app.config["PUBLIC_BASE_URL"],
        product.gtin,
        lot.code,
        product.name_vi,
    )
    serials = list(session.exec(_serials_of_run(Stamp, run.lot_id, run_id)))
    labels = (Label(stamp_uri(base, gtin, code, s), s, name, code) for s in serials)
    body = stream_output(lambda out: render_label_sheet(labels, grid, out))
    filename = f"stamps-{lot.code}-run{run_id}-{grid}.pdf".replace("/", "-")
    return Response(
        body,
        mimetype="application/pdf",
        headers=download_headers(filename),
    )


def _serials_of_run(stamp: Any, lot_id: int, run_id: int) -> Any:
    from sqlmodel import col, select

    statement = select(stamp.serial).where(stamp.lot_id == lot_id, stamp.run_id == run_id)
    return statement.order_by(col(stamp.serial))


@manage_bp.get("/stamps/<serial>.<fmt>")
@roles(Role.FARMER, Role.INSPECTOR, Role.ADMIN)
def stamp_image(serial: str, fmt: str) -> ResponseReturnValue:
    """One stamp's QR code as PNG or SVG."""
    from sqlmodel import select

    from stamps.models import Stamp

    if fmt not in ("png", "svg"):
        abort(404)
    session = get_session()
    stamp = session.exec(select(Stamp).where(Stamp.serial == serial)).first()
    if stamp is None:
        raise NotFound()
    lot = owned(session, actor(), Lot, stamp.lot_id)
    product = session.get(Product, lot.product_id)
    assert product is not None
    uri = stamp_uri(current_app.config["PUBLIC_BASE_URL"], product.gtin, lot.code, serial)
    if fmt == "png":
        return Response(qr_png(uri), mimetype="image/png")
    return Response(stamp_svg(uri), mimetype="image/svg+xml")


__all__ = ["Verdict", "manage_bp", "scan_bp"]
