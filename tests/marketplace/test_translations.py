"""Every user-facing marketplace text has a Vietnamese translation, with its placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "trace" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]


def marketplace_msgids() -> set[str]:
    found = extract_from_dir(str(ROOT / "marketplace"), METHODS, keywords={"_": None, "_l": None})
    return {message if isinstance(message, str) else message[0] for _, _, message, *_ in found}


def vietnamese(msgid: str) -> str | None:
    with CATALOG.open("rb") as handle:
        message = read_po(handle).get(msgid)
    return message.string if message is not None and message.string else None


def test_babel_extracts_the_marketplace_package() -> None:
    config = (ROOT / "babel.cfg").read_text()
    assert "[python: marketplace/**.py]" in config
    assert "[jinja2: marketplace/templates/**.html]" in config


def test_every_marketplace_text_has_a_vietnamese_translation_with_its_placeholders() -> None:
    msgids = marketplace_msgids()
    assert {"Enter a whole number.", "Retry", "Sell on %(marketplace)s"} <= msgids
    for msgid in sorted(msgids):
        translated = vietnamese(msgid)
        assert translated, f"no Vietnamese for {msgid!r}"
        assert set(PLACEHOLDER.findall(translated)) == set(PLACEHOLDER.findall(msgid)), msgid
        assert not translated.isascii(), f"{msgid!r}: Vietnamese without diacritics?"
