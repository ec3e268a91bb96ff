"""Take the dashboard screenshots in docs/ (desktop 1280x800 and phone 390x844).

Builds a throwaway instance: the demo accounts (``seed-demo``) plus a small scale province
(``seed-scale --factor 0.01``) so the charts have a year of history; serves it with
``flask serve`` on a free local port; logs in as the demo admin with Debian's Chromium
through Playwright; saves full-page PNGs. Run from the repository root:

    .venv/bin/python docs/screenshots.py
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
ADMIN, PASSWORD = "admin@demo.agritrace.vn", "longan-demo-2026"


def flask(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args], env=env, cwd=ROOT, check=True
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(240):
        if server.poll() is not None:
            raise SystemExit(f"the server stopped (exit {server.returncode})")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the server did not answer at {url}")


def shoot(base: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            for name, (width, height) in SIZES.items():
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(f"{base}/login")
                page.fill("input[name=email]", ADMIN)
                page.fill("input[name=password]", PASSWORD)
                page.click("main button[type=submit]")
                page.goto(f"{base}/dashboard/")
                page.wait_for_selector("svg.chart")
                page.screenshot(path=str(ROOT / f"docs/dashboard-{name}.png"), full_page=True)
                page.close()
        finally:
            browser.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as instance:
        port = free_port()
        env = {
            **os.environ,
            "AGRITRACE_ENV": "development",
            "AGRITRACE_INSTANCE": instance,
            "DATABASE_URL": f"sqlite:///{instance}/agritrace.db",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "MARKETPLACE_SANDBOXES": "0",
        }
        flask(env, "migrate")
        flask(env, "seed-demo")
        flask(env, "seed-scale", "--factor", "0.01", "--seed", "7")
        server = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}/login", server)
            shoot(f"http://127.0.0.1:{port}")
        finally:
            server.terminate()
            server.wait(timeout=30)
    print("Wrote docs/dashboard-desktop.png and docs/dashboard-phone.png")


if __name__ == "__main__":
    main()
