"""The consumer scan page (GS1 Digital Link path), the consented location, public proofs."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from functools import cache
from urllib.parse import quote

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_wtf import FlaskForm
from itsdangerous import TimestampSigner
from markupsafe import Markup
from sqlmodel import Session
from wtforms import HiddenField, SelectField

from stamps.extensions import proof_trees, story_cache
from stamps.flag_review import flag_notes
from stamps.hotpath import consent
from stamps.hotpath.page import render_scan_page
from stamps.hotpath.scan_buffer import CONSENT_WAIT_SECONDS
from stamps.hotpath.serve import representation
from stamps.identity import MalformedStampPath, StampKey, is_well_formed_serial, parse_stamp_path
from stamps.models import Scan
from stamps.places import PROVINCES, Place, place_from_coordinates
from stamps.proofs import ProofPending, proof_bundle, proof_filename, rpc_hint_for
from stamps.proofs import verify_command as _verify_command
from stamps.report import not_found_report
from stamps.resolver.routing import dispatch as resolver_dispatch
from stamps.resolver.routing import stamp_linkset_response, walk_up
from stamps.scan_service import Visit, scan_stamp
from stamps.scanning import client_fingerprint, facts_of_serial, find_stamp, is_preview, locate_scan
from stamps.verdict import TEXTS as VERDICT_TEXTS
from stamps.verdict import Verdict, assess
from stamps.web.blueprints import scan_bp
from trace.alerts import AlertKind, lot_alerted
from trace.db import get_session
from trace.downloads import download_headers
from trace.extensions import chain_client
from trace.i18n import _l
from trace.models import Lot


class LocationForm(FlaskForm):
    """The consent form: a signed token (``stamps.hotpath.consent``) instead of a session's
    CSRF token, so an anonymous scan sets no cookie."""

    class Meta:
        csrf = False

    token = HiddenField()
    province = SelectField(_l("Your province or city"), validate_choice=False)


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
    scanned = scan_stamp(
        session,
        key,
        current_app.config["PUBLIC_BASE_URL"],
        story_cache(current_app),
        _visit(),
        window=timedelta(minutes=current_app.config["SCAN_WINDOW_MINUTES"]),
    )
    if scanned is None:
        return _not_found(key)
    kind = _representation()
    if kind == "json":
        return jsonify(scanned.report)
    if kind == "linkset":  # the resolver's linkset of the stamp, as at every level
        return stamp_linkset_response(_raw_path())
    facts = scanned.facts
    return render_scan_page(
        scanned.report,
        scanned.story,
        str(get_locale()),
        _location_form(scanned.scan_id, facts.stamp.serial),
        flag_notes(session, facts.stamp),
        _alerted(session, facts.lot),
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
                current_app.config["SCAN_CONSENT_MAX_AGE"],
            )
        except consent.ConsentRefused:
            abort(400)
        _await_scan(session, scan_id)
        locate_scan(session, facts, scan_id, Place(form.province.data))
        flash(_l("Thank you: your province helps us spot copied stamps."))
    return redirect(request.path)


def _await_scan(session: Session, scan_id: int) -> None:
    """Give a scan another worker answered the time to be written (its hot path writes
    scans in batches: :mod:`stamps.hotpath.scan_buffer`); this worker's own were written
    before this view ran."""
    if current_app.config.get("SCAN_WRITE_BATCH", 0) <= 1:
        return
    deadline = time.monotonic() + CONSENT_WAIT_SECONDS
    while session.get(Scan, scan_id) is None and time.monotonic() < deadline:
        time.sleep(0.01)


@scan_bp.get("/proofs/<serial>.json")
def public_proof(serial: str) -> ResponseReturnValue:
    """A stamp's proof bundle for anyone holding the stamp (the serial is unguessable)."""
    if not is_well_formed_serial(serial):
        return jsonify({"detail": str(_l("This is not a stamp serial."))}), 400
    session = get_session()
    facts = facts_of_serial(session, serial)
    if facts is None:
        return jsonify(not_found_report()), 404
    verdict = assess(session, facts, story_cache(current_app))
    hint = rpc_hint_for(current_app.config, chain_client(current_app))
    try:
        bundle = proof_bundle(session, serial, hint, proof_trees(current_app))
    except ProofPending as pending:
        return jsonify({"status": "pending", "detail": str(pending), "verdict": verdict}), 409
    bundle["verdict"] = str(verdict)
    response = Response(json.dumps(bundle, ensure_ascii=False), content_type="application/json")
    response.headers.update(download_headers(proof_filename(serial)))
    return response


@scan_bp.app_template_global()
def verify_command(serial: str) -> str:
    """The command that checks a stamp's downloaded proof (shown on its scan page)."""
    return _verify_command(current_app.config, chain_client(current_app), serial)


def _raw_path() -> str:
    """The path as sent, so percent-encoded lot characters (e.g. %2F) survive routing."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    return (raw or quote(request.path)).split("?", 1)[0]


def _representation() -> str:
    return representation(request.accept_mimetypes)


def _alerted(session: Session, lot: Lot) -> bool:
    """Whether inspectors were alerted of the lot's tampering (the page says so only then)."""
    if lot.tampered_at is None:
        return False
    return lot_alerted(session, lot.id, AlertKind.TAMPER_DETECTED)  # type: ignore[arg-type]


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


def _visit() -> Visit | None:
    """The client's view of the stamp, or None for a preview (a crawler, a HEAD request)."""
    agent = request.user_agent.string
    if is_preview(request.method, agent):
        return None
    address = request.remote_addr or ""
    client_hash = client_fingerprint(current_app.config["SECRET_KEY"], address)
    return Visit(client_hash, agent, _consented_place())


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
