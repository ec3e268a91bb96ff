"""Content negotiation for the resolver: media type, language, and the resolver's headers."""

from __future__ import annotations

from flask import Response, current_app, request

from stamps.resolver.linkset import LINKSET_TYPE

JSONLD_TYPE = "application/ld+json"
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Accept-Language",
    "Access-Control-Expose-Headers": "Link, Content-Language, Location",
    "Access-Control-Max-Age": "86400",
}


def representation() -> str:
    """``html``, ``json``, ``linkset`` or ``jsonld``: what the client's Accept prefers.

    A type only wins over HTML when the client ranks it higher (browsers send ``*/*``).
    """
    accept = request.accept_mimetypes
    offers = [LINKSET_TYPE, JSONLD_TYPE, "application/json", "text/html"]
    best = accept.best_match(offers, default="text/html")
    names = {LINKSET_TYPE: "linkset", JSONLD_TYPE: "jsonld", "application/json": "json"}
    if best in names and accept[best] > accept["text/html"]:
        return names[best]
    return "html"


def language() -> str:
    """The page language: ``?lang=``, the language cookie, else Accept-Language, else vi."""
    languages = current_app.config["LANGUAGES"]
    for chosen in (request.args.get("lang"), request.cookies.get("lang")):
        if chosen in languages:
            return str(chosen)
    best = request.accept_languages.best_match(languages)
    return str(best or current_app.config["BABEL_DEFAULT_LOCALE"])


def add_resolver_headers(response: Response) -> Response:
    """CORS on every resolver answer, and ``Vary`` for the negotiated headers."""
    response.headers.update(CORS_HEADERS)
    response.vary.update(("Accept", "Accept-Language"))
    return response
