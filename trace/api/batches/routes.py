"""Lots (batches): list, detail, one step back and forward, integrity, recall."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask.views import MethodView

from trace.anchoring import check_integrity
from trace.api import auth
from trace.api.batches import schemas, serializers
from trace.api.core import ApiBlueprint
from trace.api.pagination import page_body, paginate, whole_list
from trace.db import get_session
from trace.extensions import delister
from trace.models.tokens import Scope
from trace.services import lots as lot_service
from trace.services.lot_view import lot_record, step
from trace.services.recall import recall_hooks, recall_lot
from trace.services.search import LotFilters, lots_query

blp = ApiBlueprint(
    "batches",
    __name__,
    url_prefix="/api/v1/batches",
    description="Lots (batches) and their records.",
)


@blp.route("")
class Batches(MethodView):
    @auth.requires(blp, Scope.READ)
    @auth.errors(blp, 422)
    @blp.arguments(schemas.LotQueryArgsSchema, location="query")
    @blp.response(200, schemas.LotPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List lots: a farmer's token sees its producer's lots, inspectors every lot."""
        page_args = {k: args.pop(k) for k in ("page", "per_page")}
        statement = lots_query(auth.actor(), LotFilters(**args))
        page = paginate(get_session(), statement, page_args)
        return page_body(page, [serializers.lot_item(*row) for row in page.items])


@blp.route("/<int:lot_id>")
class Batch(MethodView):
    @auth.requires(blp, Scope.READ)
    @auth.errors(blp, 404)
    @blp.response(200, schemas.LotDetailSchema)
    def get(self, lot_id: int) -> dict[str, Any]:
        """A lot with its events, certifications, anchors, inputs and outputs."""
        return serializers.lot_detail(lot_record(get_session(), auth.actor(), lot_id))


@blp.route("/<int:lot_id>/inputs")
class BatchInputs(MethodView):
    @auth.requires(blp, Scope.READ)
    @auth.errors(blp, 404)
    @blp.response(200, schemas.LotPageSchema)
    def get(self, lot_id: int) -> dict[str, Any]:
        """One step back: the lots this lot was made from."""
        session, actor = get_session(), auth.actor()
        lot_service.get_lot(session, actor, lot_id)
        rows = step(session, actor, lot_service.input_lots(session, lot_id))
        return whole_list([serializers.lot_item(lot, product) for lot, product in rows])


@blp.route("/<int:lot_id>/outputs")
class BatchOutputs(MethodView):
    @auth.requires(blp, Scope.READ)
    @auth.errors(blp, 404)
    @blp.response(200, schemas.LotPageSchema)
    def get(self, lot_id: int) -> dict[str, Any]:
        """One step forward: the lots made from this lot."""
        session, actor = get_session(), auth.actor()
        lot_service.get_lot(session, actor, lot_id)
        rows = step(session, actor, lot_service.output_lots(session, lot_id))
        return whole_list([serializers.lot_item(lot, product) for lot, product in rows])


@blp.route("/<int:lot_id>/integrity")
class BatchIntegrity(MethodView):
    @auth.requires(blp, Scope.READ)
    @auth.errors(blp, 404)
    @blp.response(200, schemas.IntegritySchema)
    def get(self, lot_id: int) -> dict[str, Any]:
        """Recompute the lot's document from the database and compare it with its anchor."""
        session = get_session()
        lot_service.get_lot(session, auth.actor(), lot_id)
        return serializers.integrity_item(check_integrity(session, lot_id))


@blp.route("/<int:lot_id>/recall")
class BatchRecall(MethodView):
    @auth.requires(blp, Scope.RECALL)
    @auth.errors(blp, 400, 404, 422)
    @blp.arguments(schemas.RecallCreateSchema)
    @blp.response(200, schemas.RecallSchema)
    def post(self, body: dict[str, Any], lot_id: int) -> dict[str, Any]:
        """Recall the lot, its stamps and its marketplace listings (idempotent)."""
        outcome = recall_lot(
            get_session(),
            auth.actor(),
            lot_id,
            body["reason"],
            recall_hooks(current_app),
            when=local_now(),
            delist=delister(current_app),
        )
        return serializers.recall_item(outcome)


def local_now() -> datetime:
    """Now, in the registry's time zone (events keep the offset they happened in)."""
    return datetime.now(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"]))
