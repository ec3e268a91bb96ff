"""The packages' settings are read once, by ``trace.config.load_config``, from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from trace.config import load_config


def test_worker_alert_and_scan_settings_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANCHOR_MAX_LEAVES", "7")
    monkeypatch.setenv("ROLLUP_INTERVAL_SECONDS", "2.5")
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_TARGETS", "no")
    monkeypatch.setenv("SCAN_WINDOW_MINUTES", "5")
    config = load_config(str(tmp_path), {"AGRITRACE_ENV": "testing"})
    assert config["ANCHOR_MAX_LEAVES"] == 7
    assert config["ROLLUP_INTERVAL_SECONDS"] == 2.5
    assert config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] is False
    assert config["SCAN_WINDOW_MINUTES"] == 5.0


def test_explicit_settings_win_and_production_keeps_webhooks_off_private_addresses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANCHOR_CONFIRMATIONS", "3")
    monkeypatch.delenv("WEBHOOK_ALLOW_PRIVATE_TARGETS", raising=False)
    overrides = {"AGRITRACE_ENV": "production", "SECRET_KEY": "x" * 64, "ANCHOR_CONFIRMATIONS": 2}
    config = load_config(str(tmp_path), overrides)
    assert config["ANCHOR_CONFIRMATIONS"] == 2
    assert config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] is False
    assert (
        load_config(str(tmp_path), {"AGRITRACE_ENV": "testing"})["WEBHOOK_ALLOW_PRIVATE_TARGETS"]
        is True
    )


def test_stamp_settings_come_from_the_environment_with_their_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAMP_VOID_UNDO_HOURS", "2")
    monkeypatch.setenv("PROOF_TREE_CACHE_LEAVES", "10")
    monkeypatch.setenv("SCAN_HOT_PATH", "0")
    config = load_config(str(tmp_path), {"AGRITRACE_ENV": "testing"})
    assert (config["STAMP_VOID_UNDO_HOURS"], config["PROOF_TREE_CACHE_LEAVES"]) == (2, 10)
    assert config["SCAN_HOT_PATH"] is False
    assert config["SCAN_RATE_LIMIT"] == "60 per minute"
    assert config["SCAN_CONSENT_MAX_AGE"] == 30 * 60
    assert config["SCAN_STORY_CACHE_SIZE"] == 2048
    assert config["API_TOKEN_CACHE_SECONDS"] == 5  # tests (TESTING) turn the cache off
    testing = {"AGRITRACE_ENV": "testing", "TESTING": True}
    assert load_config(str(tmp_path), testing)["API_TOKEN_CACHE_SECONDS"] == 0
