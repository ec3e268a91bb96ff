"""Swagger UI's files served from the installed swagger-ui-bundle package (no CDN), and
problem+json answers for paths under /api/v1 that match no resource."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, request, send_from_directory
from werkzeug.exceptions import HTTPException

from trace.api.problems import problem

assets_bp = Blueprint("api_docs_assets", __name__)
fallback_bp = Blueprint("api_fallback", __name__)
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


@assets_bp.get("/api/docs/assets/<path:filename>")
def asset(filename: str) -> Response:
    """One Swagger UI file (JavaScript, CSS, images)."""
    from swagger_ui_bundle import swagger_ui_path

    return send_from_directory(str(swagger_ui_path), filename, max_age=86400)


@fallback_bp.route("/api/v1/", defaults={"_rest": ""}, methods=METHODS)
@fallback_bp.route("/api/v1/<path:_rest>", methods=METHODS)
def no_resource(_rest: str) -> Response:
    """404, or 405 with ``Allow`` when the path exists for other methods."""
    allowed = _allowed_methods(request.path)
    if allowed:
        return problem(405, headers={"Allow": ", ".join(allowed)})
    return problem(404)


def _allowed_methods(path: str) -> list[str]:
    adapter = current_app.url_map.bind("localhost")
    allowed = []
    for method in METHODS:
        try:
            endpoint, _ = adapter.match(path, method=method)
        except HTTPException:
            continue
        if endpoint != "api_fallback.no_resource":
            allowed.append(method)
    return allowed


def init_app(app: Flask) -> None:
    """Serve the docs' assets and the fallback; neither takes cookies or forms."""
    from trace.web import csrf

    app.register_blueprint(assets_bp)
    app.register_blueprint(fallback_bp)
    csrf.exempt(fallback_bp)
