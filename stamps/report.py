"""The scan report: everything a consumer or client sees for a scanned stamp, as plain data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from markupsafe import Markup
from sqlalchemy import bindparam
from sqlalchemy import select as select_columns
from sqlmodel import Session, col

from stamps import story_share
from stamps.caching import LruCache
from stamps.identity import format_serial, stamp_uri
from stamps.recall import recall_notice
from stamps.scanning import StampFacts, flags_of
from stamps.verdict import Verdict, verdict_of
from trace.anchoring import check_integrity
from trace.models import AnchorRound, Lot, LotDocument, Producer, RoundStatus
from trace.services import events as event_service
from trace.services.captured_events import CapturedEntry
from trace.services.certifications import CoveredCertification, covering_product

if TYPE_CHECKING:
    from stamps.story_share import SharedStories


#: A lot's story version: what its story (events, EPCIS events, anchoring; its producer's
#: certifications) was read at. Database triggers raise the lot's counter whenever one of
#: those rows changes and the producer's whenever a certification does (migration 0022), in
#: the same transaction: the two counters change whenever the story does, and reading them
#: costs nothing beyond the lot and producer rows a scan reads anyway.
STORY_VERSION = (col(Lot.story_version), col(Producer.story_version))
#: :data:`STORY_VERSION` of one lot.
_STORY_VERSION = (
    select_columns(*STORY_VERSION)
    .join(Producer, col(Producer.id) == Lot.producer_id)
    .where(col(Lot.id) == bindparam("lot"), col(Producer.id) == bindparam("producer"))
)


@dataclass(frozen=True)
class LotStory:
    """What a scan shows of a lot beyond the stamp itself; shared between requests, read-only.

    ``fragments`` holds the story's rendered HTML, per language, once a page has asked.
    """

    certifications: list[dict[str, Any]]
    events: list[dict[str, Any]]
    anchoring: dict[str, Any]
    fragments: dict[str, Markup] = field(default_factory=dict)

    def fragment(self, lang: str, render: Callable[[], str]) -> Markup:
        """The story rendered in ``lang``, rendering it the first time only."""
        html = self.fragments.get(lang)
        if html is None:
            html = self.fragments[lang] = Markup(render())
        return html


class StoryCache(LruCache[tuple[Any, ...], LotStory]):
    """The newest lot stories, keyed by lot, story version and day (certificates expire).

    ``shared``, when set (``stamps.hotpath.init_app``), keeps the stories read afresh for
    the other workers (:mod:`stamps.story_share`); :meth:`clear` forgets those too.
    """

    def __init__(self, size: int = 8192, shared: SharedStories | None = None) -> None:
        super().__init__(size)
        self.shared = shared

    def find(self, key: tuple[Any, ...], read_shared: Callable[[], Any]) -> LotStory | None:
        """The story for ``key`` from this worker's memory, else from the shared row that
        ``read_shared()`` reads (:data:`stamps.story_share.READ`: the row is read only on
        a miss here), kept in memory too; None: neither holds it (read it afresh)."""
        story = self.get(key)
        if story is None and self.shared is not None:
            story = self.shared.story(read_shared(), key)
            if story is not None:
                self.put(key, story)
        return story

    def clear(self, shared: bool = True) -> None:
        """Forget every story: this worker's, and the shared ones unless ``shared`` is False."""
        super().clear()
        if shared and self.shared is not None:
            self.shared.forget_all()


def lot_story(
    session: Session, lot: Lot, producer_id: int, today: date, cache: StoryCache | None = None
) -> LotStory:
    """A lot's certifications, current events and anchoring, read once per story version.

    Reading a story afresh (a miss here and in the shared stories) first re-hashes the
    lot's document and compares it with the recorded and anchored ones
    (:func:`trace.anchoring.check_integrity`): data changed behind the service's back marks
    the lot tampered now, not at the next sweep. A story read while the lot was intact is
    shared with the other workers for the same version and day (:mod:`stamps.story_share`).

    :param cache: where stories are kept between requests (one per app: ``stamps.init_app``);
        without it the story is read afresh.
    """
    version = session.execute(_STORY_VERSION, {"lot": lot.id, "producer": producer_id}).one()
    key = (lot.id, producer_id, tuple(version), today)
    cache = cache if cache is not None else StoryCache(size=0)
    story = cache.find(key, lambda: session.execute(story_share.READ, {"lot": lot.id}).first())
    if story is not None:
        return story
    integrity = check_integrity(session, lot.id)  # type: ignore[arg-type]
    story = _read_story(session, lot, producer_id, today)
    if cache.shared is not None and integrity.status in story_share.SHAREABLE:
        cache.shared.save(session, key, story)
    cache.put(key, story)
    return story


def share_checked_story(session: Session, lot_id: int, today: date, shared: SharedStories) -> bool:
    """Share the story of a lot whose integrity the caller has just found intact (the
    integrity sweep), as :func:`lot_story` shares one it read afresh; not checked again.

    Cheap when the lot's row already holds this story version and day (one look-up and
    its HMAC): the sweep passes every lot each round.

    :returns: whether a row was written (in ``session``'s transaction; the caller commits).
    """
    lot = session.get(Lot, lot_id)
    if lot is None or lot.tampered_at is not None:
        return False
    producer_id = lot.producer_id
    version = session.execute(_STORY_VERSION, {"lot": lot_id, "producer": producer_id}).one()
    key = (lot_id, producer_id, tuple(version), today)
    row = session.execute(story_share.READ, {"lot": lot_id}).first()
    found = shared.story(row, key)
    if found is not None and (shared.renderer is None or found.fragments):
        return False  # shared already for this version and day (and rendered as here)
    shared.save(session, key, _read_story(session, lot, producer_id, today))
    return True


def _read_story(session: Session, lot: Lot, producer_id: int, today: date) -> LotStory:
    entries = event_service.timeline(session, lot.id)  # type: ignore[arg-type]
    return LotStory(
        certifications=_certifications(session, producer_id, lot.product_id, today),
        events=[_event(e) for e in event_service.current_events(entries)],
        anchoring=_anchored(session, lot),
    )


def scan_report(
    session: Session,
    facts: StampFacts,
    base_url: str,
    today: date,
    story: LotStory | None = None,
) -> dict[str, Any]:
    """A JSON-ready description of the stamp, its lot and its verdict."""
    stamp, lot, product, producer = facts.stamp, facts.lot, facts.product, facts.producer
    story = story or lot_story(session, lot, producer.id, today)  # type: ignore[arg-type]
    anchoring = _tampered(lot) or story.anchoring
    return {
        "verdict": str(verdict_of(facts)),
        "uri": stamp_uri(base_url, product.gtin, lot.code, stamp.serial),
        "serial": stamp.serial,
        "serial_display": format_serial(stamp.serial),
        "status": stamp.status,
        "product": {"gtin": product.gtin, "name_vi": product.name_vi, "name_en": product.name_en},
        "producer": {
            "name": producer.name,
            "status": producer.status,
            "commune": producer.commune,
            "district": producer.district,
            "province": producer.province,
        },
        "lot": {
            "code": lot.code,
            "harvest_date": lot.harvest_date.isoformat(),
            "recalled_at": lot.recalled_at.isoformat() if lot.recalled_at else None,
            "recall": recall_notice(session, lot),
        },
        "plot": _plot(facts),
        "certifications": story.certifications,
        "events": story.events,
        "anchoring": _with_proof_link(anchoring, base_url, stamp.serial),
        "scans": {
            "count": stamp.scan_count,
            "first_at": stamp.first_scan_at.isoformat() if stamp.first_scan_at else None,
            "first_province": stamp.first_scan_province,
        },
        # Flags set ``stamp.flagged``: an unflagged stamp needs no query.
        "flags": [flag.rule for flag in flags_of(session, stamp.id)] if stamp.flagged else [],  # type: ignore[arg-type]
    }


def not_found_report() -> dict[str, Any]:
    """What a scan of an unknown stamp reports."""
    return {"verdict": str(Verdict.NOT_FOUND)}


def _plot(facts: StampFacts) -> dict[str, Any] | None:
    if facts.plot is None:
        return None
    plot = facts.plot
    return {
        "name": plot.name,
        "latitude": plot.latitude,
        "longitude": plot.longitude,
        "area_ha": plot.area_ha,
    }


#: The newest confirmed anchor of a lot: only the columns a scan shows (not the document).
_ANCHORED = (
    select_columns(
        col(LotDocument.version),
        col(AnchorRound.block_number),
        col(AnchorRound.tx_hash),
        col(AnchorRound.block_time),
        col(AnchorRound.chain_id),
    )
    .join(AnchorRound, col(AnchorRound.id) == LotDocument.round_id)
    .where(
        col(LotDocument.lot_id) == bindparam("lot"),
        col(AnchorRound.status) == RoundStatus.CONFIRMED,
    )
    .order_by(col(LotDocument.version).desc())
    .limit(1)
)


def _certifications(
    session: Session, producer_id: int, product_id: int, today: date
) -> list[dict[str, Any]]:
    """The certifications covering the lot's product; others of the producer are not shown."""
    return [_certification(c, today) for c in covering_product(session, producer_id, product_id)]


def _certification(covered: CoveredCertification, today: date) -> dict[str, Any]:
    cert = covered.certification
    return {
        "scheme": cert.scheme,
        "ocop_stars": cert.ocop_stars,
        "number": cert.number,
        "issuer": cert.issuer,
        "valid_to": cert.valid_to.isoformat(),
        "status": "expired" if cert.is_expired(today) else "valid",
        # expired, verified (an inspector or admin checked it) or declared (nobody has)
        "standing": covered.standing(today),
        "verified_by": covered.verified_by,
        "verifier_role": covered.verifier_role,
        "verified_at": cert.verified_at.isoformat() if cert.verified_at else None,
        "producer_wide": cert.producer_wide,
    }


def _event(event: Any) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "time": event_service.local_time(event).isoformat(),
        **_place(event),
        "details": {k: v for k, v in event.details.items() if k != "input_lots"},
    }


def _place(event: Any) -> dict[str, str]:
    """Where, as a reader reads it; a captured event's location identifier kept as ``place_id``."""
    if isinstance(event, CapturedEntry):
        return {"place": event.place_name, "place_id": event.place}
    return {"place": event.place}


def _with_proof_link(status: dict[str, Any], base_url: str, serial: str) -> dict[str, Any]:
    """Add where an anchored stamp's proof bundle can be downloaded by anyone."""
    if status["status"] == "anchored":
        return {**status, "proof": proof_url(base_url, serial)}
    return status


def proof_url(base_url: str, serial: str) -> str:
    """The public download address of a stamp's proof bundle."""
    return f"{base_url}/proofs/{serial}.json"


def _tampered(lot: Lot) -> dict[str, Any] | None:
    if lot.tampered_at is None:
        return None
    return {"status": "tampered", "since": lot.tampered_at.isoformat()}


def _anchored(session: Session, lot: Lot) -> dict[str, Any]:
    row = session.execute(_ANCHORED, {"lot": lot.id}).first()
    if row is None:
        return {"status": "pending"}
    return {
        "status": "anchored",
        "version": row.version,
        "block": row.block_number,
        "transaction": row.tx_hash,
        "time": row.block_time.isoformat() if row.block_time else None,
        "chain_id": row.chain_id,
    }
