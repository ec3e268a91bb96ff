"""The stamps package's page blueprints: the public scan pages and the farmers' stamp pages."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint

#: ``stamps/templates``: the blueprints' modules live one folder below it.
_ROOT = str(Path(__file__).resolve().parent.parent)

scan_bp = Blueprint("scan", __name__, root_path=_ROOT, template_folder="templates")
manage_bp = Blueprint("stamps", __name__, root_path=_ROOT, template_folder="templates")
