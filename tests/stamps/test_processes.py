"""Helper processes die with the server that started them (a kill -9 leaves nothing running)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# A server stand-in: starts the stamp pool as minting does, hands it endless work, and
# prints the pool worker's and the fork server's process ids.
SERVER = """
import os, time
from concurrent.futures import ProcessPoolExecutor
from stamps.processes import pool_context, worker_dies_with

def busy():
    print(os.getpid(), os.getppid(), flush=True)
    while True:
        sum(range(10_000))

def main():
    context, server = pool_context(), os.getpid()
    pool = ProcessPoolExecutor(
        1, mp_context=context, initializer=worker_dies_with, initargs=(server,)
    )
    pool.submit(busy)
    time.sleep(600)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has died; only its parent must reap it
        return stat.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_hashing_worker_and_fork_server_stop_when_the_server_is_killed(
    tmp_path: Path,
) -> None:
    (tmp_path / "pool_server.py").write_text(SERVER)  # pool work must be importable
    server = subprocess.Popen(
        [sys.executable, "-c", "import pool_server; pool_server.main()"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    worker, fork_server = (int(pid) for pid in server.stdout.readline().split())
    assert alive(worker) and alive(fork_server)
    server.send_signal(signal.SIGKILL)
    server.wait()
    server.stdout.close()
    deadline = time.monotonic() + 10
    while (alive(worker) or alive(fork_server)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(worker), "the pool worker outlived the server"
    assert not alive(fork_server), "the fork server outlived the server"
