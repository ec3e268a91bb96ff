"""Stamp pages, by concern: the consumer scan (:mod:`~stamps.web.scan`), the farmers' stamp
runs (:mod:`~stamps.web.manage`) and their downloads (:mod:`~stamps.web.downloads`).

Importing this package registers every view on its blueprint (endpoint names ``scan.*``
and ``stamps.*``).
"""

from __future__ import annotations

from stamps.web import downloads, manage, scan
from stamps.web.blueprints import manage_bp, scan_bp
from stamps.web.scan import LocationForm, province_options

__all__ = [
    "LocationForm",
    "downloads",
    "manage",
    "manage_bp",
    "province_options",
    "scan",
    "scan_bp",
]
