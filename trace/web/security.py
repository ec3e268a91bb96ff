"""Safe serving: security headers on every response; no start over a damaged chain store."""

from __future__ import annotations

import click
from flask import Flask, Response
from sqlmodel import Session, select

from chain.embedded import EMBEDDED_CHAIN_ID, EmbeddedChainClient
from chain.errors import ChainStoreCorrupted
from trace.db import get_session
from trace.extensions import chain_client, serve_hooks
from trace.models import AnchorRound, RoundStatus

#: Pages, the scan page and /api/docs load only their own scripts and styles: no inline
#: code, no CDN, no framing. ``data:`` images are Swagger UI's icons.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Stamp serials are in scan-page paths: other sites learn at most our origin.
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


def init_app(app: Flask) -> None:
    """Add the headers to every response; check the chain store before ``serve`` starts."""
    headers = dict(HEADERS)
    if app.config["AGRITRACE_ENV"] == "production":  # production is served over HTTPS only
        headers["Strict-Transport-Security"] = HSTS

    def add_headers(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    app.after_request(add_headers)
    # First of the serve hooks: nothing else starts over a damaged chain.
    serve_hooks(app).insert(0, refuse_damaged_chain)


def refuse_damaged_chain(app: Flask) -> None:
    """Open the embedded chain store before serving; stop with recovery advice if damaged.

    A store that is missing while the database records rounds confirmed on the embedded
    chain is damage too: starting a fresh chain would orphan every earlier proof.

    :raises click.ClickException: the store is truncated, corrupted or missing.
    """
    client = chain_client(app)
    if not isinstance(client, EmbeddedChainClient):
        return
    try:
        client.check_store(expect_existing=has_embedded_anchors(get_session()))
    except ChainStoreCorrupted as error:
        raise click.ClickException(f"refusing to start: {error}") from None


def has_embedded_anchors(session: Session) -> bool:
    """Whether any anchoring round was confirmed on the embedded chain."""
    statement = select(AnchorRound.id).where(
        AnchorRound.status == RoundStatus.CONFIRMED, AnchorRound.chain_id == EMBEDDED_CHAIN_ID
    )
    return session.exec(statement.limit(1)).first() is not None
