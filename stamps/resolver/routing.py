"""Resolving a Digital Link request: link types, linksets, walk-up, the page for each level.

The serial-level scan page stays the scan view's (``stamps.web.scan.scan``): :func:`dispatch`
answers everything else and returns None for a plain request of a known or unknown stamp.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import urlencode

from flask import Response, current_app, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from sqlmodel import Session

from stamps.identity import is_well_formed_serial, normalize_serial, stamp_uri
from stamps.resolver import negotiation
from stamps.resolver.linkset import (
    LINKSET_TYPE,
    Link,
    Linkset,
    linkset_url,
    lot_linkset,
    normalise_link_type,
    passport_url,
    product_linkset,
    stamp_linkset,
)
from stamps.resolver.pages import lot_facts, product_facts
from stamps.resolver.targets import Target, find_target
from stamps.scanning import facts_of_serial
from stamps.verdict import TEXTS as VERDICT_TEXTS
from stamps.verdict import Verdict
from trace.anchoring import anchored_version
from trace.db import get_session
from trace.gs1 import MalformedDigitalLink, gtin_dl_uri, parse_gtin_dl_path
from trace.i18n import _l as _
from trace.passport import passport_jsonld

LINKSET_KEYWORDS = ("linkset", "all")


def dispatch(raw_path: str, same_as: str | None = None) -> ResponseReturnValue | None:
    """Answer a Digital Link request, or None to let the scan view show a stamp.

    :param raw_path: the still percent-encoded path (a trailing slash is tolerated).
    :param same_as: the uncompressed URI, when the request came compressed.
    """
    trimmed = raw_path.rstrip("/")
    try:
        pairs = parse_gtin_dl_path(trimmed)
    except MalformedDigitalLink:
        return None  # the scan view explains what is wrong with the path
    if [ai for ai, _ in pairs] not in (["01"], ["01", "10"], ["01", "10", "21"]):
        return None  # a level we never issue (a CPV, a serial without its lot)
    link_type = request.args.get("linkType")
    wants_linkset = link_type in LINKSET_KEYWORDS or (
        link_type is None and negotiation.representation() == "linkset"
    )
    serial_level = [ai for ai, _ in pairs] == ["01", "10", "21"]
    if serial_level and link_type is None and not wants_linkset and trimmed == raw_path:
        return None
    session = get_session()
    target = find_target(session, pairs)
    if target is None:
        return _unknown_product(pairs[0][1])
    links = _linkset_of(session, target, same_as)
    if wants_linkset:
        return _linkset_response(links)
    if link_type is not None:
        return _follow(link_type, links, target)
    if serial_level and target.level == "serial":  # a trailing slash on a known stamp
        return redirect(with_query(trimmed), 308)
    return page(session, target, links)


def walk_up(raw_path: str) -> ResponseReturnValue | None:
    """A stamp we never issued, asked for its page: its lot's page (or product's), NOT_FOUND.

    :returns: None when the product is not ours either (nothing to walk up to).
    """
    session = get_session()
    target = find_target(session, parse_gtin_dl_path(raw_path.rstrip("/")))
    if target is None:
        return None
    return page(session, target, _linkset_of(session, target, None), status=404)


def stamp_linkset_response(raw_path: str) -> ResponseReturnValue:
    """The linkset of a stamp's URI, for a scan whose client ranks linksets above pages.

    :func:`dispatch` answers linkset requests itself; the scan view asks for this one when
    its own reading of the Accept header chose a linkset that the resolver's did not.
    """
    session = get_session()
    pairs = parse_gtin_dl_path(raw_path.rstrip("/"))
    target = find_target(session, pairs)
    if target is None:
        return _unknown_product(pairs[0][1])
    return _linkset_response(_linkset_of(session, target, None))


def page(
    session: Session, target: Target, links: Linkset, status: int = 200
) -> ResponseReturnValue:
    """The page of a product or a lot, in the representation and language asked for."""
    base, today = current_app.config["PUBLIC_BASE_URL"], date.today()
    kind = negotiation.representation()
    if target.level == "gtin":
        facts = product_facts(session, target, base, today)
        typed = request.args.get("serial")
        if typed is not None:
            found = typed_serial_uri(session, target, typed, base)
            if found is not None:
                return redirect(found, 303)
            facts["typed"], status = typed, 404
            facts["serial_error"] = _("No stamp with this code was issued for this product.")
        body = _render(kind, "resolver/product.html", facts, status)
    else:
        facts = lot_facts(session, target, base, today)
        if kind == "jsonld" and facts["passport"]:
            body = _jsonld(passport_jsonld(facts["passport"], facts["uri"]), status)
        else:
            body = _render(kind, "resolver/lot.html", facts, status)
    body.headers["Link"] = links.link_header(linkset_url(links.anchor))
    return body


def typed_serial_uri(session: Session, target: Target, typed: str, base: str) -> str | None:
    """The stamp URI of a serial typed on the product page, if it is one of this product's."""
    serial = normalize_serial(typed)
    facts = facts_of_serial(session, serial) if is_well_formed_serial(serial) else None
    if facts is None or facts.product.id != target.product.id:
        return None
    return stamp_uri(base, facts.product.gtin, facts.lot.code, serial)


def _render(kind: str, template: str, facts: dict[str, Any], status: int) -> Response:
    if kind != "html":
        data = {k: v for k, v in facts.items() if k not in ("story", "serial_error")}
        return Response(json.dumps(data, ensure_ascii=False), status, mimetype="application/json")
    lang = negotiation.language()
    with force_locale(lang):
        says = VERDICT_TEXTS[Verdict(facts["verdict"])] if "verdict" in facts else None
        story_html = ""
        if "story" in facts:
            story_html = facts["story"].fragment(
                lang, lambda: render_template("stamps/_story.html", r=facts)
            )
        html = render_template(
            template,
            r=facts,
            says=says,
            lang=lang,
            story_html=story_html,
            serial_error=facts.get("serial_error"),
            typed=facts.get("typed"),
        )
    response = Response(html, status, mimetype="text/html")
    response.headers["Content-Language"] = lang
    return response


def _jsonld(document: dict[str, Any], status: int = 200) -> Response:
    body = json.dumps(document, ensure_ascii=False)
    return Response(body, status, content_type="application/ld+json; charset=utf-8")


def _linkset_of(session: Session, target: Target, same_as: str | None) -> Linkset:
    base, product = current_app.config["PUBLIC_BASE_URL"], target.product
    name = product.name_vi
    if target.level == "gtin":
        links = product_linkset(base, product.gtin, name)
    elif target.level == "lot":
        assert target.lot is not None and target.lot.id is not None
        anchored = anchored_version(session, target.lot.id) is not None
        passport = passport_url(base, product.gtin, target.lot.code)
        links = lot_linkset(
            base, product.gtin, target.lot.code, name, anchored=anchored, passport=passport
        )
    else:
        assert target.lot is not None and target.asked_serial is not None
        lot, serial = target.lot, target.asked_serial
        proof = None
        if anchored_version(session, lot.id) is not None:  # type: ignore[arg-type]
            proof = f"{base}/proofs/{serial}.json"
        passport = passport_url(base, product.gtin, lot.code)
        links = stamp_linkset(
            base, product.gtin, lot.code, serial, name, proof=proof, passport=passport
        )
    if same_as is None:
        return links
    return Linkset(links.anchor, links.item_description, links.links, same_as=same_as)


def _linkset_response(links: Linkset) -> Response:
    body = json.dumps(links.as_json(), ensure_ascii=False)
    response = Response(body, content_type=LINKSET_TYPE)
    response.headers["Link"] = links.link_header(linkset_url(links.anchor))
    return response


def _follow(link_type: str, links: Linkset, target: Target) -> ResponseReturnValue:
    """Serve or redirect to the asked link type's best target; 404 when there is none."""
    rel = normalise_link_type(link_type)
    candidates = links.of_type(rel) if rel else []
    if not candidates:
        return _no_such_link(link_type, links)
    chosen = _best(candidates)
    if chosen.href.split("#", 1)[0] == links.anchor:
        session = get_session()
        if target.level == "serial":
            return None  # type: ignore[return-value]  # the scan view shows the stamp
        return page(session, target, links)
    response = redirect(with_query(chosen.href), 307)
    response.headers["Link"] = links.link_header(linkset_url(links.anchor))
    return response


def _best(candidates: list[Link]) -> Link:
    """The target whose media type the client accepts most (ties: the first listed)."""
    accept = request.accept_mimetypes
    return max(candidates, key=lambda link: accept[link.type])


def with_query(href: str) -> str:
    """Pass the whole query string on, as GS1 requires of a redirecting resolver."""
    if not request.query_string:
        return href
    stem, _, fragment = href.partition("#")
    joiner = "&" if "?" in stem else "?"
    query = request.query_string.decode("latin-1")
    return f"{stem}{joiner}{query}" + (f"#{fragment}" if fragment else "")


def _no_such_link(link_type: str, links: Linkset) -> Response:
    body = {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": f"no link of type {link_type!r} for {links.anchor}",
        "linkset": linkset_url(links.anchor),
    }
    response = Response(json.dumps(body), 404, content_type="application/problem+json")
    response.headers["Link"] = links.link_header(linkset_url(links.anchor))
    return response


def _unknown_product(gtin: str) -> ResponseReturnValue:
    if negotiation.representation() != "html":
        return jsonify({"verdict": str(Verdict.NOT_FOUND), "gtin": gtin}), 404
    from trace.web.errors import error_page

    return error_page(404)


def uncompressed_uri(elements: dict[str, str]) -> str:
    """The Digital Link URI of decompressed elements: key path, other AIs as query."""
    base = current_app.config["PUBLIC_BASE_URL"]
    uri = gtin_dl_uri(
        base, elements["01"], cpv=elements.get("22"), lot=elements.get("10"),
        serial=elements.get("21"),
    )  # fmt: skip
    attributes = {ai: v for ai, v in elements.items() if ai not in ("01", "22", "10", "21")}
    return f"{uri}?{urlencode(sorted(attributes.items()))}" if attributes else uri
