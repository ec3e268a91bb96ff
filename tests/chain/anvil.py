"""Find and run anvil (npm ``@foundry-rs/anvil``) for integration tests."""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: anvil's first well-known dev account (public test key, funded on every anvil start).
ANVIL_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ANVIL_KEY_2 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"


def find_anvil() -> str | None:
    """Locate the anvil binary.

    Order: ``$ANVIL_BIN``; the platform package npm installs next to the wrapper
    (``node_modules/@foundry-rs/anvil-<os>-<arch>/bin/anvil``, run directly so no node
    process sits in between); the npm wrapper ``node_modules/.bin/anvil``; ``anvil`` on PATH.
    """
    arch = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), "")
    system = platform.system().lower()
    candidates = [
        os.environ.get("ANVIL_BIN", ""),
        str(ROOT / "node_modules" / "@foundry-rs" / f"anvil-{system}-{arch}" / "bin" / "anvil"),
        str(ROOT / "node_modules" / ".bin" / "anvil"),
        shutil.which("anvil") or "",
    ]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rpc(url: str, method: str, params: list[object] | None = None) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
    request = urllib.request.Request(url, body.encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=2) as response:
        return json.loads(response.read())["result"]


@contextmanager
def running_anvil(binary: str) -> Iterator[str]:
    """Start anvil on a free 127.0.0.1 port with a throwaway HOME; yield its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="anvil-home-") as home:
        # --prune-history N keeps N recent states in memory and none on disk; with bare
        # --prune-history a call racing a new block can find its state already pruned.
        cmd = [binary, "--host", "127.0.0.1", "--port", str(port), "--silent"]
        cmd += ["--prune-history", "64"]
        env = {**os.environ, "HOME": home}
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _wait_ready(url, proc)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stderr is not None:
                proc.stderr.close()


def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"anvil exited with {proc.returncode}: {err[-500:]}")
        try:
            rpc(url, "eth_chainId")
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("anvil did not answer within 20 s")
