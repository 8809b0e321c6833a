"""Start real `qenex node run` processes on free 127.0.0.1 ports for multi-process tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from genesis.builder import init_dev_home
from ledger.transfer import Transfer
from ledger.tx import LedgerTransaction
from node.rpc.auth import home_credentials
from node.rpc.client import RpcClient

REPO = Path(__file__).resolve().parents[2]


@dataclass
class NodeProcess:
    home: Path
    process: subprocess.Popen
    url: str
    log_path: Path

    @property
    def rpc(self) -> RpcClient:
        return RpcClient(self.url, timeout=10)

    @property
    def operator_rpc(self) -> RpcClient:
        """A client authenticated as the node's operator (HOME/jwt.hex) for the authenticated methods."""
        return RpcClient(self.url, timeout=10, headers=home_credentials(self.home))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


def make_home(tmp_path: Path, accounts: int = 3, block_interval_ms: int = 200) -> tuple[Path, list[dict]]:
    home = tmp_path / "home"
    listing = init_dev_home(home, accounts=accounts, block_interval_ms=block_interval_ms)
    return home, listing


def start_node(home: Path, timeout: float = 30, extra_args: tuple[str, ...] = ()) -> NodeProcess:
    log_path = home / f"node-{time.monotonic_ns()}.log"
    log_file = open(log_path, "w")  # noqa: SIM115 - owned by the process for its lifetime
    process = subprocess.Popen(
        [sys.executable, "-m", "node.cli", "node", "run", "--home", str(home), "--rpc-port", "0", *extra_args],
        stdout=subprocess.PIPE,
        stderr=log_file,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("JSON-RPC: "):
            return NodeProcess(home, process, line.split(" ", 1)[1].strip(), log_path)
        if not line and process.poll() is not None:
            break
    process.kill()
    raise RuntimeError(f"node did not start: {log_path.read_text()}")


def signed_transfer(
    listing: list[dict],
    payer: int,
    payee: int,
    amount: int,
    nonce: int,
    transfer_id: int,
    chain_id: int = 1337,
    slot: int = 0,
) -> bytes:
    debit = listing[payer]["accounts"][slot]
    credit = listing[payee]["accounts"][slot]
    transfer = Transfer(
        id=transfer_id,
        debit_account_id=debit["id"],
        credit_account_id=credit["id"],
        amount=amount,
        currency=debit["currency"],
    )
    key = bytes.fromhex(listing[payer]["private_key"][2:])
    return LedgerTransaction(chain_id, nonce, (transfer,)).sign(key).encode()


def wait_receipt(rpc: RpcClient, tx_hash: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        receipt = rpc.call("eth_getTransactionReceipt", tx_hash)
        if receipt is not None:
            return receipt
        time.sleep(0.05)
    raise TimeoutError(f"no receipt for {tx_hash}")


def run_cli(*args: str, timeout: float = 120, input_text: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "node.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
        input=input_text,
    )


def dev_listing(home: Path) -> list[dict]:
    return json.loads((home / "dev-accounts.json").read_text())
