"""The gateway's kept-alive JSON-RPC client against a real node: one connection for many calls,
a closed connection is replaced, an unreachable node or a bad URL is a clear error."""

from __future__ import annotations

import pytest

from gateways.rpc import KeepAliveRpcClient
from node.rpc.client import RpcCallError


def test_calls_share_a_connection_and_survive_its_loss(running_node) -> None:
    node, _ = running_node
    client = KeepAliveRpcClient(node.url)
    assert client.call("eth_chainId") == node.rpc.call("eth_chainId")
    connection = client._connection
    assert connection is not None
    for _ in range(5):
        client.call("eth_blockNumber")
    assert client._connection is connection  # kept alive, not reopened per call
    connection.sock.close()  # as when the node drops an idle connection
    assert client.call("eth_chainId") == node.rpc.call("eth_chainId")
    replies = client.batch([("eth_chainId", []), ("eth_blockNumber", [])])
    assert [r["id"] for r in replies] == sorted(r["id"] for r in replies)
    with pytest.raises(RpcCallError):
        client.call("no_such_method")


def test_unreachable_node_and_bad_url() -> None:
    with pytest.raises(ConnectionError, match="cannot reach the node"):
        KeepAliveRpcClient("http://127.0.0.1:9", timeout=2).call("eth_chainId")
    with pytest.raises(ValueError, match="not an http"):
        KeepAliveRpcClient("ftp://example.org")
