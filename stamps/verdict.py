"""The one answer a stamp gives: its verdict, the order verdicts outrank each other, their texts.

Every surface that tells someone whether to trust a stamp asks :func:`verdict_of`: the scan
page (HTML), the scan JSON, the GS1 linkset, ``GET /api/v1/stamps/{serial}``, the proof
bundle endpoints and (for a whole lot, :func:`lot_verdict`) the inspection report.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from stamps.models import StampStatus
from trace.i18n import _l
from trace.models import ProducerStatus

if TYPE_CHECKING:
    from sqlmodel import Session

    from stamps.report import StoryCache
    from stamps.scanning import StampFacts
    from trace.models import Lot, Producer


class Verdict(enum.StrEnum):
    """A stamp's verdict; the members are listed in precedence order, strongest first.

    When several hold at once, the first listed is the answer:

    1. ``NOT_FOUND`` — no stamp with this serial on this product and lot: nothing else
       can be said about it.
    2. ``RECALLED`` — the lot (or a lot it was made from) is recalled. It tells the
       consumer what to do (do not eat it), which matters whatever else is true.
    3. ``TAMPERED`` — the lot's data no longer matches what was anchored: nothing the page
       shows about the lot can be trusted, including the stamp's own status.
    4. ``VOID`` — the producer cancelled this label: it should not be on product.
    5. ``PRODUCER_SUSPENDED`` — the authority suspended the producer; its stamps no longer
       vouch for anything, but the label itself was issued.
    6. ``SUSPICIOUS`` — our clone rules fired (too many scans, impossible travel): a
       heuristic, weaker than a decision by the producer or the authority.
    7. ``GENUINE`` — none of the above.
    """

    NOT_FOUND = "NOT_FOUND"
    RECALLED = "RECALLED"
    TAMPERED = "TAMPERED"
    VOID = "VOID"
    PRODUCER_SUSPENDED = "PRODUCER_SUSPENDED"
    SUSPICIOUS = "SUSPICIOUS"
    GENUINE = "GENUINE"


#: Strongest first: ``PRECEDENCE.index(v)`` ranks a verdict.
PRECEDENCE: tuple[Verdict, ...] = tuple(Verdict)


@dataclass(frozen=True)
class VerdictText:
    """How a verdict reads to a person: a title, what to do, and a tone for the page."""

    title: Any
    advice: Any
    tone: str


TEXTS: dict[Verdict, VerdictText] = {
    Verdict.NOT_FOUND: VerdictText(
        _l("Not found"),
        _l("No stamp with this code was issued for this product. It may be counterfeit."),
        "bad",
    ),
    Verdict.RECALLED: VerdictText(
        _l("Recalled"),
        _l(
            "This lot has been recalled. Do not eat it: return it to the shop or contact "
            "the producer."
        ),
        "bad",
    ),
    Verdict.TAMPERED: VerdictText(
        _l("TAMPERED"),
        _l(
            "This lot's data no longer matches what was anchored on the blockchain. Do not "
            "rely on it."
        ),
        "bad",
    ),
    Verdict.VOID: VerdictText(
        _l("Void"),
        _l("This stamp was cancelled by its producer. Do not trust the label."),
        "bad",
    ),
    Verdict.PRODUCER_SUSPENDED: VerdictText(
        _l("Producer suspended"),
        _l(
            "The authorities have suspended this producer. Its stamps no longer vouch for "
            "the product: check with the shop."
        ),
        "bad",
    ),
    Verdict.SUSPICIOUS: VerdictText(
        _l("Suspicious"),
        _l(
            "This stamp was scanned in a way that suggests the label was copied. Check with "
            "the shop."
        ),
        "warn",
    ),
    Verdict.GENUINE: VerdictText(
        _l("Genuine"), _l("This stamp was issued for this product and is valid."), "ok"
    ),
}


def judge(
    *,
    found: bool = True,
    recalled: bool = False,
    tampered: bool = False,
    void: bool = False,
    producer_suspended: bool = False,
    flagged: bool = False,
) -> Verdict:
    """The strongest verdict among the conditions that hold (see :class:`Verdict`)."""
    holds = {
        Verdict.NOT_FOUND: not found,
        Verdict.RECALLED: recalled,
        Verdict.TAMPERED: tampered,
        Verdict.VOID: void,
        Verdict.PRODUCER_SUSPENDED: producer_suspended,
        Verdict.SUSPICIOUS: flagged,
    }
    return next((v for v in PRECEDENCE if holds.get(v)), Verdict.GENUINE)


def verdict_of(facts: StampFacts | None) -> Verdict:
    """The verdict of a scanned stamp, from its facts (None: no such stamp).

    A lot is TAMPERED once an integrity check marked it (the sweep, or the check made when
    a scan builds the lot's story: :func:`stamps.report.lot_story`).
    """
    if facts is None:
        return judge(found=False)
    stamp = facts.stamp
    return judge(
        recalled=stamp.status == StampStatus.RECALLED or facts.lot.recalled_at is not None,
        tampered=facts.lot.tampered_at is not None,
        void=stamp.status == StampStatus.VOID,
        producer_suspended=facts.producer.status == ProducerStatus.SUSPENDED,
        flagged=stamp.flagged,
    )


def assess(
    session: Session, facts: StampFacts, stories: StoryCache | None, today: date | None = None
) -> Verdict:
    """A stamp's verdict outside a scan (the API, proof bundles), as a scan would give it.

    The lot's story is looked up first, exactly as a scan does: a story read afresh checks
    the lot's integrity, so a lot whose data changed is TAMPERED here too.

    :param stories: the app's story cache (:func:`stamps.extensions.story_cache`).
    """
    from stamps.report import lot_story  # the report builds on verdicts: import when used

    lot_story(session, facts.lot, facts.producer.id, today or date.today(), stories)  # type: ignore[arg-type]
    return verdict_of(facts)


def lot_verdict(lot: Lot, producer: Producer) -> Verdict:
    """What an active, unflagged stamp of the lot would say (the inspection report's line)."""
    return judge(
        recalled=lot.recalled_at is not None,
        tampered=lot.tampered_at is not None,
        producer_suspended=producer.status == ProducerStatus.SUSPENDED,
    )


def lot_verdict_label(lot: Lot, producer: Producer) -> str:
    """The lot's verdict for a report, in the current language: ``"RECALLED — Recalled"``."""
    verdict = lot_verdict(lot, producer)
    return f"{verdict} — {TEXTS[verdict].title}"
