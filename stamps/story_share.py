"""Lot stories shared between workers: the story a worker read afresh (and checked the
lot's integrity for) kept in ``verified_lot_stories``, so other workers take it instead
of reading and re-checking the same version.

A worker's own cache (:class:`stamps.report.StoryCache`) keeps a story until its version
or day changes; this table extends that to every worker: a lot is re-hashed once per
story version and day by the whole deployment, as it was by each worker before. Only a
story read while its lot was found intact (or had no document yet) is shared. Each row
carries an HMAC under the app's secret over the lot, producer, version, day and story: a
row changed in the database no longer matches and the story is read (and checked) afresh.

The integrity sweep shares too (:func:`share_swept_story`, on
:func:`trace.extensions.lot_verified`): every lot it finds intact gets the day's row, so
after the sweep that follows midnight (``trace.anchoring.jobs``) no scan pays the check.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from flask import current_app, has_app_context
from markupsafe import Markup
from sqlalchemy import Engine, bindparam, delete, select

from stamps.models import VerifiedStory
from trace.db import conflict_insert
from trace.models.base import utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from sqlmodel import Session as ModelSession

    from stamps.hotpath.page import StoryRenderer
    from stamps.report import LotStory

_TABLE = VerifiedStory.__table__  # type: ignore[attr-defined]
#: Integrity statuses whose story may be shared: the lot's data gives its recorded
#: document, or it has none yet (nothing to compare). A tampered or changing lot is
#: checked again by every worker, as before.
SHAREABLE = frozenset({"intact", "unrecorded"})
#: The shared row of a lot (one primary-key look-up).
READ = select(
    _TABLE.c.producer_id, _TABLE.c.version, _TABLE.c.day, _TABLE.c.story, _TABLE.c.mac
).where(_TABLE.c.lot_id == bindparam("lot"))


class SharedStories:
    """Reads and writes the shared stories of one app (its secret and engine).

    With a ``renderer`` (:class:`stamps.hotpath.page.StoryRenderer`), a shared row carries
    the story's HTML in every language too, so a worker showing a lot it has not shown
    yet renders nothing; the HTML is taken only when it was rendered the way this worker
    renders (the renderer's signature), else rendered again here.
    """

    def __init__(self, secret: str, engine: Engine, renderer: StoryRenderer | None = None) -> None:
        self._key = hashlib.sha256(b"agritrace.verified-lot-story:" + secret.encode()).digest()
        self.engine = engine
        self.renderer = renderer

    def story(self, row: Sequence[Any] | None, key: tuple[Any, ...]) -> LotStory | None:
        """The story a :data:`READ` row holds for ``key`` (lot, producer, version, day), or
        None: no row, another producer, version or day, or a row that fails its HMAC."""
        from stamps.report import LotStory

        if row is None:
            return None
        producer_id, version, day, story, mac = row
        lot_id, expected_producer, expected_version, today = key
        if producer_id != expected_producer or day != today:
            return None
        if version != version_text(expected_version):
            return None
        if not hmac.compare_digest(mac, self._mac(lot_id, producer_id, version, day, story)):
            return None
        fields = json.loads(story)
        fragments = {}
        if self.renderer is not None and fields.get("rendered_with") == self.renderer.signature:
            fragments = {lang: Markup(html) for lang, html in fields["fragments"].items()}
        return LotStory(fields["certifications"], fields["events"], fields["anchoring"], fragments)

    def save(self, session: Session, key: tuple[Any, ...], story: LotStory) -> None:
        """Keep ``story`` as the lot's shared story (in ``session``'s transaction)."""
        lot_id, producer_id, version, day = key
        fields: dict[str, Any] = {
            "certifications": story.certifications,
            "events": story.events,
            "anchoring": story.anchoring,
        }
        if self.renderer is not None:
            fields["fragments"] = self.renderer.fragments(story)
            fields["rendered_with"] = self.renderer.signature
        text = json.dumps(
            fields,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        row = {
            "lot_id": lot_id,
            "producer_id": producer_id,
            "version": version_text(version),
            "day": day,
            "story": text,
            "checked_at": utcnow(),
        }
        row["mac"] = self._mac(lot_id, producer_id, row["version"], day, text)
        insert = conflict_insert(session, _TABLE)
        upsert = insert.on_conflict_do_update(
            index_elements=[_TABLE.c.lot_id],
            set_={name: insert.excluded[name] for name in _SHARED_COLUMNS},
        )
        session.execute(upsert, row)

    def forget_all(self) -> None:
        """Drop every shared story (the next read of each lot is fresh, and checked)."""
        with self.engine.begin() as conn:
            conn.execute(delete(_TABLE))

    def _mac(self, lot_id: int, producer_id: int, version: str, day: date, story: str) -> str:
        message = f"{lot_id}|{producer_id}|{version}|{day.isoformat()}|{story}".encode()
        # One call into OpenSSL (hmac.new builds two hash objects in Python first).
        return hmac.digest(self._key, message, "sha256").hex()


def share_swept_story(session: ModelSession, /, *, lot_id: int) -> bool:
    """Share today's story of a lot the integrity sweep just found intact (the current
    app's shared stories; nothing without an app or with sharing off).

    :returns: whether a row was written in ``session``'s transaction.
    """
    from stamps.extensions import story_cache
    from stamps.report import share_checked_story

    if not has_app_context():
        return False
    shared = story_cache(current_app).shared
    if shared is None:
        return False
    # The day as the scans key it (stamps.hotpath.serve, stamps.scan_service).
    return share_checked_story(session, lot_id, date.today(), shared)


def version_text(version: Sequence[Any]) -> str:
    """A story version (:data:`stamps.report._STORY_VERSION`'s row) as stored text."""
    if all(type(v) is int for v in version):  # the counters (0022): json.dumps' text, faster
        return "[" + ", ".join(f'"{v}"' for v in version) + "]"
    return json.dumps([None if v is None else str(v) for v in version])


#: What a newer share of a lot replaces in its row.
_SHARED_COLUMNS = ("producer_id", "version", "day", "story", "mac", "checked_at")
