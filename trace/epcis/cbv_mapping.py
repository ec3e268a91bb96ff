"""How the registry's supply-chain event kinds are written as EPCIS 2.0 events (CBV 2.0 values).

CBV 2.0 has no business step for planting, applying an input (fertiliser, pesticide), harvesting
or cooling. Where a standard step carries the meaning we use it; where none does we use a user
vocabulary URI under AgriTrace's namespace, as CBV allows for steps it does not define:

- ``planting`` and ``input_application``: no CBV step comes close (``commissioning`` would say
  an object was given its identity, ``other`` says nothing), so they get
  ``{AGRITRACE_NS}bizstep/planting`` and ``{AGRITRACE_NS}bizstep/input_application``.
- ``harvest``: ``commissioning``, the harvested lot is given its identity (lot class URI, ILMD);
  the FSMA 204 harvesting CTE.
- ``cooling``: ``storing`` (the lot is moved into cold storage); the FSMA 204 cooling CTE.
- ``initial_packing``: ``packing`` on a TransformationEvent (harvested lot in, packed lot out);
  the FSMA 204 initial packing CTE.
- ``recall``: ``holding`` with disposition ``recalled`` (and a persistent ``recalled``).

FSMA 204's first land-based receiving CTE is for food from a fishing vessel; no registry kind
maps to it, receiving at a packhouse or market is the receiving CTE.
"""

from __future__ import annotations

from dataclasses import dataclass

from .vocabulary import AGRITRACE_NS

EVENT_KINDS = (
    "planting", "input_application", "harvest", "cooling", "initial_packing", "shipping",
    "receiving", "transformation", "inspection", "recall",
)  # fmt: skip

#: FSMA 204 critical tracking events (21 CFR 1.1325-1.1350), as named in shared/standards.
FSMA_CTES = (
    "harvesting", "cooling", "initial_packing", "first_land_based_receiving", "shipping",
    "receiving", "transformation",
)  # fmt: skip


@dataclass(frozen=True)
class EventProfile:
    """The EPCIS shape of one registry event kind."""

    event_type: str
    action: str | None
    biz_step: str
    disposition: str | None
    fsma_cte: str | None


_PROFILES: dict[str, EventProfile] = {
    "planting": EventProfile(
        "ObjectEvent", "OBSERVE", f"{AGRITRACE_NS}bizstep/planting", None, None
    ),
    "input_application": EventProfile(
        "ObjectEvent", "OBSERVE", f"{AGRITRACE_NS}bizstep/input_application", None, None
    ),
    "harvest": EventProfile("ObjectEvent", "ADD", "commissioning", "active", "harvesting"),
    "cooling": EventProfile("ObjectEvent", "OBSERVE", "storing", None, "cooling"),
    "initial_packing": EventProfile(
        "TransformationEvent", None, "packing", "active", "initial_packing"
    ),
    "shipping": EventProfile("ObjectEvent", "OBSERVE", "shipping", "in_transit", "shipping"),
    "receiving": EventProfile("ObjectEvent", "OBSERVE", "receiving", "in_progress", "receiving"),
    "transformation": EventProfile(
        "TransformationEvent", None, "commissioning", "active", "transformation"
    ),
    "inspection": EventProfile("ObjectEvent", "OBSERVE", "inspecting", None, None),
    "recall": EventProfile("ObjectEvent", "OBSERVE", "holding", "recalled", None),
}

#: Registry event kind -> its EPCIS event type, action, bizStep, disposition and FSMA 204 CTE.
EVENT_PROFILES: dict[str, EventProfile] = _PROFILES

#: Registry event kind -> CBV 2.0 bizStep (bare CBV name, or a user vocabulary URI).
CBV_BIZSTEP: dict[str, str] = {kind: p.biz_step for kind, p in _PROFILES.items()}

#: Registry event kind -> FSMA 204 CTE, or None when the kind is not a CTE.
FSMA_CTE: dict[str, str | None] = {kind: p.fsma_cte for kind, p in _PROFILES.items()}
