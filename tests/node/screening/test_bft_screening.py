"""Screening on four validators: a transaction held by the node it was sent to is released by a
compliance decision sent to another node, and every validator includes it as "released"; a fraud
report sent to a third node is recorded by all of them. Real processes over mutual TLS."""

from __future__ import annotations

import pytest
from support.cluster import start_network
from support.nodes import signed_transfer

from node.rpc.client import RpcCallError
from node.screening.review import decision_message, report_message

from .conftest import with_thresholds
from .test_node_screening import LARGE, SMALL, compliance_sign


@pytest.mark.slow
def test_a_release_sent_to_one_validator_lets_every_validator_include_the_held_transaction(tmp_path, small_model):
    model = with_thresholds(small_model, tmp_path / "model", 300_000, 970_000)
    network = start_network(tmp_path, screening_model=model)
    try:
        home = network.nodes[0].home
        ordinary = network.rpc(0).call(
            "eth_sendRawTransaction", "0x" + signed_transfer(network.listing, 0, 1, SMALL, 0, 0x61).hex()
        )
        network.wait_receipts([ordinary], 3)
        assert network.receipts[ordinary]["screening"]["verdict"] == "allow"

        with pytest.raises(RpcCallError) as held:
            network.rpc(1).call(
                "eth_sendRawTransaction", "0x" + signed_transfer(network.listing, 1, 0, LARGE, 0, 0x62).hex()
            )
        assert held.value.data["rule"] == "fraud_hold"
        [entry] = network.operator_rpc(1).call("qenex_getHeldTransactions")
        assert network.operator_rpc(2).call("qenex_getHeldTransactions") == [], "held where it was sent, not gossiped"

        chain_id = int(network.rpc(0).call("eth_chainId"), 16)
        tx_hash = bytes.fromhex(entry["hash"][2:])
        signature = compliance_sign(home, decision_message(chain_id, tx_hash, "release"))
        relayed = network.rpc(2).call("qenex_reviewHeldTransaction", entry["hash"], "release", signature)
        network.wait_receipts([relayed["actionTransaction"], entry["hash"]], 0, timeout=60)
        assert network.receipts[relayed["actionTransaction"]]["status"] == "0x1"
        released = network.receipts[entry["hash"]]
        assert released["status"] == "0x1" and released["screening"]["verdict"] == "released"
        for index in range(4):
            network.wait_height(index, int(released["blockNumber"], 16))  # the receipt came from one node
            status = network.rpc(index).call("qenex_getReviewStatus", entry["hash"])
            assert status["status"] == "released"

        report = network.rpc(3).call("qenex_reportFraud", "0x61", compliance_sign(home, report_message(chain_id, 0x61)))
        network.wait_receipts([report["actionTransaction"]], 1)
        assert network.receipts[report["actionTransaction"]]["status"] == "0x1"
        network.wait_height(0, int(network.receipts[report["actionTransaction"]]["blockNumber"], 16))
        assert (
            network.rpc(0).call("qenex_reportFraud", "0x61", compliance_sign(home, report_message(chain_id, 0x61)))[
                "status"
            ]
            == "already_reported"
        )
        network.assert_consistent()
    finally:
        network.stop()
