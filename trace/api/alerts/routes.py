"""The alert feed: recalls, tampering, flags, expired certificates, failing rounds."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from sqlmodel import Session

from trace.alerts import alert_message, list_alerts
from trace.alerts.service import AlertQuery, tampered_lots
from trace.api import auth
from trace.api.alerts.schemas import AlertPageSchema, AlertQueryArgsSchema
from trace.api.core import ApiBlueprint
from trace.api.problems import api_locale
from trace.db import get_session
from trace.models import Alert
from trace.models.tokens import Scope
from trace.services.access import Actor

blp = ApiBlueprint("alerts", __name__, url_prefix="/api/v1/alerts", description="Alerts.")


@blp.route("")
class Alerts(MethodView):
    @auth.requires(blp, Scope.READ)
    @auth.errors(blp, 422)
    @blp.arguments(AlertQueryArgsSchema, location="query")
    @blp.response(200, AlertPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Alerts newest first, by kind, district and time; a farmer sees their own."""
        page = list_alerts(get_session(), auth.actor(), AlertQuery(**args))
        locale = api_locale()
        return {
            "items": [alert_item(alert, locale) for alert in page.items],
            "next_cursor": page.next_cursor,
        }


def alert_item(alert: Alert, locale: str) -> dict[str, Any]:
    """An alert as the API shows it, its message in ``locale``."""
    keys = ("id", "kind", "lot_id", "producer_id", "district", "details", "created_at")
    return {key: getattr(alert, key) for key in keys} | {"message": alert_message(alert, locale)}


def tampered_lot_items(session: Session, actor: Actor, args: dict[str, Any]) -> list[Any]:
    """The anomaly list's tampered lots under its filters (none by province or rule)."""
    if args.get("province") or args.get("rule"):
        return []
    found = tampered_lots(session, actor, args.get("product_id"), args.get("gtin"))
    return [
        {
            "lot_id": lot.id,
            "lot_code": lot.code,
            "product_id": product.id,
            "gtin": product.gtin,
            "producer_id": lot.producer_id,
            "tampered_at": lot.tampered_at,
        }
        for lot, product in found
    ]
