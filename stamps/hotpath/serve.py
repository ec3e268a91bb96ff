"""The consumer scan's hot path: a WSGI dispatcher in front of Flask for
``GET/HEAD /01/{gtin}/10/{lot}/21/{serial}`` (HTML, JSON, linkset).

It answers an anonymous scan with prebuilt driver-level statements (find the stamp, read
the lot's story version, record the scan), the lot story already cached, and the page
joined from cached pieces (:mod:`stamps.hotpath.page`): no Flask request, no session, no
cookie. Whatever it does not serve itself goes to the full Flask view, unchanged:

- a request carrying cookies other than ``lang`` (a logged-in user, a pending message);
- a malformed path, an unknown stamp or one on the wrong product/lot (NOT_FOUND);
- what the GS1 resolver answers at serial level (:func:`stamps.resolver.routing.dispatch`):
  a linkset, a ``linkType``, a trailing slash;
- a lot whose story neither this worker nor another (:mod:`stamps.story_share`) read for
  its current version and day (reading it afresh re-checks the lot's integrity, which the
  service does), a flagged stamp (its flag notes);
- a scan that shares a place (``?consent=1``), and a new scan the clone rules could flag
  (a VOID stamp, or a count past the product's limit): the service applies the rules.

The scan is written before the answer is built, as the service does, and committed
before it is sent; a scan that falls through to Flask after being written is seen there
as a repeat view (same client, inside the scan window), so it is never counted twice.

With ``SCAN_WRITE_BATCH`` > 1 (production's default) a counted scan is not
written before it is answered but added to the worker's buffer, written with its batch
within ``SCAN_WRITE_DELAY_MS`` (:mod:`stamps.hotpath.scan_buffer` says what a crash
loses); before a scan request goes to Flask, the buffer's scans that the view could read
(the stamp's, or all for a request that is not the hot path's) are written.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote

from flask import Flask
from markupsafe import Markup
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from stamps.caching import LruCache
from stamps.extensions import scan_limiter, scan_statements, story_cache
from stamps.hotpath import consent
from stamps.hotpath.page import (
    PageCache,
    Shape,
    facts_of,
    render_scan_page,
    shape_of,
    story_html,
)
from stamps.hotpath.ratelimit import ScanLimiter
from stamps.hotpath.scan_buffer import ScanBuffer, reserves_ids
from stamps.hotpath.statements import VERSION_COLUMNS, ScanStatements, shared_row
from stamps.identity import (
    MalformedStampPath,
    format_serial,
    parse_stamp_path,
)
from stamps.models import StampStatus
from stamps.recall import recall_notice
from stamps.report import LotStory, StoryCache, _with_proof_link
from stamps.resolver.linkset import LINKSET_TYPE, linkset_url
from stamps.resolver.negotiation import CORS_HEADERS
from stamps.scan_service import Visit, count_prebuilt_scan
from stamps.scanning import client_fingerprint, is_preview
from stamps.verdict import Verdict, judge
from trace.alerts import AlertKind, lot_alerted
from trace.gs1 import dl_uri_unchecked
from trace.models import ProducerStatus
from trace.models.base import utcnow

log = logging.getLogger(__name__)
LINKSET = "application/linkset+json"
#: Set on a request the hot path passes to Flask after counting it against the limit.
COUNTED = "agritrace.scan_limit_counted"
#: Set (seconds to wait) on a request the hot path found over the limit.
LIMITED = "agritrace.scan_limited"
#: Set to the stamp's id on a request the hot path found the stamp of.
STAMP_ID = "agritrace.scan_stamp_id"
#: The row's columns a lot's page shows (with the story and the verdict).
_LOT_FACTS = (
    "lot_code", "harvest_date", "recalled_at", "recall_reason", "recall_origin_lot_id",
    "gtin", "name_vi", "name_en", "producer_name", "producer_status", "commune", "district",
    "province", "plot_id", "plot_name", "latitude", "longitude", "area_ha",
)  # fmt: skip
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class HotScan:
    """The dispatcher: serves what it can, hands the rest to ``app`` (the Flask WSGI app)."""

    def __init__(self, flask_app: Flask, wsgi_app: WSGIApp) -> None:
        config = flask_app.config
        self.flask = flask_app
        self.config = config  # read per request where tests and tools may change it
        self.app = wsgi_app
        self.statements = scan_statements(flask_app)  # shared with the inspector's lean path
        #: Counted scans written in batches (None: each written as it is answered).
        self.buffer = _scan_buffer(config, self.statements, self.statements.durable)
        self.limiter: ScanLimiter = scan_limiter(flask_app)
        self.stories: StoryCache = story_cache(flask_app)
        self.pages = PageCache(config.get("SCAN_PAGE_CACHE_BYTES", 32 * 1024 * 1024))
        self.lot_notes: dict[tuple[Any, ...], Any] = {}
        #: Lots' facts escaped for their pages (:meth:`PageCache.lot_facts`), story included;
        #: weighed with the dict's and each bytes object's own size.
        self.lot_facts: LruCache[tuple[Any, ...], dict[str, bytes]] = LruCache(
            config.get("SCAN_LOT_FACTS_CACHE_BYTES", 8 * 1024 * 1024),
            lambda facts: sys.getsizeof(facts) + sum(map(sys.getsizeof, facts.values())) + 400,
        )
        self.signer = consent.signer(config["SECRET_KEY"])
        self.secret = config["SECRET_KEY"]
        self.window = timedelta(minutes=config["SCAN_WINDOW_MINUTES"])
        self.languages = tuple(config["LANGUAGES"])
        self.default_lang = config["BABEL_DEFAULT_LOCALE"]
        self.headers = _security_headers(config)
        self._kinds: dict[str, str] = {}
        self.answered = 0  # scans this worker answered itself (the rest went to Flask)
        json = flask_app.json
        self._dump_args: dict[str, Any] = (
            {"indent": 2}
            if (json.compact is None and flask_app.debug) or json.compact is False  # type: ignore[attr-defined]
            else {"separators": (",", ":")}
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if not self._eligible(environ):
            path = environ.get("PATH_INFO", "")
            if path.startswith("/01/") and "/21/" in path:  # a consent POST, a signed-in scan
                self._written_before_view(None)
            return self.app(environ, start_response)
        try:
            answer = self.serve(environ)
        except Exception:  # noqa: BLE001 - the full view answers (and reports) instead
            log.exception("scan hot path failed; the full view answers")
            self.statements.discard()
            answer = None
        if answer is None:
            self._written_before_view(environ.get(STAMP_ID, -1))
            return self.app(environ, start_response)
        content_type, body, link = answer
        self.answered += 1
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        start_response("200 OK", [*headers, ("Link", link), *self.headers])
        return [b""] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    def _written_before_view(self, stamp_id: int | None) -> None:
        """Write this worker's unwritten scans of ``stamp_id`` (of any stamp, for None):
        the full view about to answer reads them from the database."""
        if self.buffer is not None and self.buffer.holds(stamp_id):
            self.buffer.flush()

    def _eligible(self, environ: Mapping[str, Any]) -> bool:
        if environ["REQUEST_METHOD"] not in ("GET", "HEAD"):
            return False
        path: str = environ.get("PATH_INFO", "")
        if not path.startswith("/01/") or "/21/" not in path or path.endswith("/"):
            return False
        cookie = environ.get("HTTP_COOKIE")
        if cookie and any(not c.strip().startswith("lang=") for c in cookie.split(";")):
            return False  # a session (logged in, a message to show): the full view
        query: str = environ.get("QUERY_STRING", "")
        return not any(word in query for word in ("consent", "linkType", "%00"))

    def serve(self, environ: dict[str, Any]) -> tuple[str, bytes, str] | None:
        """The answer (content type, body, Link header), or None: the full view answers."""
        try:
            key = parse_stamp_path(_raw_path(environ))
        except MalformedStampPath:
            return None
        client = environ.get("REMOTE_ADDR") or ""
        wait = self.limiter.hit(f"scan/{client}")
        environ[COUNTED] = True
        if wait is not None:
            environ[LIMITED] = wait
            return None
        kind = self._kind(environ.get("HTTP_ACCEPT", ""))
        if kind == "linkset":
            return None  # the GS1 resolver's (stamps.resolver)
        query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
        lang = self._lang(query, environ.get("HTTP_COOKIE"))
        conn = self.statements.connection()
        try:
            found = self._scan(conn, key, environ, client)
        except BaseException:
            conn.rollback()
            raise
        # Ends the reads' transaction (SQLite; on PostgreSQL each statement was its own): a
        # counted scan was committed already and a declined one wrote nothing. Not a
        # rollback: psycopg forgets its prepared statements on each rollback, and the find
        # statement then costs ~2.5 ms of planning per scan.
        conn.commit()
        if found is None:
            return None
        report, story, scan_id, lot_key = found
        link = _link(report["uri"])
        if kind == "json":
            return "application/json", self._json(report) + b"\n", link
        page = self._page(environ, report, story, lot_key, lang, scan_id)
        return "text/html; charset=utf-8", page, link

    def _scan(
        self, conn: Any, key: Any, environ: dict[str, Any], client: str
    ) -> tuple[dict[str, Any], LotStory, int | None, tuple[Any, ...]] | None:
        st = self.statements
        cursor = st.cursor()
        agent = environ.get("HTTP_USER_AGENT", "")
        visit = None
        if not is_preview(environ["REQUEST_METHOD"], agent):
            visit = Visit(client_fingerprint(self.secret, client), agent)
        now = utcnow()
        values = {
            "serial": key.serial,
            "client": visit.client_hash if visit else "",
            "since": now - self.window,
        }
        epoch = self.buffer.epoch if self.buffer is not None else 0  # before the read
        row = st.one(cursor, st.find, values)
        if row is None:
            return None
        r = dict(zip(st.find.names, row, strict=True))  # type: ignore[arg-type]
        environ[STAMP_ID] = r["stamp_id"]
        if r["gtin"] != key.gtin or r["lot_code"] != key.lot:
            return None
        if r["flagged"]:
            return None  # the page explains each flag: the service reads them
        today = date.today()
        version = tuple(r[name] for name in VERSION_COLUMNS)
        story_key = (r["lot_id"], r["producer_id"], version, today)
        shared = shared_row(r)
        story = self.stories.find(story_key, lambda: shared)
        if story is None:
            return None
        scan_id = None
        if visit is None and self.buffer is not None:  # a preview counts nothing
            if self.buffer.show(r, epoch) is None:
                return None
        elif visit is not None:  # counted with the service's rules (it commits)
            buffer, since = self.buffer, values["since"]
            scan_id = count_prebuilt_scan(st, conn, cursor, r, visit, now, buffer, since, epoch)
            if scan_id is None:
                return None
        verdict = judge(
            recalled=r["status"] == StampStatus.RECALLED or r["recalled_at"] is not None,
            tampered=r["tampered_at"] is not None,
            void=r["status"] == StampStatus.VOID,
            producer_suspended=r["producer_status"] == ProducerStatus.SUSPENDED,
        )
        # The page's pieces hold the lot's facts: any change to them is another key.
        lot_key = (story_key, verdict, self._alerted(r), *(r[name] for name in _LOT_FACTS))
        return self._report(r, story, verdict), story, scan_id, lot_key

    def _report(self, r: Mapping[str, Any], story: LotStory, verdict: Verdict) -> dict[str, Any]:
        """What :func:`stamps.report.scan_report` says, from the row and the cached story."""
        serial, base = r["serial"], self.config["PUBLIC_BASE_URL"]
        return {
            "verdict": str(verdict),
            # The path's GTIN, lot and serial (checked by parse_stamp_path; the row's equal).
            "uri": dl_uri_unchecked(
                base, [("01", r["gtin"]), ("10", r["lot_code"]), ("21", serial)]
            ),
            "serial": serial,
            "serial_display": format_serial(serial),
            "status": r["status"],
            "product": {"gtin": r["gtin"], "name_vi": r["name_vi"], "name_en": r["name_en"]},
            "producer": {
                "name": r["producer_name"],
                "status": r["producer_status"],
                "commune": r["commune"],
                "district": r["district"],
                "province": r["province"],
            },
            "lot": {
                "code": r["lot_code"],
                "harvest_date": r["harvest_date"].isoformat(),
                "recalled_at": r["recalled_at"].isoformat() if r["recalled_at"] else None,
                "recall": self._recall(r),
            },
            "plot": None
            if r["plot_id"] is None
            else {
                "name": r["plot_name"],
                "latitude": r["latitude"],
                "longitude": r["longitude"],
                "area_ha": r["area_ha"],
            },
            "certifications": story.certifications,
            "events": story.events,
            "anchoring": _with_proof_link(
                {"status": "tampered", "since": r["tampered_at"].isoformat()}
                if r["tampered_at"]
                else story.anchoring,
                base,
                serial,
            ),
            "scans": {
                "count": r["scan_count"],
                "first_at": r["first_scan_at"].isoformat() if r["first_scan_at"] else None,
                "first_province": r["first_scan_province"],
            },
            "flags": [],
        }

    def _recall(self, r: Mapping[str, Any]) -> Any:
        """The lot's recall notice, read through the service once per recall."""
        if r["recalled_at"] is None:
            return None
        key = ("recall", r["lot_id"], r["recalled_at"], r["recall_reason"])
        return self._once(key, lambda session, lot: recall_notice(session, lot))

    def _alerted(self, r: Mapping[str, Any]) -> bool:
        """Whether inspectors were alerted of the lot's tampering (asked once per tampering)."""
        if r["tampered_at"] is None:
            return False
        key = ("alerted", r["lot_id"], r["tampered_at"])
        kind = AlertKind.TAMPER_DETECTED
        return bool(self._once(key, lambda session, lot: lot_alerted(session, lot.id, kind)))

    def _once(self, key: tuple[Any, ...], read: Callable[[Any, Any], Any]) -> Any:
        """What ``read(session, lot)`` says, kept per ``key`` (rare lots: recalled, tampered).

        An alert recorded after the tampering was first seen is shown once the worker's
        memory of it is cleared (at 4,096 entries); a recall changes the key.
        """
        if key not in self.lot_notes:
            from sqlmodel import Session

            from trace.models import Lot

            if len(self.lot_notes) > 4096:
                self.lot_notes.clear()
            with Session(self.statements.engine) as session:
                lot = session.get(Lot, key[1])
                self.lot_notes[key] = read(session, lot)
        return self.lot_notes[key]

    def _json(self, report: Mapping[str, Any]) -> bytes:
        return self.flask.json.dumps(report, **self._dump_args).encode()

    def _page(
        self,
        environ: Mapping[str, Any],
        report: dict[str, Any],
        story: LotStory,
        lot_key: tuple[Any, ...],
        lang: str,
        scan_id: int | None,
    ) -> bytes:
        token = None if scan_id is None else consent.issue(self.signer, scan_id, report["serial"])
        facts = facts_of(report, token, _full_path(environ))
        shape = shape_of(report, token is not None)
        alerted = lot_key[2]
        render = self._renderer(story, lang, shape, alerted)
        layout = self.pages.layout_key(report, alerted)
        base = self.config["PUBLIC_BASE_URL"]
        lot_page = (lang, base, *lot_key)
        if layout is None:  # the lot's own page
            return self.pages.page(lot_page, shape, render, report, facts)
        lot_facts = self.lot_facts.get(lot_page)
        if lot_facts is None:  # escaped once per lot, language and version of its facts
            lot_facts = self.pages.lot_facts(report, str(story_html(self.flask, story, lang)))
            self.lot_facts.put(lot_page, lot_facts)
        return self.pages.page((lang, base, *layout), shape, render, report, facts, lot_facts)

    def _renderer(
        self, story: LotStory, lang: str, shape: Shape, alerted: bool
    ) -> Callable[[Mapping[str, Any], str, str, str | None], str]:
        def render(
            report: Mapping[str, Any], token_mark: str, path_mark: str, story_mark: str | None
        ) -> str:
            from stamps.web.scan import LocationForm

            shown = (
                story if story_mark is None else LotStory([], [], {}, {lang: Markup(story_mark)})
            )
            with self.flask.test_request_context(
                "/" + path_mark, headers={"Cookie": f"lang={lang}"}
            ):
                form = LocationForm(token=token_mark) if shape.form else None
                return render_scan_page(report, shown, lang, form, [], alerted)

        return render

    def _kind(self, accept: str) -> str:
        kind = self._kinds.get(accept)
        if kind is None:
            kind = representation(parse_accept_header(accept, MIMEAccept))
            if len(self._kinds) < 256:
                self._kinds[accept] = kind
        return kind

    def _lang(self, query: Mapping[str, str], cookie: str | None) -> str:
        if query.get("lang") in self.languages:
            return query["lang"]
        for part in (cookie or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == "lang" and value in self.languages:
                return value
        return self.default_lang


def _scan_buffer(
    config: Mapping[str, Any], statements: ScanStatements, durable: bool
) -> ScanBuffer | None:
    """The worker's buffer of counted scans, with ``SCAN_WRITE_BATCH`` > 1 on PostgreSQL or
    a SQLite file migrated to 0021 (not an in-memory database: one connection's own)."""
    batch = int(config.get("SCAN_WRITE_BATCH", 0))
    lock = statements.write_lock
    if batch <= 1 or not (statements.autocommit or lock is not None):
        return None
    if not reserves_ids(statements.engine):
        log.warning("scans are written one at a time until `flask migrate` runs (0021)")
        return None
    delay = float(config.get("SCAN_WRITE_DELAY_MS", 20)) / 1000
    return ScanBuffer(statements.engine, batch, delay, durable, lock)


def representation(accept: MIMEAccept) -> str:
    """``html``, ``json`` or ``linkset`` (both paths of the scan page decide by this)."""
    best = accept.best_match([LINKSET, "application/json", "text/html"], default="text/html")
    if best == LINKSET and accept[LINKSET] > accept["text/html"]:
        return "linkset"
    if best == "application/json" and accept["application/json"] > accept["text/html"]:
        return "json"
    return "html"


def _full_path(environ: Mapping[str, Any]) -> str:
    """``request.full_path`` without the trailing ``?`` (the template's ``current_path``)."""
    path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
    query = environ.get("QUERY_STRING", "").encode("latin-1").decode("utf-8", "replace")
    return f"/{path.lstrip('/')}?{query}".rstrip("?")


def _raw_path(environ: Mapping[str, Any]) -> str:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not raw:
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        raw = quote(path)
    return str(raw).split("?", 1)[0]


def _link(anchor: str) -> str:
    """The ``Link`` header the resolver offers on a stamp's answers (stamps.resolver._cors),
    for the stamp's Digital Link URI ``anchor``."""
    return (
        f'<{linkset_url(anchor)}>; rel="linkset"; type="{LINKSET_TYPE}", '
        f'<{anchor}>; rel="https://gs1.org/voc/defaultLink"'
    )


def _security_headers(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The headers every answer carries (trace.web.security) and the resolver's CORS ones."""
    from trace.web.security import HEADERS, HSTS

    # Vary: the answer reads the language cookie, and a session cookie gets the full view's.
    headers = {**CORS_HEADERS, "Vary": "Accept, Accept-Language, Cookie", **HEADERS}
    if config["AGRITRACE_ENV"] == "production":
        headers["Strict-Transport-Security"] = HSTS
    return list(headers.items())
