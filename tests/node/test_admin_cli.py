"""`qenex governance ...` and `qenex account freeze|close|limits` against a real node process: the
devnet walkthrough of docs/security.md (grant a role through governance, then use it), with the
proposal, roles and controls read back over JSON-RPC."""

from __future__ import annotations

import json

import pytest
from support.nodes import run_cli, signed_transfer, wait_receipt

from genesis.builder import DEV_BANK_CODE
from node.rpc.client import RpcCallError


def _json(result) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_grant_a_role_through_governance_then_freeze_and_limit_accounts(running_node):
    node, listing = running_node
    governor, officer, customer = listing[0], listing[1], listing[2]
    namespace = f"iban:DE:{DEV_BANK_CODE}"

    key = governor["private_key"]
    own = run_cli("governance", "propose", "--rpc", node.url, "--grant", "compliance", "--holder",
                  governor["address"], "--namespace", namespace, "--from", key, "--wait")  # fmt: skip
    assert own.returncode == 1 and "self_grant" in own.stderr

    proposed = _json(run_cli("governance", "propose", "--rpc", node.url, "--grant", "compliance", "--holder",
                             officer["address"], "--namespace", namespace, "--from", governor["private_key"],
                             "--wait"))  # fmt: skip
    assert proposed["status"] == "0x1"
    shown = _json(run_cli("governance", "show", "--rpc", node.url, proposed["transactionHash"]))
    assert shown["status"] == "executed" and shown["votes"] == [governor["address"]]
    assert shown["grant"] == {"role": "compliance", "holder": officer["address"], "namespace": namespace}
    listed = _json(run_cli("governance", "list", "--rpc", node.url, "--status", "executed"))
    assert [p["id"] for p in listed] == [proposed["transactionHash"]]
    roles = _json(run_cli("governance", "roles", "--rpc", node.url))
    assert {"role": "compliance", "holder": officer["address"], "namespace": namespace} in roles["grants"]
    assert [g["holder"] for g in roles["governors"]] == [governor["address"]]

    account = customer["accounts"][0]["id"]
    frozen = _json(run_cli("account", "freeze", account, "--rpc", node.url, "--from", officer["private_key"], "--wait"))
    assert frozen["status"] == "0x1"
    assert node.rpc.call("qenex_getAccountControls", account)["state"] == "frozen"
    raw = signed_transfer(listing, payer=2, payee=0, amount=100, nonce=0, transfer_id=77)
    refused = run_cli("account", "freeze", account, "--rpc", node.url, "--from", customer["private_key"], "--wait")
    assert refused.returncode == 1 and "compliance" in refused.stderr
    with pytest.raises(RpcCallError, match="frozen by compliance"):
        node.rpc.call("eth_sendRawTransaction", "0x" + raw.hex())
    assert _json(run_cli("account", "unfreeze", account, "--rpc", node.url, "--from", officer["private_key"],
                         "--wait"))["status"] == "0x1"  # fmt: skip

    limited = run_cli("account", "limits", account, "--rpc", node.url, "--per-transfer", "1.00", "--daily", "5.00",
                      "--from", governor["private_key"], "--wait")  # fmt: skip
    assert _json(limited)["status"] == "0x1"
    shown = _json(run_cli("account", "limits", account, "--rpc", node.url))
    assert shown == {"account": account, "state": "active", "perTransferMax": "1.00", "dailyMax": "5.00"}
    big = signed_transfer(listing, payer=2, payee=0, amount=101, nonce=0, transfer_id=78)
    with pytest.raises(RpcCallError, match="per-transfer limit"):
        node.rpc.call("eth_sendRawTransaction", "0x" + big.hex())


def test_governance_sets_the_block_transaction_limit_the_node_enforces(running_node):
    node, listing = running_node
    key = listing[0]["private_key"]
    bad = run_cli("governance", "propose", "--rpc", node.url, "--param", "block.max_transactions=0", "--from", key)
    assert bad.returncode == 1 and "bad_param" in bad.stderr
    proposed = run_cli("governance", "propose", "--rpc", node.url, "--param", "block.max_transactions=1",
                       "--from", key, "--wait")  # fmt: skip
    assert _json(proposed)["status"] == "0x1"
    shown = _json(run_cli("governance", "show", "--rpc", node.url, _json(proposed)["transactionHash"]))
    assert shown["param"] == {"name": "block.max_transactions", "value": 1} and shown["status"] == "executed"
    raws = [signed_transfer(listing, payer=1, payee=2, amount=1, nonce=n, transfer_id=900 + n) for n in range(3)]
    hashes = [node.rpc.call("eth_sendRawTransaction", "0x" + raw.hex()) for raw in raws]
    blocks = [int(wait_receipt(node.rpc, h)["blockNumber"], 16) for h in hashes]
    assert len(set(blocks)) == 3  # one transaction per block now
