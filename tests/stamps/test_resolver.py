"""The GS1-conformant resolver at every level we issue: GTIN, GTIN+lot, GTIN+lot+serial."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flask import Flask
from sqlmodel import Session, col, select

from chain.canonical import document_hash
from chain.merkle import leaf_hash, process_proof
from stamps.minting import activate_run, mint_stamps
from stamps.models import Stamp
from stamps.resolver.compression import compress, decompress
from tests.registry_fixtures import Farm
from tests.stamps.test_proof_flow import anchor_everything
from trace.models import Lot, Product

STANDARDS = Path(__file__).resolve().parents[1] / "standards"
BASE = "https://trace.example.vn"
PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 13) Chrome/120 Mobile"}
LINKSET = {**PHONE, "Accept": "application/linkset+json"}
UNKNOWN_SERIAL = "0000000000000"


@pytest.fixture
def levels(app: Flask, session: Session, farm_a: Farm) -> dict[str, str]:
    """The three paths of farm A's product: GTIN, lot and one active stamp."""
    run = mint_stamps(session, farm_a.actor, farm_a.lot_id, 3, "1")
    activate_run(session, farm_a.actor, run.id)  # type: ignore[arg-type]
    lot, product = session.get(Lot, farm_a.lot_id), session.get(Product, farm_a.product_id)
    assert lot is not None and product is not None
    serial = session.exec(select(Stamp.serial).order_by(col(Stamp.id))).first()
    gtin = f"/01/{product.gtin}"
    return {
        "gtin": gtin,
        "lot": f"{gtin}/10/{lot.code}",
        "serial": f"{gtin}/10/{lot.code}/21/{serial}",
    }


def _schema(name: str) -> dict[str, Any]:
    return json.loads((STANDARDS / "linkset" / name).read_text())


ALL = pytest.mark.parametrize("level", ["gtin", "lot", "serial"])


@ALL
def test_linkset_by_accept_and_link_type_is_valid_against_gs1_schema(client, levels, level) -> None:  # type: ignore[no-untyped-def]
    path = levels[level]
    for response in (
        client.get(path, headers=LINKSET),
        client.get(path + "?linkType=linkset", headers=PHONE),
        client.get(path + "?linkType=all", headers=PHONE),
    ):
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.content_type == "application/linkset+json"
        body = response.json
        jsonschema.validate(body, _schema("gs1-linkset-schema.json"))
        context = body["linkset"][0]
        assert context["anchor"] == BASE + path and context["itemDescription"]
        default = context["https://gs1.org/voc/defaultLink"][0]
        assert default["href"] == BASE + path
        for rel, targets in context.items():
            if rel.startswith("https://"):
                assert all({"href", "title", "type", "hreflang"} <= set(t) for t in targets)


@ALL
def test_get_head_and_options_carry_cors_and_the_linkset_link_header(client, levels, level) -> None:  # type: ignore[no-untyped-def]
    path = levels[level]
    for method in ("get", "head"):
        response = getattr(client, method)(path, headers=PHONE)
        assert response.status_code == 200
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        link = response.headers["Link"]
        assert f'<{BASE}{path}?linkType=linkset>; rel="linkset"' in link
        assert "defaultLink" in link
    preflight = client.options(
        path,
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "HEAD" in preflight.headers["Access-Control-Allow-Methods"]


@ALL
def test_unknown_link_type_is_404(client, levels, level) -> None:  # type: ignore[no-untyped-def]
    response = client.get(levels[level] + "?linkType=gs1:nosuchlt", headers=PHONE)
    assert response.status_code == 404
    assert client.get(levels[level] + "?linkType=gs1:recipeInfo").status_code == 404


@ALL
def test_trailing_slash_is_tolerated(client, levels, level) -> None:  # type: ignore[no-untyped-def]
    response = client.get(levels[level] + "/", headers=LINKSET)
    assert response.status_code == 200
    assert response.json["linkset"][0]["anchor"] == BASE + levels[level]
    page = client.get(levels[level] + "/", headers=PHONE, follow_redirects=True)
    assert page.status_code == 200 and "TL-1" in page.get_data(as_text=True)


def test_link_type_redirects_with_the_whole_query_string(client, levels) -> None:  # type: ignore[no-untyped-def]
    response = client.get(levels["lot"] + "?linkType=gs1:pip&utm=qr", headers=PHONE)
    assert response.status_code == 307
    assert response.headers["Location"] == f"{BASE}{levels['gtin']}?linkType=gs1:pip&utm=qr"
    passport = client.get(levels["serial"] + "?linkType=gs1:sustainabilityInfo", headers=PHONE)
    assert passport.status_code == 307
    assert "/passports/01/" in passport.headers["Location"]
    # A link type that names the page itself serves it.
    assert client.get(levels["gtin"] + "?linkType=gs1:pip", headers=PHONE).status_code == 200
    assert client.get(levels["lot"] + "?linkType=gs1:traceability").status_code == 200


def test_language_negotiation_by_accept_language(client, levels) -> None:  # type: ignore[no-untyped-def]
    english = client.get(levels["lot"], headers={**PHONE, "Accept-Language": "en-GB,en;q=0.9"})
    assert english.headers["Content-Language"] == "en"
    assert "Red dragon fruit" in english.get_data(as_text=True)
    vietnamese = client.get(levels["gtin"], headers=PHONE)
    assert vietnamese.headers["Content-Language"] == "vi"
    assert "Thanh long ruột đỏ" in vietnamese.get_data(as_text=True)


def test_unknown_serial_walks_up_to_its_lot_saying_not_found(client, levels) -> None:  # type: ignore[no-untyped-def]
    unknown = levels["lot"] + "/21/" + UNKNOWN_SERIAL + "0"
    page = client.get(unknown, headers=PHONE)
    html = page.get_data(as_text=True)
    assert page.status_code == 404
    assert 'data-verdict="NOT_FOUND"' in html and "GENUINE" not in html
    assert "TL-1" in html  # the lot's story is shown under the banner
    assert client.get(unknown, headers={**PHONE, "Accept": "application/json"}).json == {
        "verdict": "NOT_FOUND"
    }
    linkset = client.get(unknown, headers=LINKSET)
    assert linkset.status_code == 200
    assert linkset.json["linkset"][0]["anchor"] == BASE + levels["lot"]


def test_unknown_lot_walks_up_to_the_product(client, levels) -> None:  # type: ignore[no-untyped-def]
    page = client.get(levels["gtin"] + "/10/NOPE/", headers=PHONE)
    assert page.status_code == 200
    assert 'data-verdict="NOT_FOUND"' in page.get_data(as_text=True)


def test_compressed_uri_decompresses_with_owl_same_as(client, levels) -> None:  # type: ignore[no-untyped-def]
    pairs = dict(
        zip(levels["serial"].split("/")[1::2], levels["serial"].split("/")[2::2], strict=True)
    )
    segment = compress(pairs)
    response = client.get("/" + segment + "?utm=1", headers=PHONE)
    assert response.status_code == 307
    assert response.headers["Location"] == BASE + levels["serial"] + "?utm=1"
    assert f'<{BASE}{levels["serial"]}>; rel="owl:sameAs"' in response.headers["Link"]
    linkset = client.get("/" + segment, headers=LINKSET)
    assert linkset.status_code == 200
    assert linkset.json["linkset"][0]["anchor"] == BASE + levels["serial"]
    assert 'rel="owl:sameAs"' in linkset.headers["Link"]
    assert client.get("/" + compress({"01": pairs["01"]}), headers=PHONE).status_code == 307
    assert client.get("/NotACompressedLink", headers=PHONE).status_code == 404


def test_decompression_matches_gs1_toolkit_vectors() -> None:
    vectors = json.loads((STANDARDS / "digital-link-compression" / "vectors.json").read_text())
    assert vectors
    for vector in vectors:
        segment = vector["compressed"].rsplit("/", 1)[1]
        path, _, query = vector["decompressed"].split("/", 3)[3].partition("?")
        parts = path.split("/")
        expected = {
            ai: value.replace("%2F", "/").replace("%26", "&").replace("%2B", "+")
            for ai, value in zip(parts[::2], parts[1::2], strict=True)
        }
        expected |= dict(kv.split("=") for kv in query.split("&") if kv)
        assert decompress(segment) == expected, vector


def test_resolver_description_file(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/.well-known/gs1resolver")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    jsonschema.validate(response.json, _schema("resolver-description-schema.json"))
    assert response.json["resolverRoot"] == BASE
    assert response.json["supportedPrimaryKeys"] == ["01"]


def test_product_page_lists_lots_and_finds_a_typed_serial(client, levels) -> None:  # type: ignore[no-untyped-def]
    html = client.get(levels["gtin"], headers=PHONE).get_data(as_text=True)
    assert "TL-1" in html and 'name="serial"' in html
    serial = levels["serial"].rsplit("/", 1)[1]
    typed = serial[:5].lower() + "-" + serial[5:]
    found = client.get(levels["gtin"], query_string={"serial": typed}, headers=PHONE)
    assert found.status_code == 303 and found.headers["Location"] == BASE + levels["serial"]
    missing = client.get(levels["gtin"], query_string={"serial": "ZZZZ"}, headers=PHONE)
    assert missing.status_code == 404
    assert "Không có tem nào" in missing.get_data(as_text=True)


def test_lot_page_proof_bundle_and_passport_are_anchored(app, client, levels) -> None:  # type: ignore[no-untyped-def]
    anchor_everything(app)
    page = client.get(levels["lot"], headers=PHONE).get_data(as_text=True)
    assert 'data-verdict="GENUINE"' in page and "/proofs/01/" in page and "/passports/01/" in page
    proof_path = levels["lot"].replace("/01/", "/proofs/01/") + ".json"
    bundle = client.get(proof_path).json
    leaf = leaf_hash(document_hash(bundle["document"]))
    path = [bytes.fromhex(p[2:]) for p in bundle["lot"]["path"]]
    assert "0x" + process_proof(leaf, path).hex() == bundle["anchor"]["root"]
    passport = client.get(levels["lot"], headers={**PHONE, "Accept": "application/ld+json"})
    anchored = bundle["document"]["passport"]
    assert passport.json["sameAs"] == {"@id": anchored["traceability_code"]}
    assert passport.json["at:missingFields"] == anchored["missing"]


def test_passport_expands_with_a_json_ld_processor_offline(client, levels) -> None:  # type: ignore[no-untyped-def]
    from pyld import jsonld

    def no_network(url: str, options: Any = None) -> Any:
        raise AssertionError(f"the passport must not need {url}")

    path = levels["lot"].replace("/01/", "/passports/01/") + ".jsonld"
    document = client.get(path).json
    expanded = jsonld.expand(document, {"documentLoader": no_network})
    node = expanded[0]
    assert "https://schema.org/Product" in node["@type"]
    assert node["https://schema.org/gtin"][0]["@value"].endswith(levels["gtin"][-13:])
    assert node["https://gs1.org/voc/hasBatchLotNumber"][0]["@value"] == "TL-1"
    assert node["https://schema.org/sameAs"] == [
        {"@id": f"https://id.gs1.org{levels['gtin']}/10/TL-1"}
    ]
    names = {n["@language"]: n["@value"] for n in node["https://schema.org/name"]}
    assert names["vi"] == "Thanh long ruột đỏ"
    assert node["https://schema.org/manufacturer"][0]["https://schema.org/name"]
