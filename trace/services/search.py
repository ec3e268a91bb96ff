"""Searches over the registry for the API: lots, products and producers, scoped by actor.

Each function returns a statement (ordered, unexecuted) so callers can page through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import exists, or_
from sqlmodel import col, select
from sqlmodel.sql.expression import Select, SelectOfScalar

from trace.db import AnySelect
from trace.models import Certification, Lot, Producer, Product, Role
from trace.services.access import Actor


@dataclass(frozen=True)
class LotFilters:
    """What an inspector may narrow a lot list by (all optional)."""

    producer_id: int | None = None
    product_id: int | None = None
    gtin: str | None = None
    code: str | None = None
    district: str | None = None
    recalled: bool | None = None
    harvested_from: date | None = None
    harvested_to: date | None = None


@dataclass(frozen=True)
class CatalogueFilters:
    """Search terms for products and producers (all optional)."""

    q: str | None = None
    gtin: str | None = None
    district: str | None = None
    certification: str | None = None
    producer_id: int | None = None


def _visible(statement: AnySelect, actor: Actor, producer_column: Any) -> AnySelect:
    """Farmers see their own producer only; inspectors and admins see every producer."""
    if actor.role in (Role.ADMIN, Role.INSPECTOR):
        return statement
    return statement.where(producer_column == (actor.producer_id or -1))


def lots_query(actor: Actor, filters: LotFilters) -> Select[Lot, Product, Producer]:
    """Lots with their product and producer, newest first."""
    statement = (
        select(Lot, Product, Producer)
        .join(Product, col(Product.id) == Lot.product_id)
        .join(Producer, col(Producer.id) == Lot.producer_id)
    )
    statement = _visible(statement, actor, Lot.producer_id)
    conditions = [
        (filters.producer_id, lambda v: Lot.producer_id == v),
        (filters.product_id, lambda v: Lot.product_id == v),
        (filters.gtin, lambda v: Product.gtin == v),
        (filters.code, lambda v: Lot.code == v),
        (filters.district, lambda v: Producer.district == v),
        (filters.harvested_from, lambda v: col(Lot.harvest_date) >= v),
        (filters.harvested_to, lambda v: col(Lot.harvest_date) <= v),
    ]
    statement = _where_given(statement, conditions)
    if filters.recalled is not None:
        recalled = col(Lot.recalled_at).is_not(None)
        statement = statement.where(recalled if filters.recalled else ~recalled)
    return statement.order_by(col(Lot.id).desc())


def products_query(actor: Actor, filters: CatalogueFilters) -> Select[Product, Producer]:
    """Products with their producer, by name (vi or en), GTIN, district or certification."""
    statement = select(Product, Producer).join(Producer, col(Producer.id) == Product.producer_id)
    statement = _visible(statement, actor, Product.producer_id)
    if filters.q:
        pattern = f"%{filters.q.strip()}%"
        statement = statement.where(
            or_(col(Product.name_vi).ilike(pattern), col(Product.name_en).ilike(pattern))
        )
    statement = _catalogue_filters(statement, filters, Product.producer_id)
    if filters.gtin:
        statement = statement.where(Product.gtin == filters.gtin)
    return statement.order_by(col(Product.id))


def producers_query(actor: Actor, filters: CatalogueFilters) -> SelectOfScalar[Producer]:
    """Producers by name, district or certification scheme."""
    statement = _visible(select(Producer), actor, Producer.id)
    if filters.q:
        statement = statement.where(col(Producer.name).ilike(f"%{filters.q.strip()}%"))
    if filters.gtin:
        has_gtin = exists().where(
            col(Product.producer_id) == Producer.id, col(Product.gtin) == filters.gtin
        )
        statement = statement.where(has_gtin)
    statement = _catalogue_filters(statement, filters, Producer.id)
    return statement.order_by(col(Producer.id))


def _catalogue_filters(statement: AnySelect, filters: CatalogueFilters, producer: Any) -> AnySelect:
    if filters.district:
        statement = statement.where(col(Producer.district).ilike(f"%{filters.district.strip()}%"))
    if filters.producer_id:
        statement = statement.where(producer == filters.producer_id)
    if filters.certification:
        certified = exists().where(
            col(Certification.producer_id) == producer,
            col(Certification.scheme) == filters.certification,
            col(Certification.valid_to) >= date.today(),
        )
        statement = statement.where(certified)
    return statement


def _where_given(statement: AnySelect, conditions: list[tuple[Any, Any]]) -> AnySelect:
    for value, condition in conditions:
        if value is not None and value != "":
            statement = statement.where(condition(value))
    return statement
