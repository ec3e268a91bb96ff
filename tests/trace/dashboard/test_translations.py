"""Every text the dashboard and open-data pages show has a Vietnamese translation."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[3]
CODE = [
    *ROOT.glob("trace/dashboard/**/*.py"),
    *ROOT.glob("trace/opendata/**/*.py"),
    ROOT / "stamps/dashboard.py",
    ROOT / "marketplace/dashboard.py",
]
TEMPLATES = [
    *ROOT.glob("trace/templates/dashboard/*.html"),
    *ROOT.glob("trace/templates/opendata/*.html"),
    ROOT / "trace/templates/base.html",  # the navigation link
]


def msgids() -> set[str]:
    keywords = {**DEFAULT_KEYWORDS, "_l": None}
    found = set()
    for path in CODE:
        found |= {m for _, m, _, _ in extract_from_file("python", str(path), keywords=keywords)}
    for path in TEMPLATES:
        found |= {m for _, m, _, _ in extract_from_file("jinja2", str(path))}
    return found


def test_every_msgid_has_natural_vietnamese_with_the_same_placeholders() -> None:
    with open(ROOT / "trace/translations/vi/LC_MESSAGES/messages.po", "rb") as po:
        catalogue = {m.id: m.string for m in read_po(po) if m.id and m.string}
    wanted = msgids()
    assert len(wanted) > 50
    missing = [m for m in wanted if m not in catalogue]
    assert missing == []
    for msgid in wanted:
        vietnamese = catalogue[msgid]
        assert re.findall(r"%\(\w+\)s", msgid) == re.findall(r"%\(\w+\)s", vietnamese)
