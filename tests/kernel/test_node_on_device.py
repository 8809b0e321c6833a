"""A node end to end on the kernel device: it fills /dev/qenex_banking at start, updates it with
every committed block and answers balance reads from it, equal to the ledger. Runs where the
device exists (inside the VM test: kernel/test/init runs this file there after test_backends.py);
self-contained (no conftest) for that."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support.nodes import make_home, signed_transfer, start_node, wait_receipt

from kernel.abi import DEVICE_PATH
from node.rpc.auth import home_credentials
from node.rpc.client import RpcClient

TRANSFERS = 6


@pytest.mark.slow
def test_a_node_keeps_its_balances_on_the_kernel_device(tmp_path, monkeypatch):
    if not Path(DEVICE_PATH).exists():
        pytest.skip(f"{DEVICE_PATH} does not exist here (the VM test runs this file with the module loaded)")
    monkeypatch.setenv("QENEX_SIGNATURES_WORKERS", "0")  # one process: the VM has little to spare
    home, listing = make_home(tmp_path, accounts=2)
    node = start_node(home, timeout=240, extra_args=("--cache", "kernel"))
    try:
        rpc = node.rpc
        status = rpc.call("qenex_cacheStatus")
        assert status["backend"] == "kernel" and status["enabled"], status
        hashes = [
            rpc.call("eth_sendRawTransaction", "0x" + signed_transfer(listing, 0, 1, 100 + i, i, 9_000 + i).hex())
            for i in range(TRANSFERS)
        ]
        receipts = [wait_receipt(rpc, h, timeout=120) for h in hashes]
        assert all(r["status"] == "0x1" for r in receipts)
        height = max(int(r["blockNumber"], 16) for r in receipts)
        status = rpc.call("qenex_cacheStatus")
        assert status["syncedHeight"] >= height
        payer = listing[0]["accounts"][0]
        paid = sum(100 + i for i in range(TRANSFERS))
        assert int(rpc.call("qenex_getAccount", payer["id"])["balance"]) == payer["balance"] - paid
        verified = RpcClient(node.url, timeout=10, headers=home_credentials(home)).call("qenex_cacheVerify")  # admin
        assert verified["mismatches"] == 0, verified
    finally:
        node.stop()
