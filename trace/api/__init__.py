"""The inspector API under /api/v1: OpenAPI 3 at /api/openapi.json, docs at /api/docs.

``init_app`` builds the flask-smorest Api (:func:`trace.extensions.api`) and registers the
registry's resources. Other packages register their own :class:`ApiBlueprint` on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trace.api.core import BEARER, ApiBlueprint, ProblemApi
from trace.extensions import set_api

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["ApiBlueprint", "ProblemApi", "init_app"]

DEFAULTS = {
    "API_TITLE": "AgriTrace inspector API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    "OPENAPI_SWAGGER_UI_URL": "/api/docs/assets/",
}
DESCRIPTION = """Verify stamps and lots without trusting the registry's database, capture and
query EPCIS 2.0 events, export FSMA 204 records, recall lots.

Send a token as `Authorization: Bearer <token>`. Tokens have scopes (`read`, `recall`,
`capture`, `mint`, `admin`: webhook subscriptions); a farmer's token only ever sees that
farmer's producer. Errors are
RFC 9457 `application/problem+json`; lists return `items` with pagination fields."""


def init_app(app: Flask) -> None:
    """Register the API, its docs (served locally, no CDN) and token pages."""
    from trace.api import (
        alerts,
        batches,
        docs,
        epcis,
        exports,
        inspections,
        products,
        tokens_web,
        webhooks,
    )

    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    api = ProblemApi(app, spec_kwargs={"info": {"description": DESCRIPTION}})
    api.spec.components.security_scheme(
        BEARER, {"type": "http", "scheme": "bearer", "description": "An AgriTrace API token."}
    )
    set_api(app, api)
    app.before_request(_refuse_nul_in_query)
    for module in (batches, inspections, products, epcis, exports, alerts, webhooks):
        module.register(api)
    docs.init_app(app)
    tokens_web.init_app(app)


def _refuse_nul_in_query() -> Any:
    """No database stores a NUL character in text: refuse it before any query is built."""
    from flask import request

    from trace.api.problems import problem
    from trace.i18n import _l

    if request.path.startswith("/api/") and any("\x00" in v for v in request.args.values()):
        return problem(422, _l("Query parameters cannot contain a NUL character."))
    return None
