"""Hostile input to the JSON-RPC layer: it always answers JSON-RPC, never raises, never books."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genesis.builder import init_dev_home
from node.rpc.methods import RpcMethods
from node.rpc.server import JsonRpcServer
from node.service import Node, NodeConfig

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.floats(allow_nan=False),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("rpcfuzz")
    init_dev_home(home, accounts=1)
    node = Node(NodeConfig(home))
    methods = RpcMethods(node).table()
    yield JsonRpcServer(methods), node, sorted(methods)
    node.close()


def check_response(response) -> None:
    items = response if isinstance(response, list) else [response]
    for item in items:
        assert item["jsonrpc"] == "2.0"
        assert ("result" in item) != ("error" in item)
        if "error" in item:
            assert isinstance(item["error"]["code"], int) and item["error"]["message"]
            assert item["error"]["code"] != -32603, item  # no internal errors from bad input
    json.dumps(response)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300))
def test_arbitrary_bytes(server, body):
    rpc, _node, _ = server
    check_response(rpc.handle_body(body))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), params=st.lists(json_values, max_size=4))
def test_every_method_with_arbitrary_params(server, data, params):
    rpc, node, names = server
    method = data.draw(st.sampled_from(names))
    root = node.chain.ledger.root
    response = rpc.handle_body(json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode())
    check_response(response)
    assert node.chain.ledger.root == root


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=400))
def test_send_raw_transaction_with_arbitrary_bytes(server, raw):
    rpc, node, _ = server
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": ["0x" + raw.hex()]}
    response = rpc.handle_body(json.dumps(body).encode())
    check_response(response)
    assert len(node.mempool) == 0
