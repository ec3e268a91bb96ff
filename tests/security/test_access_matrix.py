"""Who may reach every web route: anonymous, farmer A, farmer B (A's objects), inspector, admin.

Each entry names a route (rule and method), the URL tried (always one of farmer A's
objects where the rule takes an id) and the status each role gets. A logged-out visitor
is sent to the login page (302); a role that may not see a page, or another producer's
object, gets 404 so ids cannot be probed. A route added without an entry here fails
``test_every_web_route_is_in_the_matrix``. The API's matrix (tokens and scopes) is
``tests/trace/api/test_access.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from stamps import minting, voiding
from stamps.models import Stamp
from stamps.resolver.compression import compress
from tests.registry_fixtures import Farm, login
from trace.models import Product, User
from trace.services import holdings, tokens

ROLES = ("anonymous", "farmer_a", "farmer_b", "inspector", "admin")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass(frozen=True)
class Entry:
    """One route: the URL tried and each role's status, in the order of ``ROLES``."""

    url: str
    statuses: tuple[int, int, int, int, int]
    data: dict[str, str] | None = None


def expect(url: str, *statuses: int, data: dict[str, str] | None = None) -> Entry:
    assert len(statuses) == len(ROLES)
    return Entry(url, statuses, data)  # type: ignore[arg-type]


PUBLIC = (200, 200, 200, 200, 200)
FARMERS = (302, 200, 200, 404, 404)  # each farmer's own producer, no id in the URL
A_ONLY = (302, 200, 404, 404, 404)  # farmer A's object, farmers only
A_AND_STAFF = (302, 200, 404, 200, 200)  # farmer A's object, also visible to staff
STAFF = (302, 404, 404, 200, 200)
ADMIN = (302, 404, 404, 404, 200)
NOT_LISTED = (404, 404, 404, 404, 404)

#: (rule, method) -> what each role gets. ``{lot}``, ``{cert}``, ... are farmer A's ids.
MATRIX: dict[tuple[str, str], Entry] = {
    ("/", "GET"): expect("/", 200, 302, 302, 302, 302),
    ("/login", "GET"): expect("/login", *PUBLIC),
    ("/login", "POST"): expect("/login", 401, 401, 401, 401, 401, data={"email": "x"}),
    ("/logout", "POST"): expect("/logout", 302, 302, 302, 302, 302),
    ("/account/password", "GET"): expect("/account/password", 302, 200, 200, 200, 200),
    ("/account/password", "POST"): expect("/account/password", 302, 422, 422, 422, 422, data={}),
    ("/register", "GET"): expect("/register", *PUBLIC),
    ("/register", "POST"): expect("/register", 422, 422, 422, 422, 422, data={"email": "x"}),
    ("/lang/<code>", "GET"): expect("/lang/en", 302, 302, 302, 302, 302),
    # No worker runs in the tests, so health says 503 to everyone alike.
    ("/healthz", "GET"): expect("/healthz", 503, 503, 503, 503, 503),
    ("/livez", "GET"): expect("/livez", *PUBLIC),
    ("/static/<path:filename>", "GET"): expect("/static/app.css", *PUBLIC),
    ("/farm/", "GET"): expect("/farm/", *FARMERS),
    ("/farm/profile", "GET"): expect("/farm/profile", *FARMERS),
    # An empty POST re-saves the stored profile (the form falls back to it).
    ("/farm/profile", "POST"): expect("/farm/profile", 302, 302, 302, 404, 404, data={}),
    ("/farm/plots", "GET"): expect("/farm/plots", *FARMERS),
    ("/farm/plots", "POST"): expect("/farm/plots", 302, 422, 422, 404, 404, data={}),
    ("/farm/products", "GET"): expect("/farm/products", *FARMERS),
    ("/farm/products", "POST"): expect("/farm/products", 302, 422, 422, 404, 404, data={}),
    ("/farm/certifications", "GET"): expect("/farm/certifications", *FARMERS),
    ("/farm/certifications", "POST"): expect(
        "/farm/certifications", 302, 422, 422, 404, 404, data={}
    ),
    ("/farm/certifications/<int:cert_id>/certificate.pdf", "GET"): expect(
        "/farm/certifications/{cert}/certificate.pdf", *A_AND_STAFF
    ),
    ("/lots/", "GET"): expect("/lots/", *FARMERS),
    ("/lots/", "POST"): expect("/lots/", 302, 422, 422, 404, 404, data={}),
    ("/lots/transform", "GET"): expect("/lots/transform", *FARMERS),
    ("/lots/transform", "POST"): expect("/lots/transform", 302, 422, 422, 404, 404, data={}),
    ("/lots/<int:lot_id>", "GET"): expect("/lots/{lot}", *A_AND_STAFF),
    ("/lots/<int:lot_id>/events/<kind>", "GET"): expect("/lots/{lot}/events/harvest", *A_ONLY),
    ("/lots/<int:lot_id>/events/<kind>", "POST"): expect(
        "/lots/{lot}/events/harvest", 302, 422, 404, 404, 404, data={}
    ),
    ("/lots/<int:lot_id>/stamps", "GET"): expect("/lots/{lot}/stamps", *A_AND_STAFF),
    ("/lots/<int:lot_id>/stamps", "POST"): expect(
        "/lots/{lot}/stamps", 302, 422, 404, 404, 404, data={}
    ),
    ("/lots/<int:lot_id>/stamps/void", "GET"): expect("/lots/{lot}/stamps/void", *A_ONLY),
    ("/lots/<int:lot_id>/stamps/void", "POST"): expect(
        "/lots/{lot}/stamps/void", 302, 422, 404, 404, 404, data={}
    ),
    # No signed preview: the farmer is sent back to choose the labels.
    ("/lots/<int:lot_id>/stamps/void/confirm", "POST"): expect(
        "/lots/{lot}/stamps/void/confirm", 302, 302, 404, 404, 404, data={}
    ),
    ("/voids/<int:void_id>/undo", "POST"): expect(
        "/voids/{void}/undo", 302, 302, 404, 404, 404, data={}
    ),
    ("/runs/<int:run_id>/activate", "POST"): expect(
        "/runs/{run}/activate", 302, 302, 404, 404, 404, data={}
    ),
    ("/runs/<int:run_id>/labels.pdf", "GET"): expect("/runs/{run}/labels.pdf", *A_AND_STAFF),
    ("/stamps/<serial>.<fmt>", "GET"): expect("/stamps/{serial}.svg", *A_AND_STAFF),
    ("/01/<path:_rest>", "GET"): expect("{stamp_path}", *PUBLIC),
    # A location share without a province records nothing and goes back to the page.
    ("/01/<path:_rest>", "POST"): expect("{stamp_path}", 302, 302, 302, 302, 302, data={}),
    # Public; 409 because the stamp's lot is not anchored yet.
    ("/proofs/<serial>.json", "GET"): expect("/proofs/{serial}.json", 409, 409, 409, 409, 409),
    ("/proofs/01/<path:_rest>", "GET"): expect("/proofs{lot_path}.json", 409, 409, 409, 409, 409),
    ("/passports/<path:_rest>", "GET"): expect("/passports{lot_path}.jsonld", *PUBLIC),
    # Public: a compressed Digital Link redirects to its uncompressed form.
    ("/<dlz:segment>", "GET"): expect("{compressed_path}", 307, 307, 307, 307, 307),
    ("/.well-known/gs1resolver", "GET"): expect("/.well-known/gs1resolver", *PUBLIC),
    ("/resolver/linkset-context.jsonld", "GET"): expect(
        "/resolver/linkset-context.jsonld", *PUBLIC
    ),
    ("/admin/producers", "GET"): expect("/admin/producers", *STAFF),
    ("/admin/certifications/<int:cert_id>/verify", "POST"): expect(
        "/admin/certifications/{cert}/verify", 302, 404, 404, 302, 302, data={}
    ),
    ("/admin/producers/<int:producer_id>", "GET"): expect("/admin/producers/{producer}", *STAFF),
    ("/admin/producers/<int:producer_id>/<action>", "POST"): expect(
        "/admin/producers/{producer}/approve", 302, 404, 404, 404, 302, data={}
    ),
    ("/admin/inspectors", "GET"): expect("/admin/inspectors", *ADMIN),
    ("/admin/inspectors", "POST"): expect("/admin/inspectors", 302, 404, 404, 404, 422, data={}),
    # Read-only JSON-RPC for verifiers: public, errors are JSON-RPC bodies.
    ("/chain/rpc", "POST"): expect("/chain/rpc", *PUBLIC, data={}),
    ("/marketplace/", "GET"): expect("/marketplace/", 302, 200, 200, 404, 200),
    ("/marketplace/products/<int:product_id>", "GET"): expect(
        "/marketplace/products/{product}", *A_ONLY
    ),
    ("/marketplace/products/<int:product_id>", "POST"): expect(
        "/marketplace/products/{product}", 302, 302, 404, 404, 404, data={}
    ),
    ("/marketplace/listings/<int:listing_id>/retry", "POST"): expect(
        "/marketplace/listings/999999/retry", 302, 404, 404, 404, 404, data={}
    ),
    ("/marketplace/<name>/feed.csv", "GET"): expect("/marketplace/voso/feed.csv", *FARMERS),
    # Public, but only for listed lots and products: A's are not listed.
    ("/marketplace/lots/<int:lot_id>/qr.png", "GET"): expect(
        "/marketplace/lots/{lot}/qr.png", *NOT_LISTED
    ),
    ("/marketplace/products/<int:product_id>/qr.png", "GET"): expect(
        "/marketplace/products/{product}/qr.png", *NOT_LISTED
    ),
    # The national portal: a farmer's own switch (an empty POST opts out); admins see all.
    ("/marketplace/portal/", "GET"): expect("/marketplace/portal/", 302, 200, 200, 404, 200),
    ("/marketplace/portal/enrolment", "POST"): expect(
        "/marketplace/portal/enrolment", 302, 302, 302, 404, 404, data={}
    ),
    ("/marketplace/portal/producers/<int:producer_id>", "GET"): expect(
        "/marketplace/portal/producers/{producer}", *ADMIN
    ),
    ("/marketplace/portal/producers/<int:producer_id>/history.json", "GET"): expect(
        "/marketplace/portal/producers/{producer}/history.json", *ADMIN
    ),
    ("/marketplace/portal/producers/<int:producer_id>/push", "POST"): expect(
        "/marketplace/portal/producers/{producer}/push", 302, 404, 404, 404, 302, data={}
    ),
    ("/tokens", "GET"): expect("/tokens", 302, 200, 200, 200, 200),
    ("/tokens", "POST"): expect("/tokens", 302, 422, 422, 404, 422, data={}),
    ("/tokens/<int:token_id>/revoke", "POST"): expect(
        "/tokens/{token}/revoke", 302, 302, 404, 404, 302, data={}
    ),
    ("/inspect/flags", "GET"): expect("/inspect/flags", *STAFF),
    # No flag 1 exists: staff reach the review and are told so.
    ("/inspect/flags/<int:flag_id>/review", "POST"): expect(
        "/inspect/flags/1/review", 302, 404, 404, 404, 404, data={}
    ),
    ("/admin/clone-limits", "GET"): expect("/admin/clone-limits", *ADMIN),
    ("/admin/clone-limits", "POST"): expect(
        "/admin/clone-limits", 302, 404, 404, 404, 302, data={}
    ),
    ("/dashboard/", "GET"): expect("/dashboard/", *STAFF),
    ("/dashboard/<key>.csv", "GET"): expect("/dashboard/pending-lots.csv", *STAFF),
    ("/dashboard/static/<path:filename>", "GET"): expect(
        "/dashboard/static/dashboard.css", *PUBLIC
    ),
    ("/open-data/", "GET"): expect("/open-data/", *PUBLIC),
    ("/open-data/catalog.json", "GET"): expect("/open-data/catalog.json", *PUBLIC),
    ("/open-data/<name>.csv", "GET"): expect("/open-data/products.csv", *PUBLIC),
    ("/open-data/<name>.json", "GET"): expect("/open-data/products.json", *PUBLIC),
    ("/open-data/schemas/<name>.schema.json", "GET"): expect(
        "/open-data/schemas/products.schema.json", *PUBLIC
    ),
    ("/open-data/schemas/<name>.table.json", "GET"): expect(
        "/open-data/schemas/products.table.json", *PUBLIC
    ),
}
#: Served by other packages' own tests and access rules, and listed so the matrix stays whole.
API_PREFIXES = ("/api/",)


@pytest.fixture
def objects(app: Flask, session: Session, farm_a: Farm) -> dict[str, Any]:
    """Farmer A's certification (with its PDF), stamp run and stamp, by placeholder name."""
    cert = holdings.add_certification(
        session,
        farm_a.actor,
        scheme="vietgap",
        number="VG-1",
        issuer="Trung tâm",
        valid_from=date(2024, 1, 1),
        valid_to=date(2030, 1, 1),
        ocop_stars=None,
        pdf=holdings.CertificateFile("c.pdf", PDF),
        upload_folder=app.config["UPLOAD_FOLDER"],
        max_bytes=10**6,
    )
    run = minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 2, "1")
    stamp = session.exec(select(Stamp).where(Stamp.run_id == run.id)).first()
    assert stamp is not None
    labels = voiding.labels_by_serial(session, farm_a.actor, farm_a.lot_id, stamp.serial)
    void = voiding.void_labels(session, farm_a.actor, farm_a.lot_id, labels)
    token = tokens.issue_token(session, farm_a.actor, farm_a.email, ["read"]).token
    gtin = session.get(Product, farm_a.product_id).gtin  # type: ignore[union-attr]
    return {
        "lot": farm_a.lot_id,
        "product": farm_a.product_id,
        "producer": farm_a.user.producer_id,
        "cert": cert.id,
        "run": run.id,
        "void": void.id,
        "token": token.id,
        "serial": stamp.serial,
        "stamp_path": f"/01/{gtin}/10/TL-1/21/{stamp.serial}",
        "lot_path": f"/01/{gtin}/10/TL-1",
        "compressed_path": "/" + compress({"01": gtin, "10": "TL-1", "21": stamp.serial}),
    }


@pytest.fixture
def clients(
    app: Flask, farm_a: Farm, farm_b: Farm, inspector: User, admin: User
) -> dict[str, FlaskClient]:
    return {
        "anonymous": app.test_client(),
        "farmer_a": login(app.test_client(), farm_a.email),
        "farmer_b": login(app.test_client(), farm_b.email),
        "inspector": login(app.test_client(), inspector.email),
        "admin": login(app.test_client(), admin.email),
    }


def web_routes(app: Flask) -> set[tuple[str, str]]:
    return {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}  # type: ignore[operator]
        if not rule.rule.startswith(API_PREFIXES)
    }


def test_every_web_route_is_in_the_matrix(app: Flask) -> None:
    routes = web_routes(app)
    assert sorted(routes - MATRIX.keys()) == [], "add these routes to MATRIX"
    assert sorted(MATRIX.keys() - routes) == [], "these routes no longer exist"


def test_each_role_gets_the_expected_status_on_every_web_route(
    clients: dict[str, FlaskClient], objects: dict[str, Any]
) -> None:
    wrong = []
    # Logging out ends each client's session, so it goes last.
    for (_rule, method), entry in sorted(MATRIX.items(), key=lambda item: item[0][0] == "/logout"):
        url = entry.url.format(**objects)
        for role, expected in zip(ROLES, entry.statuses, strict=True):
            with clients[role].open(url, method=method, data=entry.data) as response:
                if response.status_code != expected:
                    wrong.append(f"{method} {url} as {role}: {response.status_code} != {expected}")
    assert wrong == [], "\n".join(wrong)
