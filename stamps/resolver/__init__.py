"""The GS1-conformant resolver: every level we issue, compressed URIs, the description file.

``/01/...`` requests reach :func:`stamps.resolver.routing.dispatch` through the scan view;
this blueprint adds the resolver's other addresses and its CORS headers.
"""

from __future__ import annotations

import json
from importlib import resources
from urllib.parse import quote

from flask import Blueprint, Flask, Response, current_app, redirect, request
from flask.typing import ResponseReturnValue
from werkzeug.routing import BaseConverter

from chain.errors import InvalidProof
from stamps.proofs import ProofPending, rpc_hint_for
from stamps.resolver import negotiation
from stamps.resolver.compression import NotCompressed, decompress
from stamps.resolver.linkset import LINKSET_TYPE, linkset_url
from stamps.resolver.targets import find_target
from trace.db import get_session
from trace.downloads import download_headers
from trace.extensions import chain_client
from trace.gs1 import MalformedDigitalLink, gtin_dl_uri, parse_gtin_dl_path
from trace.models.base import stored_id

resolver_bp = Blueprint("resolver", __name__, template_folder="../templates")
WELL_KNOWN = "/.well-known/gs1resolver"
CONTEXT_PATH = "/resolver/linkset-context.jsonld"
_RESOLVER_PREFIXES = ("/01/", "/proofs/01/", "/passports/01/", WELL_KNOWN, CONTEXT_PATH)


class CompressedConverter(BaseConverter):
    """A path segment that may be a compressed Digital Link (base64url, 8+ characters)."""

    regex = r"[A-Za-z0-9_-]{8,}"


def init_app(app: Flask) -> None:
    """Register the resolver's addresses and the CORS headers of every resolver answer."""
    app.url_map.converters["dlz"] = CompressedConverter
    app.register_blueprint(resolver_bp)
    app.after_request(_cors)


def _cors(response: Response) -> Response:
    if request.path.startswith(_RESOLVER_PREFIXES) or request.endpoint == "resolver.compressed":
        negotiation.add_resolver_headers(response)
    if request.path.startswith("/01/") and "Link" not in response.headers:
        _offer_linkset(response)  # the scan view's answers for a stamp
    return response


def _offer_linkset(response: Response) -> None:
    try:
        pairs = parse_gtin_dl_path(request.path.rstrip("/"))
    except MalformedDigitalLink:
        return
    values = dict(pairs)
    anchor = gtin_dl_uri(
        current_app.config["PUBLIC_BASE_URL"], values["01"], lot=values.get("10"),
        serial=values.get("21"),
    )  # fmt: skip
    response.headers["Link"] = (
        f'<{linkset_url(anchor)}>; rel="linkset"; type="{LINKSET_TYPE}", '
        f'<{anchor}>; rel="https://gs1.org/voc/defaultLink"'
    )


@resolver_bp.get(WELL_KNOWN)
def description() -> ResponseReturnValue:
    """The resolver description file (GS1-Conformant Resolver standard, section 3)."""
    base = current_app.config["PUBLIC_BASE_URL"]
    return {
        "name": "AgriTrace GS1 Digital Link resolver",
        "resolverRoot": base,
        "supportedPrimaryKeys": ["01"],
        "supportedLinkType": [
            {"namespace": "https://gs1.org/voc/", "prefix": "gs1:"},
        ],
        "linkTypeDefaultCanBeLinkset": False,
        "jsonLdContextLocation": f"{base}{CONTEXT_PATH}",
        "contact": {"fn": "AgriTrace"},
    }


@resolver_bp.get(CONTEXT_PATH)
def linkset_context() -> ResponseReturnValue:
    """GS1's JSON-LD context for linksets, served from our copy."""
    data = resources.files("stamps.resolver").joinpath("data/linksetContext.jsonld")
    return Response(data.read_text(encoding="utf-8"), content_type="application/ld+json")


@resolver_bp.get("/<dlz:segment>")
def compressed(segment: str) -> ResponseReturnValue:
    """A compressed Digital Link: answered as its uncompressed URI, with owl:sameAs."""
    from stamps.resolver.routing import dispatch, uncompressed_uri, with_query

    try:
        elements = decompress(segment)
    except NotCompressed:
        from trace.web.errors import error_page

        return error_page(404)
    full = uncompressed_uri(elements)
    path = "/" + full.split("/", 3)[3].split("?", 1)[0]
    wants_linkset = negotiation.representation() == "linkset"
    answered = None
    if request.args.get("linkType") or wants_linkset:
        answered = dispatch(path, same_as=full)
    if answered is None:
        answered = redirect(with_query(full), 307)
    response = current_app.make_response(answered)
    link = response.headers.get("Link")
    same_as = f'<{full}>; rel="owl:sameAs"'
    response.headers["Link"] = link if link and "owl:sameAs" in link else same_as
    return response


@resolver_bp.get("/passports/<path:_rest>")
def passport(_rest: str) -> ResponseReturnValue:
    """A lot's digital product passport as JSON-LD (``/passports/01/{gtin}/10/{lot}.jsonld``)."""
    from trace.anchoring.documents import build_document
    from trace.passport import passport_jsonld

    target = _lot_target(".jsonld")
    if target is None or target.lot is None:
        return {"detail": "no such lot"}, 404
    lot, base = target.lot, current_app.config["PUBLIC_BASE_URL"]
    passport = build_document(get_session(), stored_id(lot))["passport"]
    uri = gtin_dl_uri(base, target.product.gtin, lot=lot.code)
    body = json.dumps(passport_jsonld(passport, uri), ensure_ascii=False)
    response = Response(body, content_type="application/ld+json; charset=utf-8")
    response.headers.update(
        download_headers(f"passport-{target.product.gtin}-{_safe(target)}.jsonld")
    )
    return response


@resolver_bp.get("/proofs/01/<path:_rest>")
def lot_proof(_rest: str) -> ResponseReturnValue:
    """A lot's proof bundle (``/proofs/01/{gtin}/10/{lot}.json``): document, path, anchor."""
    from stamps.resolver.lot_proof import lot_proof_bundle

    target = _lot_target(".json")
    if target is None or target.lot is None:
        return {"detail": "no such lot"}, 404
    hint = rpc_hint_for(current_app.config, chain_client(current_app))
    try:
        bundle = lot_proof_bundle(get_session(), stored_id(target.lot), hint)
    except ProofPending as pending:
        return {"status": "pending", "detail": str(pending)}, 409
    except InvalidProof as invalid:
        return {"status": "invalid", "detail": str(invalid)}, 409
    response = Response(json.dumps(bundle, ensure_ascii=False), content_type="application/json")
    response.headers.update(
        download_headers(f"lot-proof-{target.product.gtin}-{_safe(target)}.json")
    )
    return response


def _lot_target(suffix: str):  # type: ignore[no-untyped-def]
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    path = (raw or quote(request.path)).split("?", 1)[0]
    if not path.endswith(suffix):
        return None
    try:
        pairs = parse_gtin_dl_path(path.removesuffix(suffix))
    except MalformedDigitalLink:
        return None
    if [ai for ai, _ in pairs] != ["01", "10"]:
        return None
    target = find_target(get_session(), pairs)
    return target if target is not None and target.level == "lot" else None


def _safe(target) -> str:  # type: ignore[no-untyped-def]
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in target.lot.code)
