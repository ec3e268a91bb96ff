"""The scan page from cached pieces: a page is rendered once through the full template
with markers where a stamp's own facts go (serial, scan count, consent token, path), then
served by joining the pieces with those facts.

Most pages are cut once per *layout* (language, verdict, anchoring state, whether a plot
and the consent form show, the shape of the scan line) with the lot's facts marked too
(product, producer, lot, plot, anchor, and the story fragment rendered once per lot and
language): a lot this worker has not shown yet costs a few escaped strings, not a full
render. A recalled lot's page (its recall notice) is cut per lot, as before.

:func:`render_scan_page` is the full render (the Flask view's, and the tests' reference);
the cached pieces come from it, so both paths show the same page.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, render_template
from markupsafe import Markup, escape
from werkzeug.urls import _urlencode

from stamps.caching import LruCache
from stamps.report import LotStory
from stamps.verdict import TEXTS, Verdict

#: Rendering the plural form "%(num)d scans" with this count marks where the count goes.
_COUNT_MARK = 987_654_321
#: A plot's coordinates, as ``"%.4f"|format`` shows these, mark where the lot's go.
_LATITUDE_MARK, _LONGITUDE_MARK = 987_651.25, 987_652.25
#: The lot's facts a layout's pieces leave out (:meth:`PageCache.lot_facts` fills them).
_LOT_FIELDS = (
    "product_vi", "product_en", "producer", "commune", "district", "producer_province",
    "lot", "harvest_date", "gtin", "plot", "block", "transaction", "time", "story",
)  # fmt: skip


def render_scan_page(
    report: Mapping[str, Any],
    story: LotStory,
    lang: str,
    form: Any,
    flag_notes: list[Any],
    alerted: bool,
) -> str:
    """The scan page through the full template (needs a request context)."""
    from stamps.web import province_options

    story_html = story.fragment(lang, lambda: render_story(report))
    return render_template(
        "stamps/scan.html",
        r=report,
        says=TEXTS[Verdict(report["verdict"])],
        form=form,
        province_options=province_options(),
        story_html=story_html,
        flag_notes=flag_notes,
        alerted=alerted,
    )


def render_story(report: Mapping[str, Any]) -> str:
    """The lot's certifications and journey (needs a request context)."""
    return render_template("stamps/_story.html", r=report)


def story_html(app: Flask, story: LotStory, lang: str) -> Markup:
    """The lot's story rendered in ``lang``, once per story and language (needs the app
    only: the fragment shows the story and nothing of the request but its language)."""
    html = story.fragments.get(lang)
    if html is None:
        report = {"certifications": story.certifications, "events": story.events}
        # A context of its own, app context included: Flask-Babel keeps the language on
        # ``g``, which a request being served (another language, maybe) would lend.
        with app.app_context(), app.test_request_context("/", headers={"Cookie": f"lang={lang}"}):
            html = story.fragment(lang, lambda: render_story(report))
    return html


class StoryRenderer:
    """Renders a lot story's HTML in every language the app speaks, for the shared row
    (:mod:`stamps.story_share`), and names the rendering: :attr:`signature` hashes what a
    probe story with every certification scheme and standing and every event kind renders
    to, so a deploy that changes the template, its translations or labels renders shared
    stories again instead of showing what the old code rendered."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._signature: str | None = None

    def fragments(self, story: LotStory) -> dict[str, str]:
        """The story's HTML by language (kept in ``story.fragments`` too)."""
        languages = self.app.config["LANGUAGES"]
        return {lang: str(story_html(self.app, story, lang)) for lang in languages}

    @property
    def signature(self) -> str:
        if self._signature is None:
            rendered = json.dumps(self.fragments(_probe_story()), sort_keys=True)
            self._signature = hashlib.sha256(rendered.encode()).hexdigest()[:32]
        return self._signature


def story_renderer(app: Flask) -> StoryRenderer:
    """The app's :class:`StoryRenderer` (``stamps.init_app`` gives it to the shared stories)."""
    return StoryRenderer(app)


def _probe_story() -> LotStory:
    """A story that shows every branch of ``stamps/_story.html`` with every label."""
    from trace.web.forms import EVENT_LABELS

    certifications = [
        {
            "scheme": scheme,
            "ocop_stars": 4 if scheme == "ocop" else None,
            "number": "N-1",
            "issuer": "Issuer <&>",
            "valid_to": "2027-01-31",
            "status": "valid",
            "standing": standing,
            "verified_by": who,
            "verifier_role": role,
            "verified_at": "2026-01-02T03:04:05" if standing == "verified" else None,
            "producer_wide": wide,
        }
        for scheme in ("vietgap", "globalgap", "organic", "ocop")
        for standing, who, role, wide in (
            ("verified", None, "admin", True),
            ("verified", None, "inspector", False),
            ("verified", "Ann", "inspector", False),
            ("declared", None, None, False),
            ("expired", None, None, False),
        )
    ]
    events = [
        {
            "kind": str(kind),
            "time": "2026-01-02T03:04:05+07:00",
            "place": "Place <&>",
            "details": details,
        }
        for kind in EVENT_LABELS
        for details in (
            {},
            {"captured_by_role": "admin"},
            {"captured_by_role": "inspector"},
            {"captured_by_role": "inspector", "captured_by": "Bob"},
        )
    ]
    return LotStory(certifications, events, {})


@dataclass(frozen=True)
class Shape:
    """What of a stamp's facts changes the page's markup (not only its text)."""

    scanned: bool  # the "first verified" line is shown
    province: bool  # ... and names a province
    one: bool  # ... with exactly one scan (singular)
    form: bool  # the consent form is shown (a counted scan, not a preview)


class Pieces:
    """A page cut at its markers: literal bytes and the names of the facts between them."""

    def __init__(self, html: str, marks: Mapping[str, str]) -> None:
        by_mark = {mark: name for name, mark in marks.items()}
        pattern = re.compile("|".join(re.escape(m) for m in by_mark))
        self.parts: list[bytes | str] = []
        at = 0
        for found in pattern.finditer(html):
            self.parts.append(html[at : found.start()].encode())
            self.parts.append(by_mark[found.group()])
            at = found.end()
        self.parts.append(html[at:].encode())
        self.size = sum(len(p) for p in self.parts if isinstance(p, bytes))

    def join(self, facts: Mapping[str, bytes]) -> bytes:
        """The page with each marker replaced by its fact (already escaped)."""
        return b"".join(p if isinstance(p, bytes) else facts[p] for p in self.parts)


class PageCache:
    """Cut pages by lot story, lot facts, language, verdict and shape; least used forgotten."""

    def __init__(self, budget_bytes: int) -> None:
        self._cache: LruCache[tuple[Any, ...], Pieces] = LruCache(
            budget_bytes, lambda pieces: pieces.size
        )
        tag = secrets.token_hex(4)
        self.marks = {
            "serial": f"hxs{tag}s",
            "serial_display": f"hxd{tag}d",
            "province": f"hxp{tag}p",
            "token": f"hxt{tag}t",
            "path": f"hxq{tag}q",
            "date": f"d{tag}d"[:10].ljust(10, "x"),
        }
        self.lot_marks = {name: f"hx{n:02d}{tag}l" for n, name in enumerate(_LOT_FIELDS)}
        self.lot_marks["latitude"] = _coordinate(_LATITUDE_MARK)
        self.lot_marks["longitude"] = _coordinate(_LONGITUDE_MARK)

    def clear(self) -> None:
        """Forget every cut page."""
        self._cache.clear()

    def page(
        self,
        key: tuple[Any, ...],
        shape: Shape,
        render: Callable[[Mapping[str, Any], str, str, str | None], str],
        report: Mapping[str, Any],
        facts: Mapping[str, bytes],
        lot_facts: Mapping[str, bytes] | None = None,
    ) -> bytes:
        """The page for ``report`` from the pieces cached under ``key``; rendered on a miss.

        :param render: renders a marked report with the token and path marks, and the
            story's mark or None (the story itself), in a request context
            (``stamps.hotpath.serve`` passes one that pushes a context of its own).
        :param lot_facts: the lot's facts (:meth:`lot_facts`) when ``key`` is a layout's
            (:meth:`layout_key`): the pieces leave them out.
        """
        full_key = (*key, shape)
        pieces = self._cache.get(full_key)
        if pieces is None:
            marks = self.marks
            if lot_facts is None:
                html = render(self.marked(report, shape), marks["token"], marks["path"], None)
            else:
                marked = self.lot_marked(report, shape)
                html = render(marked, marks["token"], marks["path"], self.lot_marks["story"])
            pieces = Pieces(html, self._present(html))
            self._cache.put(full_key, pieces)
        return pieces.join(facts if lot_facts is None else {**facts, **lot_facts})

    def layout_key(self, report: Mapping[str, Any], alerted: bool) -> tuple[Any, ...] | None:
        """What of a lot changes its page's markup, or None: the page is the lot's own
        (a recall notice)."""
        if report["verdict"] == "RECALLED" or report["lot"]["recall"] is not None:
            return None
        return (
            "layout",
            report["verdict"],
            report["anchoring"]["status"],
            report["plot"] is None,
            alerted,
        )

    def lot_marked(self, report: Mapping[str, Any], shape: Shape) -> dict[str, Any]:
        """:meth:`marked`, with markers in place of the lot's facts too (the story's is
        ``lot_marks["story"]``, which the renderer shows in place of the story)."""
        marks, marked = self.lot_marks, self.marked(report, shape)
        anchoring = dict(marked["anchoring"])
        for name in ("block", "transaction", "time"):
            if name in anchoring:
                anchoring[name] = marks[name]
        plot = None
        if report["plot"] is not None:
            plot = {"name": marks["plot"], "latitude": _LATITUDE_MARK, "longitude": _LONGITUDE_MARK}
        return {
            **marked,
            "product": {
                "gtin": marks["gtin"],
                "name_vi": marks["product_vi"],
                "name_en": marks["product_en"],
            },
            "producer": {
                "name": marks["producer"],
                "status": report["producer"]["status"],
                "commune": marks["commune"],
                "district": marks["district"],
                "province": marks["producer_province"],
            },
            "lot": {**report["lot"], "code": marks["lot"], "harvest_date": marks["harvest_date"]},
            "plot": plot,
            "anchoring": anchoring,
        }

    def lot_facts(self, report: Mapping[str, Any], story_html: str) -> dict[str, bytes]:
        """The lot's facts, escaped as the template would, by marker name."""
        product, producer, plot = report["product"], report["producer"], report["plot"]
        anchoring = report["anchoring"]
        facts = {
            "product_vi": _html(product["name_vi"]),
            "product_en": _html(product["name_en"]),
            "gtin": _html(product["gtin"]),
            "producer": _html(producer["name"]),
            "commune": _html(producer["commune"]),
            "district": _html(producer["district"]),
            "producer_province": _html(producer["province"]),
            "lot": _html(report["lot"]["code"]),
            "harvest_date": _html(report["lot"]["harvest_date"]),
            "block": _html(anchoring.get("block")),
            "transaction": _html(anchoring.get("transaction")),
            "time": _html(anchoring.get("time")),
            "story": story_html.encode(),
        }
        if plot is not None:
            facts["plot"] = _html(plot["name"])
            facts["latitude"] = _coordinate(plot["latitude"]).encode()
            facts["longitude"] = _coordinate(plot["longitude"]).encode()
        return facts

    def marked(self, report: Mapping[str, Any], shape: Shape) -> dict[str, Any]:
        """A copy of ``report`` with markers in place of the stamp's own facts."""
        marks = self.marks
        serial = report["serial"]
        anchoring = dict(report["anchoring"])
        if "proof" in anchoring:
            anchoring["proof"] = anchoring["proof"].replace(serial, marks["serial"])
        scans: dict[str, Any] = {"count": 0, "first_at": None, "first_province": None}
        if shape.scanned:
            scans = {
                "count": 1 if shape.one else _COUNT_MARK,
                "first_at": marks["date"],
                "first_province": marks["province"] if shape.province else None,
            }
        return {
            **report,
            "serial": marks["serial"],
            "uri": report["uri"].replace(serial, marks["serial"]),
            "serial_display": marks["serial_display"],
            "anchoring": anchoring,
            "scans": scans,
        }

    def _present(self, html: str) -> dict[str, str]:
        every = {**self.marks, **self.lot_marks}
        marks = {name: mark for name, mark in every.items() if mark in html}
        if str(_COUNT_MARK) in html:
            marks["count"] = str(_COUNT_MARK)
        return marks


def facts_of(report: Mapping[str, Any], token: str | None, full_path: str) -> dict[str, bytes]:
    """The stamp's own facts, escaped as the template would, by marker name."""
    scans = report["scans"]
    return {
        "serial": _html(report["serial"]),
        "serial_display": _html(report["serial_display"]),
        "date": _html((scans["first_at"] or "")[:10]),
        "province": _html(scans["first_province"] or ""),
        "count": str(int(scans["count"])).encode(),
        "token": _html(token or ""),
        # The marked page was rendered at "/<mark>": its slash is already in the pieces.
        "path": _html(_urlencode({"next": full_path})[len("next=/") :]),
    }


def shape_of(report: Mapping[str, Any], has_form: bool) -> Shape:
    scans = report["scans"]
    return Shape(
        scanned=bool(scans["first_at"]),
        province=bool(scans["first_province"]),
        one=scans["count"] == 1,
        form=has_form,
    )


def _coordinate(value: float) -> str:
    """What the template's ``"%.4f"|format(value)`` gives."""
    return f"{value:.4f}"


def _html(value: Any) -> bytes:
    """``value`` as Jinja prints it (None as ``None``), escaped."""
    return str(escape(str(value))).encode()


__all__ = [
    "PageCache",
    "Pieces",
    "Shape",
    "facts_of",
    "render_scan_page",
    "render_story",
    "shape_of",
    "story_html",
    "story_renderer",
]
