"""``flask marketplace reconcile``: report drift between the marketplaces and us, and repair it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from flask.testing import FlaskCliRunner
from sqlmodel import Session

from marketplace.adapters import PostmartAdapter, VosoAdapter
from tests.marketplace.conftest import SandboxAdmin, gtin, offer, remote
from tests.marketplace.test_adapters import listing
from tests.registry_fixtures import Farm


def reconcile(runner: FlaskCliRunner, *options: str) -> Any:
    return runner.invoke(args=["marketplace", "reconcile", *options])


def drifted(
    session: Session,
    farm: Farm,
    work: Callable[..., int],
    postmart_admin: SandboxAdmin,
    voso: VosoAdapter,
) -> str:
    """List farm's product on both; then change postmart's price behind our back, add a
    second voso listing of it, and a voso listing we never made."""
    offer(session, farm)
    work()
    sku = gtin(session, farm)
    [shown] = remote(postmart_admin, sku)
    changed = requests.patch(
        f"{postmart_admin.url}/api/v1/listings/PM{shown['id']:08d}",
        json={"gia_ban": 99_000},
        headers={"X-Api-Key": "pm-sandbox-key"},
        timeout=5,
    )
    assert changed.status_code == 200
    voso.create_listing(listing(sku), "made-by-hand")
    voso.create_listing(listing("SOMEONE-ELSES"), "also-by-hand")
    return sku


def test_reconcile_reports_drift_and_changes_nothing(
    session: Session,
    farm_a: Farm,
    runner: FlaskCliRunner,
    work: Callable[..., int],
    postmart_admin: SandboxAdmin,
    voso_admin: SandboxAdmin,
    voso: VosoAdapter,
) -> None:
    sku = drifted(session, farm_a, work, postmart_admin, voso)
    result = reconcile(runner)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith(f"postmart\t{sku}\tstale\t") for line in lines)
    assert any(line.startswith(f"voso\t{sku}\tduplicate\t") for line in lines)
    assert any(line.startswith("voso\tSOMEONE-ELSES\tunknown\t") for line in lines)
    assert lines[-1] == "3 drift(s) found."
    assert remote(postmart_admin, sku)[0]["doc"]["gia_ban"] == 99_000
    assert [item["status"] for item in remote(voso_admin, sku)] == ["NORMAL", "NORMAL"]


def test_reconcile_of_one_marketplace_looks_only_there(
    session: Session,
    farm_a: Farm,
    runner: FlaskCliRunner,
    work: Callable[..., int],
    postmart_admin: SandboxAdmin,
    voso: VosoAdapter,
) -> None:
    drifted(session, farm_a, work, postmart_admin, voso)
    result = reconcile(runner, "--marketplace", "postmart")
    assert result.output.splitlines()[-1] == "1 drift(s) found."
    assert "voso" not in result.output


def test_reconcile_repair_delists_the_duplicate_and_restores_our_price(
    session: Session,
    farm_a: Farm,
    runner: FlaskCliRunner,
    work: Callable[..., int],
    postmart_admin: SandboxAdmin,
    voso_admin: SandboxAdmin,
    voso: VosoAdapter,
) -> None:
    sku = drifted(session, farm_a, work, postmart_admin, voso)
    repaired = reconcile(runner, "--repair")
    assert repaired.exit_code == 0, repaired.output
    assert "postmart: queued 1 listing(s) for repair" in repaired.output
    assert "voso: queued 1 listing(s) for repair" in repaired.output
    work()
    assert remote(postmart_admin, sku)[0]["doc"]["gia_ban"] == 35_000
    statuses = sorted(item["status"] for item in remote(voso_admin, sku))
    assert statuses == ["NORMAL", "UNLIST"]
    after = reconcile(runner)
    assert after.output.splitlines()[-1] == "1 drift(s) found."  # only the stranger's listing
    assert "SOMEONE-ELSES\tunknown" in after.output


def test_reconcile_says_which_marketplace_failed_without_a_traceback(
    runner: FlaskCliRunner, postmart_admin: SandboxAdmin
) -> None:
    postmart_admin.fail_next("5xx", method="GET")
    result = reconcile(runner)
    assert result.exit_code == 1
    assert result.output.startswith("Error: postmart: GET ")
    assert "500" in result.output and "Traceback" not in result.output


def test_reconcile_repair_takes_a_listing_we_delisted_off_sale_again(
    session: Session,
    farm_a: Farm,
    runner: FlaskCliRunner,
    work: Callable[..., int],
    postmart_admin: SandboxAdmin,
    postmart: PostmartAdapter,
) -> None:
    offer(session, farm_a, on=["postmart"])
    work()
    offer(session, farm_a, on=[])
    work()
    sku = gtin(session, farm_a)
    [shown] = remote(postmart_admin, sku)
    postmart.update_listing(f"PM{shown['id']:08d}", listing(sku))  # back on sale by hand
    assert "\tnot_delisted\t" in reconcile(runner).output
    reconcile(runner, "--repair")
    work()
    assert [item["status"] for item in remote(postmart_admin, sku)] == ["da_go"]
    assert reconcile(runner).output.splitlines()[-1] == "0 drift(s) found."
