"""Products and producers: search by name, GTIN, district and certification."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask.views import MethodView
from sqlmodel import Session, col, select

from trace.api import auth
from trace.api.core import ApiBlueprint
from trace.api.pagination import page_body, paginate
from trace.api.products import schemas
from trace.db import get_session
from trace.models import Certification, Producer, Product
from trace.models.tokens import Scope
from trace.services.access import visible_producer
from trace.services.certifications import verify_certification
from trace.services.search import CatalogueFilters, producers_query, products_query

blp = ApiBlueprint(
    "products", __name__, url_prefix="/api/v1", description="Products and producers."
)


@blp.route("/products")
class Products(MethodView):
    @auth.requires(blp, Scope.READ)
    @auth.errors(blp, 422)
    @blp.arguments(schemas.ProductQueryArgsSchema, location="query")
    @blp.response(200, schemas.ProductPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Search products by name, GTIN, district or certification."""
        page_args = {k: args.pop(k) for k in ("page", "per_page")}
        page = paginate(
            get_session(), products_query(auth.actor(), CatalogueFilters(**args)), page_args
        )
        return page_body(page, [product_item(p, producer) for p, producer in page.items])


@blp.route("/producers")
class Producers(MethodView):
    @auth.requires(blp, Scope.READ)
    @auth.errors(blp, 422)
    @blp.arguments(schemas.ProducerQueryArgsSchema, location="query")
    @blp.response(200, schemas.ProducerPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Search producers by name, GTIN of a product, district or certification."""
        session = get_session()
        page_args = {k: args.pop(k) for k in ("page", "per_page")}
        page = paginate(session, producers_query(auth.actor(), CatalogueFilters(**args)), page_args)
        schemes = valid_schemes(session, [p.id for p in page.items])
        return page_body(page, [producer_item(p, schemes.get(p.id, [])) for p in page.items])


@blp.route("/producers/<int:producer_id>")
class ProducerDetail(MethodView):
    @auth.requires(blp, Scope.READ)
    @auth.errors(blp, 404)
    @blp.response(200, schemas.ProducerSchema)
    def get(self, producer_id: int) -> dict[str, Any]:
        """One producer."""
        session = get_session()
        producer = visible_producer(session, auth.actor(), producer_id)
        return producer_item(producer, valid_schemes(session, [producer_id]).get(producer_id, []))


def product_item(product: Product, producer: Producer) -> dict[str, Any]:
    """A product as a search result."""
    return {
        "id": product.id,
        "gtin": product.gtin,
        "name_vi": product.name_vi,
        "name_en": product.name_en,
        "category": product.category,
        "unit": product.unit,
        "producer_id": producer.id,
        "producer_name": producer.name,
        "district": producer.district,
    }


def producer_item(producer: Producer, schemes: list[str]) -> dict[str, Any]:
    """A producer as a search result."""
    keys = (
        "id",
        "name",
        "kind",
        "status",
        "registration_number",
        "commune",
        "district",
        "province",
        "gln",
    )
    return {key: getattr(producer, key) for key in keys} | {"certifications": schemes}


def valid_schemes(session: Session, producer_ids: list[Any]) -> dict[int, list[str]]:
    """The schemes each producer holds a valid certificate of today."""
    statement = (
        select(Certification.producer_id, Certification.scheme)
        .where(col(Certification.producer_id).in_(producer_ids))
        .where(col(Certification.valid_to) >= date.today())
        .distinct()
    )
    found: dict[int, list[str]] = {}
    for producer_id, scheme in session.exec(statement):
        found.setdefault(producer_id, []).append(scheme)
    return {k: sorted(v) for k, v in found.items()}


@blp.route("/certifications/<int:cert_id>/verify")
class CertificationVerify(MethodView):
    @auth.requires(blp, Scope.CAPTURE)
    @auth.errors(blp, 404)
    @blp.response(200, schemas.CertificationStandingSchema)
    def post(self, cert_id: int) -> dict[str, Any]:
        """Mark a declared certification verified (inspectors and admins; idempotent)."""
        cert = verify_certification(get_session(), auth.actor(), cert_id)
        return certification_item(cert)


def certification_item(cert: Certification) -> dict[str, Any]:
    """A certification as the API shows it."""
    keys = (
        "id",
        "producer_id",
        "scheme",
        "number",
        "issuer",
        "valid_from",
        "valid_to",
        "verified_at",
        "verified_by_id",
        "producer_wide",
    )
    return {key: getattr(cert, key) for key in keys} | {"standing": cert.standing(date.today())}
