"""GET /metrics on a real node: Prometheus text with the chain, mempool and RPC figures."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.nodes import signed_transfer, wait_receipt

from node.rpc.client import RpcCallError


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_follow_blocks_admissions_rejections_and_rpc(running_node):
    node, listing = running_node
    rpc = node.rpc
    tx_hash = rpc.call("eth_sendRawTransaction", "0x" + signed_transfer(listing, 0, 1, 10, 0, 1).hex())
    receipt = wait_receipt(rpc, tx_hash)
    with pytest.raises(RpcCallError, match="exceeds_credits"):
        rpc.call("eth_sendRawTransaction", "0x" + signed_transfer(listing, 0, 1, 10**12, 1, 2).hex())
    samples = scrape(node.url)
    assert samples[("qenex_chain_height", ())] == int(receipt["blockNumber"], 16)
    assert samples[("qenex_transactions_admitted_total", ())] == 1
    assert samples[("qenex_transactions_rejected_total", (("reason", "exceeds_credits"),))] == 1
    assert samples[("qenex_block_transfers_sum", ())] == 1
    assert samples[("qenex_block_commit_seconds_count", ())] >= 1
    assert samples[("qenex_rpc_requests_total", (("method", "eth_sendRawTransaction"), ("outcome", "ok")))] == 1
    assert samples[("qenex_rpc_requests_total", (("method", "eth_sendRawTransaction"), ("outcome", "error")))] == 1
    assert samples[("qenex_mempool_transactions", ())] == 0
