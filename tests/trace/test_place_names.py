"""A GLN in an EPCIS identifier reads as the registry's name, else as its element string."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from tests.registry_fixtures import Farm
from trace.models import Producer
from trace.services.places import GlnKey, gln_key, place_labels

GLN = "0012345111112"  # company prefix 0012345, location reference 11111


@pytest.mark.parametrize(
    ("identifier", "key"),
    [
        ("urn:epc:id:sgln:0012345.11111.0", GlnKey("414", GLN)),  # extension 0: none
        ("urn:epc:id:sgln:0012345.11111.dock-2", GlnKey("414", GLN, "dock-2")),
        ("urn:epc:id:sgln:0012345.11111.A%2FB", GlnKey("414", GLN, "A/B")),
        (f"https://id.gs1.org/414/{GLN}/254/7", GlnKey("414", GLN, "7")),
        (f"https://resolver.example.vn/414/{GLN}", GlnKey("414", GLN)),
        ("urn:epc:id:pgln:0012345.11111", GlnKey("417", GLN)),
    ],
)
def test_a_location_or_party_identifier_names_its_gln(identifier: str, key: GlnKey) -> None:
    assert gln_key(identifier) == key


@pytest.mark.parametrize(
    "text", ["Châu Thành", "urn:epc:id:sgtin:0614141.107346.2017", "", "urn:epc:id:sgln:bad"]
)
def test_anything_else_names_no_gln(text: str) -> None:
    assert gln_key(text) is None


def test_the_element_string_is_as_printed_under_a_barcode() -> None:
    assert GlnKey("414", GLN, "dock-2").element_string == f"(414) {GLN} (254) dock-2"
    assert GlnKey("417", GLN).element_string == f"(417) {GLN}"


def test_labels_use_the_registered_producers_name(session: Session, farm_a: Farm) -> None:
    producer = session.get(Producer, farm_a.user.producer_id)
    assert producer is not None
    producer.gln = GLN
    session.add(producer)
    session.commit()
    identifiers = [
        "urn:epc:id:sgln:0012345.11111.0",
        "urn:epc:id:sgln:0012345.11111.dock-2",
        "urn:epc:id:sgln:0012345.22222.0",
        "Kho Tân An",
    ]
    assert place_labels(session, identifiers) == {
        identifiers[0]: producer.name,
        identifiers[1]: f"{producer.name} · (254) dock-2",
        identifiers[2]: "(414) 0012345222221",
    }
