"""Every registry event kind maps to a real CBV 2.0 bizStep (or our own URI) and its FSMA CTE."""

from __future__ import annotations

from tests.standards import FSMA204
from trace.epcis import AGRITRACE_NS, CBV_BIZSTEP, EVENT_PROFILES, FSMA_CTE
from trace.epcis.cbv_mapping import EVENT_KINDS, FSMA_CTES
from trace.epcis.vocabulary import BIZ_STEPS, DISPOSITIONS

FSMA_FOLDER = FSMA204  # vendored from shared/standards/fsma204 (ours, public-domain CFR text)


def test_every_kind_is_mapped() -> None:
    assert set(CBV_BIZSTEP) == set(FSMA_CTE) == set(EVENT_PROFILES) == set(EVENT_KINDS)


def test_biz_steps_are_cbv_values_or_our_own_uris() -> None:
    for kind, step in CBV_BIZSTEP.items():
        assert step in BIZ_STEPS or step.startswith(f"{AGRITRACE_NS}bizstep/"), kind


def test_the_mapping_the_registry_relies_on() -> None:
    assert CBV_BIZSTEP == {
        "planting": f"{AGRITRACE_NS}bizstep/planting",
        "input_application": f"{AGRITRACE_NS}bizstep/input_application",
        "harvest": "commissioning",
        "cooling": "storing",
        "initial_packing": "packing",
        "shipping": "shipping",
        "receiving": "receiving",
        "transformation": "commissioning",
        "inspection": "inspecting",
        "recall": "holding",
    }
    assert FSMA_CTE == {
        "planting": None,
        "input_application": None,
        "harvest": "harvesting",
        "cooling": "cooling",
        "initial_packing": "initial_packing",
        "shipping": "shipping",
        "receiving": "receiving",
        "transformation": "transformation",
        "inspection": None,
        "recall": None,
    }


def test_profiles_use_valid_event_types_actions_and_dispositions() -> None:
    for kind, profile in EVENT_PROFILES.items():
        assert profile.disposition is None or profile.disposition in DISPOSITIONS, kind
        if profile.event_type == "TransformationEvent":
            assert profile.action is None, kind
        else:
            assert profile.action in ("OBSERVE", "ADD", "DELETE"), kind
    assert EVENT_PROFILES["recall"].disposition == "recalled"


def test_ctes_are_the_fsma_204_ones() -> None:
    assert {cte for cte in FSMA_CTE.values() if cte} <= set(FSMA_CTES)


def test_ctes_match_the_fsma_204_headers() -> None:
    assert {p.stem for p in (FSMA_FOLDER / "headers").glob("*.csv")} == set(FSMA_CTES)
