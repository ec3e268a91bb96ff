"""The whole proof flow as a user meets it: mint, anchor, download the bundle from the scan
page, check it with ``python -m chain.verify`` over real HTTP, restart, tamper.

Runs against the embedded chain (through the service's own ``/chain/rpc`` bridge) and
against anvil.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from sqlmodel import Session, col, select
from werkzeug.serving import make_server

from stamps.minting import activate_run, mint_stamps
from stamps.models import Stamp
from tests.chain.anvil import ANVIL_KEY, find_anvil, running_anvil
from tests.registry_fixtures import Farm
from trace import jobs
from trace.anchoring.jobs import JOB_ROUND
from trace.app import create_app
from trace.models import Lot, Product

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.xdist_group("proof-flow")


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve ``app`` over real HTTP on a free loopback port; the QR host follows the port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_BASE_URL"] = base
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        thread.join(timeout=5)


def fetch(url: str, accept: str = "text/html") -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept, "User-Agent": "Mozilla/5.0"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def verify(
    bundle: Path, *rpc: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the offline verifier as a user would, in a process of its own."""
    command = [sys.executable, "-m", "chain.verify", str(bundle)]
    if rpc:
        command += ["--rpc", rpc[0]]
    environ = {k: v for k, v in os.environ.items() if k != "AGRITRACE_TRUSTED_RPC"}
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, env=environ | (env or {})
    )


def anchor_everything(app: Flask) -> None:
    """What the worker does after a change: document versions, then one round."""
    with app.app_context(), Session(app.extensions["db_engine"]) as session:
        while jobs.run_one(app, session, "flow-worker"):
            pass
        jobs.enqueue(session, JOB_ROUND, {}, dedupe_key=JOB_ROUND)
        session.commit()
        while jobs.run_one(app, session, "flow-worker"):
            pass


def stamp_link(app: Flask, farm: Farm, count: int = 6) -> tuple[str, str]:
    """Mint and activate a run for the farm's lot; return one stamp's path and serial."""
    with app.app_context(), Session(app.extensions["db_engine"]) as session:
        run = mint_stamps(session, farm.actor, farm.lot_id, count, "1")
        activate_run(session, farm.actor, run.id)  # type: ignore[arg-type]
        statement = select(Stamp).where(Stamp.run_id == run.id).order_by(col(Stamp.id).desc())
        stamp = session.exec(statement).first()
        lot, product = session.get(Lot, farm.lot_id), session.get(Product, farm.product_id)
        assert stamp is not None and lot is not None and product is not None
        return f"/01/{product.gtin}/10/{lot.code}/21/{stamp.serial}", stamp.serial


def download_bundle(base: str, path: str, target: Path) -> dict[str, Any]:
    """Open the scan page, follow its proof link, save the bundle."""
    status, page = fetch(base + path + "?lang=en")
    assert status == 200
    html = page.decode()
    assert "Genuine" in html
    links = re.findall(r'href="([^"]+/proofs/[^"]+\.json)"', html)
    assert links, "the scan page of an anchored stamp links to its proof bundle"
    status, body = fetch(links[0], "application/json")
    assert status == 200, body
    target.write_bytes(body)
    return json.loads(body)  # type: ignore[no-any-return]


def run_printed_command(base: str, path: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """Download the proof as a browser saves it and run the command the page prints."""
    status, page = fetch(base + path + "?lang=en")
    assert status == 200
    printed = re.findall(r'<code class="hash verify">([^<]+)</code>', page.decode())
    assert printed, "the scan page prints how to check the proof"
    command = html.unescape(printed[0]).split()
    assert command[:3] == ["python", "-m", "chain.verify"] and "--rpc" in command, command
    link = re.findall(r'href="([^"]+/proofs/[^"]+\.json)"', page.decode())[0]
    request = urllib.request.Request(link, headers={"User-Agent": "Mozilla/5.0"})
    with urllib.request.urlopen(request, timeout=30) as response:
        saved_as = response.headers.get_filename()
        (folder / saved_as).write_bytes(response.read())
    environ = {k: v for k, v in os.environ.items() if k != "AGRITRACE_TRUSTED_RPC"}
    return subprocess.run(
        [sys.executable, *command[1:]],
        cwd=folder,  # where the browser saved the bundle
        capture_output=True,
        text=True,
        timeout=120,
        env=environ | {"PYTHONPATH": str(ROOT)},
    )


def run_flow(
    app: Flask, app_config: dict[str, Any], farm: Farm, tmp_path: Path, rpc_of: Callable[[str], str]
) -> None:
    path, serial = stamp_link(app, farm)
    anchor_everything(app)
    bundle_path = tmp_path / "bundle.json"
    with serving(app) as base:
        status, report = fetch(base + path, "application/json")
        assert status == 200
        anchoring = json.loads(report)["anchoring"]
        assert anchoring["status"] == "anchored" and anchoring["block"] >= 1
        bundle = download_bundle(base, path, bundle_path)
        assert bundle["stamp"]["serial"] == serial
        assert bundle["anchor"]["block_number"] == anchoring["block"]
        result = verify(bundle_path, rpc_of(base))
        assert result.returncode == 0, result.stdout + result.stderr
        assert "valid" in result.stdout.lower()
        printed = run_printed_command(base, path, tmp_path)
        assert printed.returncode == 0, printed.stdout + printed.stderr

    # A restart: a new process-like app over the same database and instance folder.
    app.extensions["db_engine"].dispose()
    closing = getattr(app.extensions["chain"], "close", None)
    if closing is not None:
        closing()
    restarted = create_app(app_config)
    try:
        with serving(restarted) as base:
            result = verify(bundle_path, rpc_of(base))
            assert result.returncode == 0, result.stdout + result.stderr
            again = tmp_path / "again.json"
            first = json.loads(bundle_path.read_text())["anchor"]
            assert download_bundle(base, path, again)["anchor"] == first

            # Someone edits the harvest date behind the service's back.
            with restarted.app_context(), Session(restarted.extensions["db_engine"]) as session:
                session.execute(
                    text("UPDATE lots SET harvest_date = '2020-01-01' WHERE id = :id"),
                    {"id": farm.lot_id},
                )
                session.commit()
            runner = restarted.test_cli_runner()
            swept = runner.invoke(args=["integrity"])
            assert swept.exit_code == 1 and f"TAMPERED: lot {farm.lot_id}" in swept.output
            status, page = fetch(base + path + "?lang=en")
            assert status == 200
            assert '<p class="verdict-word">TAMPERED</p>' in page.decode(), "leads with TAMPERED"
            status, report = fetch(base + path, "application/json")
            assert json.loads(report)["anchoring"]["status"] == "tampered"
            # The bundle still proves what was anchored: the chain keeps the old truth.
            assert verify(bundle_path, rpc_of(base)).returncode == 0
    finally:
        restarted.extensions["db_engine"].dispose()
        closing = getattr(restarted.extensions["chain"], "close", None)
        if closing is not None:
            closing()


def test_a_bundle_from_the_scan_page_verifies_against_the_embedded_chain(
    app: Flask, app_config: dict[str, Any], farm_a: Farm, tmp_path: Path
) -> None:
    run_flow(app, app_config, farm_a, tmp_path, lambda base: f"{base}/chain/rpc")


def test_the_bundle_names_the_services_bridge_as_a_hint_a_verifier_must_choose_to_trust(
    app: Flask, farm_a: Farm, tmp_path: Path
) -> None:
    path, _ = stamp_link(app, farm_a)
    anchor_everything(app)
    with serving(app) as base:
        bundle = download_bundle(base, path, tmp_path / "b.json")
        assert f"{base}/chain/rpc" in json.dumps(bundle)
        result = verify(tmp_path / "b.json")
        assert result.returncode == 1, result.stdout + result.stderr
        assert "unverified: no trusted node" in result.stdout
        trusted = {"AGRITRACE_TRUSTED_RPC": f"{base}/chain/rpc"}
        result = verify(tmp_path / "b.json", env=trusted)
        assert result.returncode == 0, result.stdout + result.stderr


def test_a_changed_bundle_is_invalid(app: Flask, farm_a: Farm, tmp_path: Path) -> None:
    path, _ = stamp_link(app, farm_a)
    anchor_everything(app)
    with serving(app) as base:
        bundle = download_bundle(base, path, tmp_path / "b.json")
        bundle["document"]["lot"]["harvest_date"] = "2020-01-01"
        (tmp_path / "b.json").write_text(json.dumps(bundle))
        result = verify(tmp_path / "b.json", f"{base}/chain/rpc")
        assert result.returncode == 1, result.stdout + result.stderr


def test_the_public_proof_route_refuses_bad_serials_and_waits_for_the_round(
    app: Flask, farm_a: Farm
) -> None:
    client = app.test_client()
    assert client.get("/proofs/not-a-serial!.json").status_code == 400
    assert client.get("/proofs/00000000000000.json").status_code in (400, 404)
    _, serial = stamp_link(app, farm_a)
    pending = client.get(f"/proofs/{serial}.json")
    assert pending.status_code == 409 and pending.json["status"] == "pending"


@pytest.fixture(scope="module")
def anvil_url() -> Iterator[str]:
    binary = find_anvil()
    if binary is None:
        pytest.skip("ANVIL NOT FOUND: run `npm install` at the repository root or set ANVIL_BIN.")
    with running_anvil(binary) as url:
        yield url


@pytest.fixture
def anvil_app_config(app_config: dict[str, Any], anvil_url: str) -> dict[str, Any]:
    app_config.update(CHAIN_URL=anvil_url, CHAIN_PRIVATE_KEY=ANVIL_KEY)
    return app_config


def test_the_same_flow_passes_against_anvil(
    anvil_app_config: dict[str, Any], app: Flask, farm_a: Farm, tmp_path: Path, anvil_url: str
) -> None:
    assert not app.extensions["chain"].embedded
    run_flow(app, anvil_app_config, farm_a, tmp_path, lambda _base: anvil_url)
