"""The DCAT-AP catalogue (JSON-LD) of the open datasets, for national portals to harvest."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask_babel import force_locale

from trace.opendata.datasets import LICENCE, Dataset

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
LANGUAGES = ("vi", "en")
EU_LANGUAGE = "http://publications.europa.eu/resource/authority/language/"
MEDIA_TYPES = {"csv": "text/csv", "json": "application/json"}


def both_languages(text: Any) -> list[dict[str, str]]:
    """A lazy translatable string as JSON-LD literals in Vietnamese and English."""
    values = []
    for language in LANGUAGES:
        with force_locale(language):
            values.append({"@language": language, "@value": str(text)})
    return values


def timestamp(moment: datetime | None) -> dict[str, str] | None:
    if moment is None:
        return None
    return {"@value": moment.isoformat(timespec="seconds"), "@type": "xsd:dateTime"}


def catalog(
    datasets: list[tuple[Dataset, datetime | None]],
    url: Callable[[str, dict[str, str]], str],
    title: Any,
    publisher: str,
) -> dict[str, Any]:
    """The catalogue document.

    :param datasets: each dataset with its update time.
    :param url: builds an absolute URL from an endpoint name and its arguments.
    """
    known = [moment for _, moment in datasets if moment is not None]
    return {
        "@context": CONTEXT,
        "@id": url("opendata.catalog", {}),
        "@type": "dcat:Catalog",
        "dct:title": both_languages(title),
        "dct:publisher": {"@type": "foaf:Agent", "foaf:name": publisher},
        "dct:language": [{"@id": EU_LANGUAGE + code} for code in ("VIE", "ENG")],
        "dct:license": {"@id": LICENCE},
        "foaf:homepage": {"@id": url("opendata.index", {})},
        "dct:modified": timestamp(max(known) if known else None),
        "dcat:dataset": [_dataset(dataset, moment, url) for dataset, moment in datasets],
    }


def _dataset(
    dataset: Dataset, modified: datetime | None, url: Callable[[str, dict[str, str]], str]
) -> dict[str, Any]:
    page = url("opendata.index", {}) + f"#{dataset.name}"
    return {
        "@id": page,
        "@type": "dcat:Dataset",
        "dct:identifier": dataset.name,
        "dct:title": both_languages(dataset.title),
        "dct:description": both_languages(dataset.description),
        "dcat:keyword": list(dataset.keywords),
        "dct:license": {"@id": LICENCE},
        "dct:modified": timestamp(modified),
        "dcat:landingPage": {"@id": page},
        "dcat:distribution": [
            _distribution(dataset, fmt, schema, url)
            for fmt, schema in (("csv", "opendata.table_schema"), ("json", "opendata.json_schema"))
        ],
    }


def _distribution(
    dataset: Dataset, fmt: str, schema: str, url: Callable[[str, dict[str, str]], str]
) -> dict[str, Any]:
    download = url(f"opendata.{fmt}_file", {"name": dataset.name})
    return {
        "@id": download,
        "@type": "dcat:Distribution",
        "dcat:accessURL": {"@id": download},
        "dcat:downloadURL": {"@id": download},
        "dcat:mediaType": {
            "@id": f"https://www.iana.org/assignments/media-types/{MEDIA_TYPES[fmt]}"
        },
        "dct:format": fmt.upper(),
        "dct:license": {"@id": LICENCE},
        "dct:conformsTo": {"@id": url(schema, {"name": dataset.name})},
    }
