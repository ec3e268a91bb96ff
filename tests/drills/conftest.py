"""Real processes for the fault drills: `flask worker`s, an anvil that can be stopped and
started again on its port and state, and a private PostgreSQL that can be restarted.

Nothing here touches the machine's shared PostgreSQL: the private one lives in a
temporary directory on a free port and is removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from tests.chain.anvil import _wait_ready, find_anvil, free_port, rpc
from trace.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
#: Upper bound for a process to start and do its work: a worker imports the whole app
#: (py-evm, web3, reportlab), which takes many seconds on a busy two-core CI machine.
PATIENCE = 120.0
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def wait_until(condition: Callable[[], Any], within: float, what: str) -> Any:
    """Poll ``condition`` every 50 ms until it returns something truthy; fail after ``within``."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {within:g} s waiting for {what}"
        time.sleep(0.05)


# --- `flask --app wsgi worker` in a process of its own ----------------------------------


class WorkerProcess:
    """One ``flask --app wsgi worker`` process over the test's database and instance folder."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = open(log, "ab")  # noqa: SIM115 - closed in wait()/stop()
        cmd = [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--idle-seconds", "0.05"]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def wait(self, within: float) -> int:
        """Wait for the process to end by itself; return its exit status."""
        try:
            code = self.proc.wait(timeout=within)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(
                f"worker still running after {within:g} s:\n{self.output()}"
            ) from None
        self._out.close()
        return code

    def stop(self) -> None:
        """Stop the worker as an operator would (SIGTERM), killing it if it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()


def assert_killed_at_crash_point(worker: WorkerProcess) -> None:
    """The worker reached its crash point and died of SIGKILL (not of an error of its own)."""
    code = worker.wait(within=PATIENCE)
    assert code == -signal.SIGKILL, f"exit status {code}, not SIGKILL:\n{worker.output()}"


@pytest.fixture
def worker_env(app_config: dict[str, Any], tmp_path: Path) -> dict[str, str]:
    """The environment a worker process needs to share the test app's database and chain."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "AGRITRACE"))}
    env.update(
        AGRITRACE_ENV="testing",
        DATABASE_URL=app_config["DATABASE_URL"],
        AGRITRACE_INSTANCE=app_config["INSTANCE_PATH"],
        PUBLIC_BASE_URL=app_config["PUBLIC_BASE_URL"],
        PYTHONUNBUFFERED="1",
    )
    for name in ("CHAIN_URL", "CHAIN_PRIVATE_KEY"):
        if app_config.get(name):
            env[name] = app_config[name]
    return env


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start worker processes (each stopped at the end of the test)."""
    started: list[WorkerProcess] = []

    def start(env: dict[str, str], crash_at: str | None = None) -> WorkerProcess:
        env = dict(env)
        if crash_at is not None:
            env["AGRITRACE_CRASH_AT"] = crash_at
        worker = WorkerProcess(env, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def expire_leases(session: Session) -> None:
    """Let every lease of a dead worker run out now instead of in 60-120 s.

    The drill does not wait out the real lease; it moves the lease's end into the past,
    which is all time passing would do.
    """
    from sqlalchemy import update
    from sqlmodel import col

    from marketplace.models import ListingSync
    from trace.models import Job
    from trace.models.base import utcnow

    past = utcnow().replace(year=2000)
    session.execute(update(Job).where(col(Job.status) == "running").values(lease_until=past))
    session.execute(
        update(ListingSync)
        .where(col(ListingSync.lease_until).is_not(None))
        .values(lease_until=past)
    )
    session.commit()


# --- anvil that goes away and comes back ------------------------------------------------


class StatefulAnvil:
    """anvil on a fixed port whose chain is dumped on stop and loaded on start (``--state``)."""

    def __init__(self, binary: str, home: Path) -> None:
        self.binary, self.home = binary, home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [self.binary, "--host", "127.0.0.1", "--port", str(self.port), "--silent"]
        cmd += ["--state", str(self.home / "state.json"), "--preserve-historical-states"]
        env = {**os.environ, "HOME": str(self.home)}
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
        self.proc = subprocess.Popen(cmd, env=env, **quiet)  # type: ignore[call-overload]
        _wait_ready(self.url, self.proc)

    def wait_for_receipt(self, tx_hash: str, seconds: float = 10.0) -> None:
        """Ask the node until the transaction is mined (a raw JSON-RPC call)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if rpc(self.url, "eth_getTransactionReceipt", [tx_hash]):
                return
            time.sleep(0.05)
        raise AssertionError(f"anvil did not mine {tx_hash} in {seconds} s")

    def stop(self) -> None:
        """Stop the node (SIGTERM: it writes its state file, as a node's disk keeps blocks)."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        self.proc = None


@pytest.fixture
def anvil_node(tmp_path: Path) -> Iterator[StatefulAnvil]:
    """A running anvil of this test's own (skips loudly when the binary is absent)."""
    binary = find_anvil()
    if binary is None:
        pytest.skip(
            "ANVIL NOT FOUND: chain fault drills skipped. Run `npm install` at the repository "
            "root (devDependency @foundry-rs/anvil) or set ANVIL_BIN."
        )
    home = tmp_path / "anvil"
    home.mkdir()
    node = StatefulAnvil(binary, home)
    node.start()
    yield node
    node.stop()


# --- a private PostgreSQL -----------------------------------------------------------------


class PrivatePostgres:
    """A PostgreSQL cluster of the drill's own, on a free port, owned by a non-root user."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.data = folder, folder / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/drill"
        self.options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} "
            f"-c unix_socket_directories={folder} -c fsync=off -c full_page_writes=off "
            "-c max_connections=60"
        )

    def _run(self, *args: str, timeout: float = 60) -> None:
        cmd = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"{' '.join(cmd)}: {done.stdout}{done.stderr}"

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync")  # fmt: skip
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "drill")

    def pg_ctl(self, action: str, *extra: str) -> None:
        log = str(self.folder / "server.log")
        self._run("pg_ctl", action, "-D", str(self.data), "-w", "-l", log, "-o", self.options,
                  *extra)  # fmt: skip

    def start(self) -> None:
        self.pg_ctl("start")

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every session is cut off; returns once it accepts again."""
        self.pg_ctl("restart", "-m", "fast")

    def destroy(self) -> None:
        try:
            self.pg_ctl("stop", "-m", "immediate")
        except AssertionError:
            pass  # already stopped
        shutil.rmtree(self.folder, ignore_errors=True)


def postgres_binaries_missing() -> str | None:
    """Why a private PostgreSQL cannot be run here, or None when it can."""
    missing = [name for name in ("initdb", "pg_ctl", "postgres") if not (PG_BIN / name).exists()]
    if missing:
        return f"{', '.join(missing)} not found in {PG_BIN} (set PG_BIN)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root and runuser is missing (initdb refuses root)"
    return None


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    """A fresh cluster with an empty database ``drill``, migrated."""
    reason = postgres_binaries_missing()
    if reason is not None:
        pytest.skip(f"POSTGRESQL BINARIES UNAVAILABLE: PostgreSQL restart drills skipped: {reason}")
    folder = Path(tempfile.mkdtemp(prefix="agritrace-pg-drill-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    server = PrivatePostgres(folder)
    try:
        server.init()
        upgrade(server.url)  # what `flask migrate` runs, without booting a whole app (~10 s)
        yield server
    finally:
        server.destroy()


# --- what the chain and the database say about a round ----------------------------------


def anchored_events(client: Any, root: str) -> list[str]:
    """The transaction hash of every ``Anchored`` event of ``root`` on the client's chain."""
    from web3 import Web3

    from chain.abi import ANCHORED_TOPIC

    query = {
        "address": Web3.to_checksum_address(client.contract_address),
        "topics": ["0x" + ANCHORED_TOPIC.hex(), "0x" + root],
        "fromBlock": 0,
        "toBlock": "latest",
    }
    return ["0x" + bytes(log["transactionHash"]).hex() for log in client.w3.eth.get_logs(query)]


def transactions_sent_by(client: Any) -> int:
    """How many transactions the service key ever got mined (its nonce)."""
    return int(client.w3.eth.get_transaction_count(client._account.address, "latest"))
