"""Every trace link and QR the sync sends to the marketplaces resolves (200) on our side."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session

from tests.marketplace.conftest import SandboxAdmin, gtin, offer, remote, stamp
from tests.registry_fixtures import Farm


def _urls(value: Any) -> Iterator[str]:
    """Every URL anywhere in a stored listing (trace links, lot links, QR images)."""
    if isinstance(value, str) and value.startswith("http"):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _urls(item)
    elif isinstance(value, list):
        for item in value:
            yield from _urls(item)


def _ours(client, url: str) -> Any:  # type: ignore[no-untyped-def]
    parts = urlsplit(url)
    return client.get(parts.path, query_string=parts.query, headers={"User-Agent": "Mozilla/5.0"})


def test_every_stored_link_and_qr_resolves_and_one_lot_links_to_its_lot_page(
    session: Session,
    client,  # type: ignore[no-untyped-def]
    farm_a: Farm,
    work: Callable[..., int],
    postmart_admin: SandboxAdmin,
    voso_admin: SandboxAdmin,
) -> None:
    stamp(session, farm_a, 3)
    work()
    offer(session, farm_a)
    work()
    stored = remote(postmart_admin, gtin(session, farm_a)) + remote(
        voso_admin, gtin(session, farm_a)
    )
    assert len(stored) == 2
    urls = sorted({u for listing in stored for u in _urls(listing)})
    trace_links = [u for u in urls if "/01/" in u]
    assert trace_links and all(u.endswith("/10/TL-1") for u in trace_links), urls
    for url in urls:
        response = _ours(client, url)
        assert response.status_code == 200, (url, response.status_code)
    landing = _ours(client, trace_links[0]).get_data(as_text=True)
    assert 'data-verdict="GENUINE"' in landing and "TL-1" in landing
    assert json.dumps(stored)  # the sandboxes' copies are plain JSON
