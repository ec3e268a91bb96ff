"""Every response carries the security headers; no page needs inline code; production is strict."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import FAST_HASH
from trace.app import create_app
from trace.config import ConfigError
from trace.web.security import CONTENT_SECURITY_POLICY

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted(
    path
    for package in ("trace", "stamps", "marketplace")
    for path in (ROOT / package).rglob("templates/**/*.html")
)
#: An inline <script> (one without src), a <style> element, a style="" attribute, an
#: on*="" event handler or a javascript: URL: all need 'unsafe-inline' under our CSP.
INLINE_CODE = re.compile(
    r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle\s*=|\son[a-z]+\s*=|javascript:", re.I
)


def directives(policy: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/login", {}),
        ("/nowhere", {}),
        ("/static/app.css", {}),
        ("/healthz", {}),
        ("/api/docs", {}),
        ("/api/openapi.json", {}),
        ("/api/v1/products", {}),
        ("/01/08936001230012/10/TL-1/21/ABC", {"Accept": "application/json"}),
    ],
)
def test_every_kind_of_response_carries_the_security_headers(
    client: Any, path: str, headers: dict[str, str]
) -> None:
    with client.get(path, headers=headers) as response:  # closes static files
        pass
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers  # only in production


def test_policy_forbids_inline_code_framing_and_other_origins() -> None:
    policy = directives(CONTENT_SECURITY_POLICY)
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "unsafe-eval" not in CONTENT_SECURITY_POLICY
    assert policy["default-src"] == policy["script-src"] == policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert not re.search(r"https?:", CONTENT_SECURITY_POLICY)


def test_templates_were_found() -> None:
    names = {path.name for path in TEMPLATES}
    assert {"base.html", "scan.html", "swagger_ui.html", "error.html"} <= names


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_has_inline_scripts_or_styles(template: Path) -> None:
    found = INLINE_CODE.findall(template.read_text(encoding="utf-8"))
    assert found == [], f"{template}: move {found} into trace/static"


def test_api_docs_start_swagger_from_a_static_script(client: Any) -> None:
    html = client.get("/api/docs").get_data(as_text=True)
    assert INLINE_CODE.findall(html) == []
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts[-1] == "/static/swagger-init.js"
    assert all(src.startswith("/") for src in scripts)  # served here, never from a CDN
    for src in scripts:
        with client.get(src) as script:
            assert script.status_code == 200, src


def test_a_view_may_tighten_a_header_it_sets_itself(app: Flask) -> None:
    @app.get("/_sandboxed")
    def sandboxed() -> Any:
        return "x", 200, {"Content-Security-Policy": "sandbox"}

    assert app.test_client().get("/_sandboxed").headers["Content-Security-Policy"] == "sandbox"


# --- production settings ----------------------------------------------------------------


@pytest.fixture
def production(app_config: dict[str, Any]) -> dict[str, Any]:
    config = {**app_config, "AGRITRACE_ENV": "production", "PASSWORD_HASH_METHOD": FAST_HASH}
    config.pop("TESTING")
    config.pop("WTF_CSRF_ENABLED")
    return config


def test_production_refuses_to_start_without_a_secret_key(
    production: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        create_app(production)


def test_an_operator_without_a_secret_key_gets_one_line_not_a_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "AGRITRACE_ENV")}
    env |= {"AGRITRACE_ENV": "production", "AGRITRACE_INSTANCE": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "migrate"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "AgriTrace cannot start: SECRET_KEY is not set" in done.stderr
    assert "Traceback" not in done.stderr


def test_production_session_cookie_is_secure_httponly_samesite(production: dict[str, Any]) -> None:
    app = create_app({**production, "SECRET_KEY": "s" * 64})
    try:
        response = app.test_client().get("/login", base_url="https://trace.example.vn")
        cookie = response.headers["Set-Cookie"]  # the CSRF token lives in the session
        assert cookie.startswith("session=")
        flags = {flag.strip().lower() for flag in cookie.split(";")[1:]}
        assert {"secure", "httponly", "samesite=lax"} <= flags
        assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    finally:
        app.extensions["db_engine"].dispose()
