"""Every user-facing text in the code has a Vietnamese translation with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def extracted() -> dict[str, tuple[str, int]]:
    """msgid -> (file, line) for every message babel.cfg tells pybabel to extract."""
    with open(ROOT / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = {**DEFAULT_KEYWORDS, "_l": None}
    found: dict[str, tuple[str, int]] = {}
    for filename, line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        for msgid in [message] if isinstance(message, str) else message:
            found.setdefault(msgid, (filename, line))
    return found


def catalogue() -> dict[str, str]:
    with open(ROOT / "trace/translations/vi/LC_MESSAGES/messages.po", "rb") as po:
        entries = {}
        for message in read_po(po):
            if not message.id:
                continue
            ids = [message.id] if isinstance(message.id, str) else list(message.id)
            strings = [message.string] if isinstance(message.string, str) else list(message.string)
            for msgid in ids:
                entries[msgid] = strings[0] if strings else ""
        return entries


def test_every_extracted_text_has_vietnamese_with_the_same_placeholders() -> None:
    wanted, vietnamese = extracted(), catalogue()
    assert len(wanted) > 300  # the whole service, not one package
    missing = [
        f"{where}:{line} {msgid!r}"
        for msgid, (where, line) in wanted.items()
        if not vietnamese.get(msgid)
    ]
    assert missing == [], "run `make translations-extract` and translate:\n" + "\n".join(missing)
    for msgid in wanted:
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(
            PLACEHOLDER.findall(vietnamese[msgid])
        ), msgid


def test_the_catalogue_is_vietnamese_not_copied_english() -> None:
    vietnamese = catalogue()
    long_texts = {m: v for m, v in vietnamese.items() if len(m.split()) >= 4 and v}
    copied = [m for m, v in long_texts.items() if v == m]
    assert copied == []
    with_diacritics = [v for v in long_texts.values() if re.search(r"[^\x00-\x7f]", v)]
    assert len(with_diacritics) / len(long_texts) > 0.95
