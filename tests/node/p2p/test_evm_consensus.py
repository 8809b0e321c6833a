"""Ethereum transactions through BFT consensus: four validator processes agree on the EVM state
root, gas and logs bloom of every block (each re-executes the proposal), and the ledger bridge's
postings replay on every node (`ledger verify` in assert_consistent)."""

from __future__ import annotations

import pytest
from support.cluster import start_network
from support.evm import Chain
from web3 import Web3

from contracts.bridge.addresses import token_address
from contracts.compiler import load_artifact

EUR = Web3.to_checksum_address(token_address("EUR"))


@pytest.fixture
def network(tmp_path):
    net = start_network(tmp_path)
    yield net
    net.stop()


def test_four_validators_agree_on_evm_blocks(network):
    chain = Chain(network.nodes[0].rpc_url, network.listing)
    token = chain.deploy("TestToken", "Euro", "EUR", 2, sender=0)
    minted = chain.send(token.functions.mint(chain.address(1), 500), 0)
    other = Chain(network.nodes[2].rpc_url, network.listing)
    eur = other.w3.eth.contract(address=EUR, abi=load_artifact("TestToken")["abi"])
    moved = other.send(eur.functions.transfer(chain.address(3), 1_00), 1)
    assert minted["status"] == moved["status"] == 1
    for index in range(4):
        network.wait_height(index, moved["blockNumber"])
        w3 = Web3(Web3.HTTPProvider(network.nodes[index].rpc_url))
        block = w3.eth.get_block(moved["blockNumber"])
        assert block["hash"] == moved["blockHash"]
        contract = w3.eth.contract(address=token.address, abi=token.abi)
        assert contract.functions.balanceOf(chain.address(1)).call() == 500
    roots = {
        Web3(Web3.HTTPProvider(n.rpc_url)).provider.make_request(
            "eth_getBlockByNumber", [hex(moved["blockNumber"]), False]
        )["result"]["evmStateRoot"]
        for n in network.nodes
    }
    assert len(roots) == 1
    network.receipts["0x" + bytes(moved["transactionHash"]).hex()] = {
        "blockNumber": hex(moved["blockNumber"]),
        "blockHash": "0x" + bytes(moved["blockHash"]).hex(),
    }
    network.assert_consistent()
